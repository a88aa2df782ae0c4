"""End to end in a real headless Chromium (software WebGL): `streamlit run app.py` on the tiny real run; the WebGL
map draws; click a point and see its reconstruction; a click on a rare-class point opens that very source;
box-select and see the table (which stays when the colouring changes); lasso. Screenshots go to screenshots/
(git-ignored)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests import browser
from tests.explore_support import session_run

pytest.importorskip("playwright.sync_api")
if not Path(browser.CHROMIUM).exists():
    pytest.skip(f"no chromium at {browser.CHROMIUM}", allow_module_level=True)

SHOTS = browser.REPO / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _, run = session_run(tmp_path_factory)
    log = tmp_path_factory.getbasetemp() / "streamlit_e2e.log"
    with browser.streamlit_server(run, log=log) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = browser.launch(p)
        pg = b.new_page(viewport={"width": 1500, "height": 1000})
        pg.set_default_timeout(120_000)
        yield pg
        b.close()


JS_SPECTRUM_TITLE = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  if ((gd._fullData || []).some(t => t.name === 'reconstruction')) return (gd.layout.title || {}).text || '?'; }
  return null; }"""


def selection_count(page) -> int:
    text = page.locator("h3", has_text="Selection (").first.inner_text()
    return int(re.search(r"Selection \(([\d,]+) sources\)", text).group(1).replace(",", ""))


def test_click_point_shows_reconstruction_then_box_selection_lists_sources(page, server):
    page.goto(server)
    n = browser.wait_map(page)
    browser.wait_idle(page)
    assert n == 400
    assert browser.map_painted(page) > 200  # the canvas really drew (read back from WebGL)
    assert page.get_by_text("Simulated data.").count() >= 1
    page.screenshot(path=str(SHOTS / "e2e_1_map.png"), full_page=True)

    pt = browser.click_map_point(page, 5)
    browser.wait_reconstruction(page)
    browser.wait_idle(page)
    assert pt["picked_name"] in page.evaluate(JS_SPECTRUM_TITLE)
    names = [t for traces in page.evaluate(browser.JS_TRACE_NAMES) for t in traces]
    assert "observed counts" in names and "reconstruction" in names and "noiseless truth (simulation)" in names
    assert page.get_by_role("button", name="Source page").count() == 1
    page.screenshot(path=str(SHOTS / "e2e_2_click_reconstruction.png"), full_page=True)

    assert selection_count(page) == 0
    browser.choose_mouse_mode(page, "box")
    browser.drag_box(page, 0.01, 0.01, 0.99, 0.99)  # the whole plotting area
    try:
        page.wait_for_function("() => /Selection \\((?!0 )/.test(document.body.innerText)", timeout=60_000)
    finally:
        page.screenshot(path=str(SHOTS / "e2e_3_box_selection_table.png"), full_page=True)
    browser.wait_idle(page)
    got = selection_count(page)
    assert got >= 300  # points right on the edge of the plotting area may fall outside the box
    page.locator('[data-testid="stDataFrame"]').first.wait_for()  # drawn a moment after the header
    fits = page.get_by_role("button", name="FITS")
    fits.wait_for()
    assert fits.count() == 1, page.locator('[data-testid="stDownloadButton"]').all_inner_texts()
    page.screenshot(path=str(SHOTS / "e2e_3_box_selection_table.png"), full_page=True)

    # the selection stays when the colouring changes
    page.locator('[data-testid="stSelectbox"]', has_text="Colour by").click()
    page.get_by_role("option", name="hardness hard_hs").click()
    browser.wait_idle(page)
    page.wait_for_timeout(1000)
    assert selection_count(page) == got
    page.screenshot(path=str(SHOTS / "e2e_4_recoloured_selection_kept.png"), full_page=True)
    assert pt["name"].startswith("2CXO J")

    # a lasso replaces the selection with the sources inside it
    page.get_by_role("button", name="Clear selection").click()
    page.wait_for_function("() => /Selection \\(0 /.test(document.body.innerText)")
    browser.choose_mouse_mode(page, "lasso")
    browser.drag_lasso(page, [(0.01, 0.01), (0.99, 0.01), (0.01, 0.99)])  # the upper-left half
    page.wait_for_function("() => /Selection \\((?!0 )/.test(document.body.innerText)", timeout=60_000)
    browser.wait_idle(page)
    assert 0 < selection_count(page) < got
    page.screenshot(path=str(SHOTS / "e2e_5_lasso_selection.png"), full_page=True)


