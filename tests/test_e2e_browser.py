"""End to end in a real headless Chromium (software WebGL): `streamlit run app.py` on the tiny real run; the WebGL
map draws; click a point and see its reconstruction; a click on a rare-class point opens that very source;
box-select and see the table (which stays when the colouring changes); lasso; a link opens a source, the view
survives a reload and Back returns from a neighbour; a browser selection reaches a SAMP client; every page at
desktop and phone width. Screenshots go to screenshots/ (git-ignored). One server (and one SAMP hub, on
loopback) for the whole module."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from explorer.logic import runs
from tests import browser
from tests.explore_support import session_run
from tests.samp_support import samp_hub

pytest.importorskip("playwright.sync_api")
if not Path(browser.CHROMIUM).exists():
    pytest.skip(f"no chromium at {browser.CHROMIUM}", allow_module_level=True)

SHOTS = browser.REPO / "screenshots"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with samp_hub(tmp_path_factory.mktemp("samp")) as h:
        yield h


@pytest.fixture(scope="module")
def server(tmp_path_factory, hub):
    _, run = session_run(tmp_path_factory)
    log = tmp_path_factory.getbasetemp() / "streamlit_e2e.log"
    with browser.streamlit_server(run, log=log, env={"SAMP_HUB": hub[1]}) as url:
        yield url


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return runs.load_run(session_run(tmp_path_factory)[1]).sources.set_index("id")


@pytest.fixture(scope="module")
def chromium(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = browser.launch(p)
        yield b
        b.close()


JS_SPECTRUM_TITLE = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  if ((gd._fullData || []).some(t => t.name === 'reconstruction')) return (gd.layout.title || {}).text || '?'; }
  return null; }"""


@pytest.fixture(scope="module")
def page(chromium):
    pg = chromium.new_page(viewport={"width": 1500, "height": 1000})
    pg.set_default_timeout(120_000)
    yield pg
    pg.close()


@pytest.fixture
def fresh(chromium):
    """A new browser context: a new Streamlit session, as a link opened in another browser."""
    ctx = chromium.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    yield pg
    ctx.close()


def selection_count(page) -> int:
    text = page.locator("h3", has_text="Selection (").first.inner_text()
    return int(re.search(r"Selection \(([\d,]+) sources\)", text).group(1).replace(",", ""))


