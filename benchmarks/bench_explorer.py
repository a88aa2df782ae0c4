"""Explorer speed, measured in a real browser (headless Debian chromium through Playwright).

For each run folder: start ``streamlit run app.py`` on it, then measure
- time to drawn map: from navigation to the map page until the WebGL map (explorer/component) has drawn every
  point (cold: first load of the server, caches empty; warm: later loads, each in a fresh browser context, so
  the server's caches are warm and the browser's empty; reopen: new tabs of one browser context, whose HTTP
  cache holds Streamlit's JavaScript, as for someone opening the explorer again);
- click-to-reconstruction: from a click on a map point until the side panel's spectrum chart shows the clicked
  source's reconstruction (median and max over several points);
- colour change: from choosing another "Colour by" until the map has redrawn with the new colours (to a
  numeric column, then back to class);
- box selection to table: from releasing a box over the middle of the map until the selection table is shown.
Peak resident memory of the Streamlit server is printed with the times.

    .venv/bin/python benchmarks/bench_explorer.py                       # runs/demo (~11,000 spectra)
    .venv/bin/python benchmarks/bench_explorer.py --with-100k           # also 100,000 spectra (built if missing)
    .venv/bin/python benchmarks/bench_explorer.py --run runs/demo100k   # an encoded run only

``--with-100k`` builds ``datasets/demo100k`` with ``python -m core build-demo --n 100000`` when missing, and
encodes it with the demo run's model into ``runs/demo100k`` (a copy of the model; no training).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import browser  # noqa: E402

REPO = browser.REPO
JS_SPECTRUM_TITLE = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  if ((gd._fullData || []).some(t => t.name === 'reconstruction')) return (gd.layout.title || {}).text || '?'; }
  return null; }"""


def prepare_100k(base_run: Path, n: int) -> Path:
    data = REPO / "datasets" / f"demo{n // 1000}k"
    run = REPO / "runs" / f"demo{n // 1000}k"
    py = sys.executable
    env = dict(os.environ)
    mirror = REPO.parent / "shared" / "data"
    if not env.get("XLE_DATA_MIRROR") and mirror.is_dir():
        env["XLE_DATA_MIRROR"] = str(mirror)  # as scripts/setup does
    if not (data / "dataset.json").is_file():
        print(f"building {data} ({n:,} simulated spectra)…", flush=True)
        subprocess.run([py, "-m", "core", "build-demo", "--out", str(data), "--n", str(n)], cwd=REPO, check=True,
                       env=env)
    if not (run / "encoded.json").is_file():
        run.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors", "history.csv"):
            shutil.copy2(base_run / name, run / name)
        print(f"encoding {data} with the model of {base_run} into {run}…", flush=True)
        subprocess.run([py, "-m", "core", "encode", "--run", str(run), "--data", str(data), "--reconstructions"],
                       cwd=REPO, check=True, env=env)
    return run


def _wait_title_change(page, before: str | None) -> None:
    page.wait_for_function(f"(b) => {{ const t = ({JS_SPECTRUM_TITLE})(); return t !== null && t !== b; }}",
                           arg=before)


def _colour_change(page, option: str) -> float:
    """Seconds from choosing ``option`` under "Colour by" until the map has redrawn with another colour layer."""
    before = page.evaluate(f"() => document.querySelector('{browser.MAP}').dataset.colour")
    page.locator('[data-testid="stSelectbox"]', has_text="Colour by").click()
    opt = page.get_by_role("option", name=option, exact=True)
    opt.wait_for()
    t0 = time.perf_counter()
    opt.click()
    page.wait_for_function(f"""(b) => {{ const m = document.querySelector('{browser.MAP}');
      return m && m.dataset.colour !== b; }}""", arg=before, polling="raf")
    dt = time.perf_counter() - t0
    browser.wait_idle(page)
    return dt


def _box_to_table(page, frac: tuple[float, float, float, float]) -> tuple[float, int]:
    browser.choose_mouse_mode(page, "box")
    box = page.evaluate(f"""() => {{ const r = document.querySelector('{browser.MAP} .xle-plot')
      .getBoundingClientRect(); return {{x: r.left, y: r.top, w: r.width, h: r.height}}; }}""")
    fx0, fy0, fx1, fy1 = frac
    x0, y0, x1, y1 = (box["x"] + fx0 * box["w"], box["y"] + fy0 * box["h"], box["x"] + fx1 * box["w"],
                      box["y"] + fy1 * box["h"])
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=10)
    t0 = time.perf_counter()
    page.mouse.up()
    page.wait_for_function("""() => /Selection \\((?!0 )/.test(document.body.innerText)
      && document.querySelector('[data-testid="stDataFrame"]')""")
    dt = time.perf_counter() - t0
    browser.wait_idle(page)
    text = page.locator("h3", has_text="Selection (").first.inner_text()
    n = int(text.split("(")[1].split()[0].replace(",", ""))
    browser.choose_mouse_mode(page, "click")
    return dt, n


def _name_of(run: Path):
    """Row -> name, read from the run's catalog (the map sends names only up to 200,000 points)."""
    from explorer.logic.runs import load_run

    names = load_run(run).sources["name"].astype(str).to_numpy()
    return lambda row: names[row]