def test_click_on_a_rare_class_point_opens_the_source_under_the_cursor(page, server):
    """The rare classes are drawn on top of the unlabelled points and a click takes the topmost visible point:
    the canvas pixel under the cursor has the rare class's colour, and the source opened is that point."""
    page.goto(server)
    browser.wait_map(page)
    browser.wait_idle(page)
    before = page.evaluate(JS_SPECTRUM_TITLE)
    pt = page.evaluate(browser.JS_RARE_POINT, ["CV", "NS", "HMXB"])
    assert pt is not None, "no clickable CV, NS or HMXB point on the map"
    r, g, b, a = pt["pixel"]  # premultiplied by the point's opacity
    assert a > 150, pt
    rgb = np.array([r, g, b]) * 255 / a
    dist = {name: np.abs(rgb - [int(c[i:i + 2], 16) for i in (1, 3, 5)]).sum() for name, c in pt["legend"]}
    assert min(dist, key=dist.get) == pt["cls"], (pt, dist)  # the colour under the cursor is that class's
    page.mouse.move(pt["x"], pt["y"])
    page.mouse.click(pt["x"], pt["y"])
    page.wait_for_function(f"(b) => {{ const t = ({JS_SPECTRUM_TITLE})(); return t !== null && t !== b; }}",
                           arg=before)
    title = page.evaluate(JS_SPECTRUM_TITLE)
    assert f"{pt['name']} · {pt['cls']} ·" in title, (title, pt)
    page.screenshot(path=str(SHOTS / "e2e_6_rare_class_click.png"), full_page=True)


def test_hidden_legend_class_never_catches_a_click(page, server):
    """Hide a class in the legend: its points are no longer drawn and a click where one was opens nothing of
    that class."""
    page.goto(server)
    browser.wait_map(page)
    browser.wait_idle(page)
    pt = page.evaluate(browser.JS_RARE_POINT, ["NS"])
    assert pt is not None
    page.locator(f'{browser.MAP} .xle-legend span.item[data-cls="NS"]').click()
    picked = page.evaluate(f"""(p) => {{ const m = document.querySelector('{browser.MAP}').xle;
      const r = m.plot.getBoundingClientRect(); const i = m.pickAt(p.x - r.left, p.y - r.top);
      return i < 0 ? null : m.colour.meta.legend[m.colour.c[i]].name; }}""", pt)
    assert picked != "NS"
    page.locator(f'{browser.MAP} .xle-legend span.item[data-cls="NS"]').click()  # shown again


def test_search_hits_are_ringed_and_the_view_zooms_to_them(page, server):
    page.goto(server)
    browser.wait_map(page)
    browser.wait_idle(page)
    name = page.evaluate(browser.JS_MAP_POINT, 3)["name"]
    box = page.get_by_placeholder("e.g. 2CXO J0537")
    box.fill(name[:12])
    box.press("Enter")
    button = page.locator(f"{browser.MAP} .xle-tools button", has_text="zoom to")
    button.wait_for(state="visible")
    hits = int(re.search(r"zoom to (\d+) hit", button.inner_text()).group(1))
    assert 1 <= hits <= 400
    before = page.evaluate(f"() => document.querySelector('{browser.MAP}').xle.view.kx")
    button.click()
    after = page.evaluate(f"() => document.querySelector('{browser.MAP}').xle.view.kx")
    assert after > before  # zoomed in on the hits
    page.screenshot(path=str(SHOTS / "e2e_7_search_hits.png"), full_page=True)
    box.fill("")
    box.press("Enter")
    browser.wait_idle(page)