def test_click_point_shows_reconstruction_then_box_selection_lists_sources(page, server, sources):
    page.goto(server)
    n = browser.wait_map(page)
    browser.wait_idle(page)
    assert n == 400
    assert browser.map_painted(page) > 200  # the canvas really drew (read back from WebGL)
    assert page.get_by_text("Simulated data.").count() >= 1
    # once the map has drawn, the empty source panel shows a chart (and so loads Plotly before the first click)
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
      .some(gd => ((gd.layout || {}).title || {}).text === 'Reconstruction error of the shown sources')""")
    page.screenshot(path=str(SHOTS / "e2e_1_map.png"), full_page=True)

    pt = browser.click_map_point(page, 5)
    browser.wait_reconstruction(page)
    browser.wait_idle(page)
    assert pt["picked_name"] in page.evaluate(JS_SPECTRUM_TITLE)
    page.get_by_role("button", name="Source page").wait_for()  # below the spectrum, drawn after it
    names = [t for traces in page.evaluate(browser.JS_TRACE_NAMES) for t in traces]
    assert "observed" in names and "reconstruction" in names and "noiseless truth (simulation)" in names
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
    # only the table's fragment reran: the map drew the selection itself and says how many it holds
    assert page.locator(f"{browser.MAP} .xle-count").inner_text() == f"{got:,} selected"

    # a row of the selection table opens its source beside the map (the map's fragment reruns too)
    browser.choose_mouse_mode(page, "click")
    before = page.evaluate(JS_SPECTRUM_TITLE)
    first_row = page.evaluate(f"""() => {{ const m = document.querySelector('{browser.MAP}').xle; let r = Infinity;
      for (let i = 0; i < m.n; i++) if (m.flags[i]) r = Math.min(r, m.pos.row[i]); return r; }}""")
    browser.click_table_row(page, 0, 0)  # the table lists the selection in catalog order
    page.wait_for_function(f"(b) => {{ const t = ({JS_SPECTRUM_TITLE})(); return t && t !== b; }}", arg=before)
    assert str(sources.iloc[first_row]["name"]) in page.evaluate(JS_SPECTRUM_TITLE)
    ringed = f"() => {{ const m = document.querySelector('{browser.MAP}').xle; return m.pos.row[m.focus]; }}"
    assert page.evaluate(ringed) == first_row  # and ringed on the map
    browser.choose_mouse_mode(page, "box")

    # the selection stays when the colouring changes
    page.locator('[data-testid="stSelectbox"]', has_text="Colour by").click()
    page.get_by_role("option", name="hardness ratio H-S").click()
    browser.wait_idle(page)
    page.wait_for_timeout(1000)
    assert selection_count(page) == got
    page.screenshot(path=str(SHOTS / "e2e_4_recoloured_selection_kept.png"), full_page=True)
    assert pt["name"].startswith("2CXO J")

    # a lasso replaces the selection with the sources inside it
    page.get_by_role("button", name="Clear map selection").click()
    page.wait_for_function("() => /Selection \\(0 /.test(document.body.innerText)")
    page.wait_for_function(f"() => document.querySelector('{browser.MAP}').dataset.selected === '0'")
    assert page.locator(f"{browser.MAP} .xle-count").inner_text() == ""  # the map cleared its selection too
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


def test_a_link_opens_its_source_the_view_survives_reload_and_back_returns_from_a_neighbour(fresh, server, sources):
    pg = fresh
    name = sources.loc["tiny00007", "name"]
    pg.goto(f"{server}/?source=tiny00007")  # a link, in a browser that never saw the app
    browser.wait_map(pg)
    browser.wait_reconstruction(pg)
    browser.wait_drawn(pg)
    assert name in pg.evaluate(browser.JS_TITLES)
    # colour, filter and layout, then reload
    browser.choose(pg, "Colour by", "hardness ratio H-S")
    browser.choose(pg, "Class", "AGN", where='[data-testid="stSidebar"]')
    browser.click_segment(pg, "PCA")
    browser.wait_drawn(pg)
    assert all(k in pg.url for k in ("source=tiny00007", "colour=hard_hs", "classes=AGN", "layout=pca")), pg.url
    n_agn = int((sources["class"] == "AGN").sum())
    assert browser.wait_map(pg) == n_agn
    pg.screenshot(path=str(SHOTS / "e2e_6_view_before_reload.png"))
    pg.reload()
    browser.wait_reconstruction(pg)
    browser.wait_drawn(pg)
    assert browser.wait_map(pg) == n_agn
    layout = pg.evaluate(f"""() => {{ const m = document.querySelector('{browser.MAP}');
      return {{axes: Array.from(m.querySelectorAll('.xle-axis')).map(e => e.textContent),
              bar: Array.from(m.querySelectorAll('.xle-bar')).map(e => e.textContent)}}; }}""")
    assert "PC 1" in layout["axes"] and any("H-S" in t for t in layout["bar"]), layout
    assert name in pg.evaluate(browser.JS_TITLES)
    pg.screenshot(path=str(SHOTS / "e2e_7_view_after_reload.png"))
    # the source page: open a neighbour, then Back to the source before it, Forward to the neighbour
    pg.goto(f"{server}/source?source=tiny00007")
    browser.wait_reconstruction(pg)
    browser.wait_drawn(pg)
    browser.click_table_row(pg, 1, 0)  # tables: latent values, the 10 nearest neighbours, catalog row
    pg.wait_for_function("() => !location.search.includes('source=tiny00007')")
    browser.wait_drawn(pg)
    neighbour = re.search(r"source=(tiny\d+)", pg.url).group(1)
    assert sources.loc[neighbour, "name"] in pg.evaluate(browser.JS_TITLES)
    pg.go_back()
    pg.wait_for_function("() => location.search.includes('source=tiny00007')")
    browser.wait_drawn(pg)
    pg.wait_for_function(f"() => ({browser.JS_TITLES})().includes({name!r})")
    pg.screenshot(path=str(SHOTS / "e2e_8_back_from_neighbour.png"))
    pg.go_forward()
    pg.wait_for_function(f"() => location.search.includes('source={neighbour}')")
    browser.wait_drawn(pg)
    pg.wait_for_function(f"() => ({browser.JS_TITLES})().includes({sources.loc[neighbour, 'name']!r})")


def test_a_selection_made_in_the_browser_reaches_a_samp_client(fresh, server, hub, sources):
    from tests.test_samp import load

    pg, rec = fresh, hub[2]
    pg.goto(f"{server}/?classes=CV,NS")
    browser.wait_map(pg)
    browser.wait_drawn(pg)
    browser.choose_mouse_mode(pg, "box")
    browser.drag_box(pg, 0.01, 0.01, 0.99, 0.99)
    pg.wait_for_function("() => /Selection \\((?!0 )/.test(document.body.innerText)", timeout=60_000)
    browser.wait_drawn(pg)
    n_selected = selection_count(pg)
    assert n_selected > 0
    pg.get_by_role("button", name="Send to TOPCAT (SAMP)").click()
    p = rec.wait("table.load.votable")
    pg.wait_for_function("() => document.body.innerText.includes('Sent ')")
    pg.screenshot(path=str(SHOTS / "e2e_9_samp_sent.png"))
    table = load(p["url"])
    ids = set(table.array["id"].astype(str))
    assert len(ids) == n_selected  # every selected source, and (below) only filtered ones
    assert set(sources.loc[sorted(ids), "class"]) <= {"CV", "NS"}
    assert [(q.name, q.value) for q in table.params] == [("simulated", True)]
    # a position, from the source page
    pg.goto(f"{server}/source?source=tiny00042")
    browser.wait_drawn(pg)
    pg.get_by_role("button", name="Point DS9 / Aladin (SAMP)").click()
    q = rec.wait("coord.pointAt.sky")
    assert abs(float(q["ra"]) - sources.loc["tiny00042", "ra"]) < 1e-9
    assert abs(float(q["dec"]) - sources.loc["tiny00042", "dec"]) < 1e-9


PAGES = ["map", "source", "sky", "pairs", "outliers", "classify", "traversal", "upload", "run", "help"]


@pytest.mark.parametrize("width", [1600, 390])
def test_screenshots_of_every_page(chromium, server, width):
    """Every page with a source open, as a reader sees it; the pictures are looked at by people (and each page
    must draw without an exception)."""
    ctx = chromium.new_context(viewport={"width": width, "height": 2000 if width > 600 else 2600})
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    try:
        for name in PAGES:
            pg.goto(f"{server}/{'' if name == 'map' else name}?source=tiny00007")
            browser.wait_drawn(pg)
            assert pg.locator('[data-testid="stException"]').count() == 0, name
            pg.screenshot(path=str(SHOTS / f"page_{name}_{width}.png"))
    finally:
        ctx.close()
