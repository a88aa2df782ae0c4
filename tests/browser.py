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

# Pixel position of a point of the first map trace, and its source id (from customdata).
JS_MAP_POINT = """(i) => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const fl = gd._fullLayout; const tr = gd._fullData[0];
  const k = Math.min(i, tr.x.length - 1);
  const box = gd.getBoundingClientRect();
  return {x: box.left + fl._size.l + fl.xaxis.l2p(tr.x[k]), y: box.top + fl._size.t + fl.yaxis.l2p(tr.y[k]),
          id: tr.customdata[k], n: tr.x.length};
}"""
# Number of points drawn in the map (all traces), 0 until plotly has drawn it.
JS_MAP_DRAWN = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!gd || !gd._fullData || !gd._fullLayout || !gd._fullLayout._size) return 0;
  return gd._fullData.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
}"""
# Names of the traces of every chart on the page.
JS_TRACE_NAMES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .map(gd => (gd._fullData || []).map(t => t.name))"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(run_dir: Path, port: int | None = None, timeout: float = 120.0, log: Path | None = None,
                     env: dict[str, str] | None = None):
    """``streamlit run app.py`` on a free localhost port against ``run_dir`` (``env`` added to the server's
    environment); yields the URL."""
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
    page.wait_for_function(JS_MAP_DRAWN, timeout=timeout_ms)
    return page.evaluate(JS_MAP_DRAWN)


def click_map_point(page, i: int = 0) -> dict:
    pt = page.evaluate(JS_MAP_POINT, i)
    page.mouse.move(pt["x"], pt["y"])
    page.wait_for_timeout(250)  # plotly computes hover data on mouse move; the click uses it
    page.mouse.click(pt["x"], pt["y"])
    return pt


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
    mode = {"click": "zoom", "box": "select", "lasso": "lasso"}[label]
    page.wait_for_function("""(m) => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
      return gd && gd._fullLayout && gd._fullLayout.dragmode === m; }""", arg=mode)
    page.wait_for_timeout(300)


def drag_box(page, fx0: float = 0.2, fy0: float = 0.2, fx1: float = 0.8, fy1: float = 0.8) -> None:
    """Drag across the map's plotting area, fractions of its size."""
    box = page.evaluate("""() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
      const r = gd.getBoundingClientRect(); const s = gd._fullLayout._size;
      return {x: r.left + s.l, y: r.top + s.t, w: s.w, h: s.h}; }""")
    x0, y0 = box["x"] + fx0 * box["w"], box["y"] + fy0 * box["h"]
    x1, y1 = box["x"] + fx1 * box["w"], box["y"] + fy1 * box["h"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=8)
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


def drag_lasso(page, points: list[tuple[float, float]]) -> None:
    """Draw a closed lasso through ``points`` (fractions of the map's plotting area)."""
    box = page.evaluate("""() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
      const r = gd.getBoundingClientRect(); const s = gd._fullLayout._size;
      return {x: r.left + s.l, y: r.top + s.t, w: s.w, h: s.h}; }""")
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
