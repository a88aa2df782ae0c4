"""Driving the running app in a real browser (Playwright + Debian's chromium): shared by the end-to-end test
and the benchmark. No Streamlit import: this talks to a server started with ``streamlit run app.py``."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("XLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# The map element (explorer/component): its root carries data-drawn (draws so far), data-shown (points drawn)
# and, as `.xle`, the view object the helpers below query.
MAP = '[data-testid="xleScatter"]'
# Points drawn in the map, 0 until the WebGL canvas has drawn.
JS_MAP_DRAWN = f"""() => {{ const m = document.querySelector('{MAP}');
  return m && m.dataset.drawn ? Number(m.dataset.shown) : 0; }}"""
# The i-th shown point (draw order): its client position, catalog row, name, and the point a click there opens.
JS_MAP_POINT = f"""(i) => {{ const m = document.querySelector('{MAP}').xle;
  const shown = []; for (let k = 0; k < m.n && shown.length <= i; k++) if (m.vis[k] === 2) shown.push(k);
  const k = shown[Math.min(i, shown.length - 1)]; const p = m.screenOf(k); const r = m.plot.getBoundingClientRect();
  const names = m.names;
  const picked = m.pickAt(p.x - r.left, p.y - r.top);
  return {{x: p.x, y: p.y, index: k, row: m.pos.row[k], name: names ? names[k] : null,
           picked: picked, picked_row: picked >= 0 ? m.pos.row[picked] : -1,
           picked_name: names && picked >= 0 ? names[picked] : null, n: m.n}}; }}"""
# A point of one of ``classes`` that a click at its centre opens (it is the topmost there), inside the plot,
# with the colour of the canvas pixel under it and the colour of its class in the legend.
JS_RARE_POINT = f"""(classes) => {{ const m = document.querySelector('{MAP}').xle;
  const leg = m.colour.meta.legend; const want = new Set(leg.filter(l => classes.includes(l.name)).map(l => l.code));
  const r = m.plot.getBoundingClientRect();
  const names = m.names;
  for (let k = m.n - 1; k >= 0; k--) {{
    if (m.vis[k] !== 2 || !want.has(m.colour.c[k])) continue;
    const p = m.screenOf(k); const lx = p.x - r.left, ly = p.y - r.top;
    if (lx < 20 || ly < 20 || lx > m.W - 20 || ly > m.H - 20) continue;
    if (m.pickAt(lx, ly) !== k) continue;
    const item = leg[m.colour.c[k]];
    return {{x: p.x, y: p.y, index: k, row: m.pos.row[k], name: names[k], cls: item.name, colour: item.colour,
             pixel: m.renderer.pixel(lx, ly, m.dpr), legend: leg.map(l => [l.name, l.colour])}};
  }}
  return null; }}"""
# Names of the traces of every Plotly chart on the page (the spectrum beside the map).
JS_TRACE_NAMES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .map(gd => (gd._fullData || []).map(t => t.name))"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(run_dir: Path, port: int | None = None, timeout: float = 120.0, log: Path | None = None,
                     stats: dict | None = None, env: dict[str, str] | None = None):
    """``streamlit run app.py`` on a free localhost port against ``run_dir`` (``env`` added to the server's
    environment); yields the URL. ``stats``, when given, receives the server's peak resident memory
    (``peak_rss_gb``, Linux) when it stops."""
    port = port or free_port()
    env = dict(os.environ, XLE_RUN=str(run_dir), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(env or {}))
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() - t0 > timeout:
                raise RuntimeError(f"streamlit did not start (exit {proc.poll()}); see {log}")
            time.sleep(0.3)
        yield url
    finally:
        if stats is not None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
                stats["peak_rss_gb"] = kb / 2**20
            except (OSError, StopIteration):
                stats["peak_rss_gb"] = float("nan")
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_idle(page, timeout_ms: float = 120_000) -> None:
    """Until Streamlit has finished the current script run (no 'Running' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout_ms)


def wait_map(page, timeout_ms: float = 120_000) -> int:
    """Until the map has drawn and holds its sources' names (they follow the first draw); the points drawn."""
    page.wait_for_function(JS_MAP_DRAWN, timeout=timeout_ms)
    page.wait_for_function(f"() => document.querySelector('{MAP}').dataset.names !== 'pending'", timeout=timeout_ms)
    return page.evaluate(JS_MAP_DRAWN)