def measure(run: Path, loads: int, clicks: int, box: tuple[float, float, float, float]) -> dict:
    from playwright.sync_api import sync_playwright

    log = Path("/tmp") / f"bench_streamlit_{run.name}.log"
    out = {"run": str(run)}
    stats: dict = {}
    with browser.streamlit_server(run.resolve(), log=log, stats=stats) as url, sync_playwright() as p:
        b = browser.launch(p)
        map_times = []
        for i in range(loads):
            page = b.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(300_000)
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_function(f"(n) => ({browser.JS_MAP_DRAWN})() > 0", arg=0, polling="raf")
            map_times.append(time.perf_counter() - t0)
            n = page.evaluate(f"() => Number(document.querySelector('{browser.MAP}').dataset.n)")
            browser.wait_idle(page)
            if i < loads - 1:
                page.close()
        out["points"] = n
        out["map_cold_s"] = map_times[0]
        out["map_warm_s"] = statistics.median(map_times[1:]) if loads > 1 else float("nan")
        # the same, in new tabs of one browser context: its HTTP cache holds Streamlit's JavaScript (served
        # immutable), as for someone opening the explorer again
        ctx = b.new_context(viewport={"width": 1500, "height": 1000})
        reopen = []
        for k in range(max(loads - 1, 1) + 1):  # the first only fills the context's cache
            tab = ctx.new_page()
            tab.set_default_timeout(300_000)
            t0 = time.perf_counter()
            tab.goto(url)
            tab.wait_for_function(f"(n) => ({browser.JS_MAP_DRAWN})() > 0", arg=0, polling="raf")
            reopen += [time.perf_counter() - t0] if k else []
            browser.wait_idle(tab)
            tab.close()
        ctx.close()
        out["map_reopen_s"] = statistics.median(reopen)
        click_times = []
        name_of = None
        for k in range(clicks):
            before = page.evaluate(JS_SPECTRUM_TITLE)
            pt = page.evaluate(browser.JS_MAP_POINT, 37 * k + 11)
            if pt["picked_name"] is None:
                name_of = name_of or _name_of(run)
                pt["picked_name"] = str(name_of(pt["picked_row"]))
            if pt["picked_name"] and before and pt["picked_name"] in before:
                continue  # that source is already open: the title would not change
            t0 = time.perf_counter()
            page.mouse.click(pt["x"], pt["y"])
            _wait_title_change(page, before)
            click_times.append(time.perf_counter() - t0)
            assert pt["picked_name"] in page.evaluate(JS_SPECTRUM_TITLE), "the wrong source opened"
            browser.wait_idle(page)
        out["click_median_s"] = statistics.median(click_times)
        out["click_max_s"] = max(click_times)
        out["click_first_s"] = click_times[0]
        out["colour_to_value_s"] = _colour_change(page, "hardness ratio H-S")
        out["colour_to_class_s"] = _colour_change(page, "class")
        out["box_to_table_s"], out["box_selected"] = _box_to_table(page, box)
        b.close()
    out["server_peak_rss_gb"] = stats.get("peak_rss_gb", float("nan"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=REPO / "runs" / "demo", help="encoded run folder (default runs/demo)")
    ap.add_argument("--with-100k", action="store_true", help="also measure a 100,000-spectrum dataset")
    ap.add_argument("--n-large", type=int, default=100_000, help="size of the large dataset (default 100000)")
    ap.add_argument("--loads", type=int, default=3, help="page loads per run (first is cold)")
    ap.add_argument("--clicks", type=int, default=5, help="points clicked per run")
    ap.add_argument("--box", default="0.3,0.3,0.7,0.7",
                    help="the selection box, fractions of the plot: x0,y0,x1,y1 (default the middle)")
    args = ap.parse_args()
    runs = [args.run]
    if args.with_100k:
        runs.append(prepare_100k(args.run, args.n_large))
    box = tuple(float(v) for v in args.box.split(","))
    results = [measure(r, args.loads, args.clicks, box) for r in runs]
    print(f"\n{'run':<14}{'points':>10}{'map cold':>10}{'map warm':>10}{'reopen':>9}{'click 1st':>10}{'click med':>10}"
          f"{'click max':>10}{'→ value':>9}{'→ class':>9}{'box→table':>10}{'selected':>10}")
    for r in results:
        print(f"{Path(r['run']).name:<14}{r['points']:>10,}{r['map_cold_s']:>9.2f}s{r['map_warm_s']:>9.2f}s"
              f"{r['map_reopen_s']:>8.2f}s"
              f"{r['click_first_s']:>9.2f}s{r['click_median_s']:>9.2f}s{r['click_max_s']:>9.2f}s"
              f"{r['colour_to_value_s']:>8.2f}s{r['colour_to_class_s']:>8.2f}s{r['box_to_table_s']:>9.2f}s"
              f"{r['box_selected']:>10,}  server peak {r['server_peak_rss_gb']:.2f} GB")
    print(f"(headless chromium, software WebGL; times include the Streamlit rerun and the browser drawing; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