def click_map_point(page, i: int = 0) -> dict:
    """Click the i-th shown point; returns it, with ``picked``/``picked_name``: the point the click opens (the
    topmost under the cursor, which may be another point drawn over this one)."""
    pt = page.evaluate(JS_MAP_POINT, i)
    page.mouse.move(pt["x"], pt["y"])
    page.mouse.click(pt["x"], pt["y"])
    return pt


def map_painted(page) -> int:
    """Painted pixels of the map's WebGL canvas (read back with readPixels, on a 4-pixel grid)."""
    return page.evaluate(f"() => document.querySelector('{MAP}').xle.renderer.paintedPixels()")


def wait_reconstruction(page, timeout_ms: float = 120_000) -> None:
    """Until a spectrum chart with a 'reconstruction' trace is drawn."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(gd => (gd._fullData || [])"
        ".some(t => t.name === 'reconstruction'))", timeout=timeout_ms)


def choose_mouse_mode(page, label: str) -> None:
    """Click the map's Mouse mode and wait until the redrawn chart has that drag mode (the script run can end
    before the chart is redrawn; a drag in between would zoom instead of select)."""
    page.locator('[data-testid="stButtonGroup"] button', has_text=label).first.click()
    wait_idle(page)
    if page.locator(MAP).count() == 0:  # a Plotly chart (the sky page): its drag mode changes on the redraw
        mode = {"click": "zoom", "box": "select", "lasso": "lasso"}[label]
        page.wait_for_function("""(m) => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
          return gd && gd._fullLayout && gd._fullLayout.dragmode === m; }""", arg=mode)
    page.wait_for_timeout(300)


def _plot_box(page) -> dict:
    return page.evaluate(f"""() => {{ const r = document.querySelector('{MAP} .xle-plot').getBoundingClientRect();
      return {{x: r.left, y: r.top, w: r.width, h: r.height}}; }}""")


def drag_box(page, fx0: float = 0.2, fy0: float = 0.2, fx1: float = 0.8, fy1: float = 0.8) -> None:
    """Drag across the map's plotting area, fractions of its size."""
    box = _plot_box(page)
    x0, y0 = box["x"] + fx0 * box["w"], box["y"] + fy0 * box["h"]
    x1, y1 = box["x"] + fx1 * box["w"], box["y"] + fy1 * box["h"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=8)
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


def drag_lasso(page, points: list[tuple[float, float]]) -> None:
    """Draw a closed lasso through ``points`` (fractions of the map's plotting area)."""
    box = _plot_box(page)
    px = [(box["x"] + fx * box["w"], box["y"] + fy * box["h"]) for fx, fy in points]
    page.mouse.move(*px[0])
    page.mouse.down()
    for x, y in px[1:] + [px[0]]:
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


JS_DRAWN = """() => !!document.querySelector('h1') && !document.querySelector('[data-testid="stSkeleton"]')
  && !document.querySelector('[data-testid="stStatusWidget"]')
  && Array.from(document.querySelectorAll('.js-plotly-plot')).every(gd => gd._fullLayout && gd._fullData)"""


def wait_drawn(page, timeout_ms: float = 120_000) -> None:
    """Until the page has its title, the script run is over, no element is still a skeleton and every Plotly
    chart is drawn, twice in a row 0.7 s apart (a rerun can start right after the first run)."""
    for _ in range(2):
        wait_idle(page, timeout_ms)
        page.wait_for_function(JS_DRAWN, timeout=timeout_ms)
        page.wait_for_timeout(700)


# Titles of the charts on the page (the spectrum's title names its source).
JS_TITLES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .map(gd => (gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text) || '').join(' | ')"""
# Ids of the points the map marks as selected (the trace named "selected (N)").
JS_SELECTED_IDS = """() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const t = (gd._fullData || []).find(t => (t.name || '').startsWith('selected ('));
  return t ? Array.from(t.customdata) : []; }"""


def choose(page, widget_text: str, option: str, where: str = "") -> None:
    """Pick ``option`` in the selectbox or multiselect labelled ``widget_text`` (``where``: a CSS scope)."""
    box = page.locator(f'{where} [data-testid="stSelectbox"], {where} [data-testid="stMultiSelect"]',
                       has_text=widget_text).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    wait_idle(page)


def click_segment(page, label: str) -> None:
    """Click the button ``label`` of a segmented control."""
    page.locator('[data-testid="stButtonGroup"] button', has_text=label).first.click()
    wait_idle(page)


def click_table_row(page, table_index: int, row: int) -> None:
    """Select row ``row`` (0 = first data row) of the ``table_index``-th dataframe by its selection column."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(table_index)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 * (row + 1) + 17)
    wait_idle(page)
