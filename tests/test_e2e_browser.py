"""End to end in a real headless Chromium: `streamlit run app.py` on the tiny real run; click a point and see its
reconstruction; box-select and see the table (which stays when the colouring changes). Screenshots go to
screenshots/ (git-ignored)."""
from __future__ import annotations

import re
from pathlib import Path

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


def selection_count(page) -> int:
    text = page.locator("h3", has_text="Selection (").first.inner_text()
    return int(re.search(r"Selection \(([\d,]+) sources\)", text).group(1).replace(",", ""))


def test_click_point_shows_reconstruction_then_box_selection_lists_sources(page, server):
    page.goto(server)
    n = browser.wait_map(page)
    browser.wait_idle(page)
    assert n == 400
    assert page.get_by_text("Simulated data.").count() >= 1
    page.screenshot(path=str(SHOTS / "e2e_1_map.png"), full_page=True)

    pt = browser.click_map_point(page, 5)
    browser.wait_reconstruction(page)
    browser.wait_idle(page)
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
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1
    assert page.get_by_role("button", name="FITS").count() == 1
    page.screenshot(path=str(SHOTS / "e2e_3_box_selection_table.png"), full_page=True)

    # the selection stays when the colouring changes
    page.locator('[data-testid="stSelectbox"]', has_text="Colour by").click()
    page.get_by_role("option", name="hardness hard_hs").click()
    browser.wait_idle(page)
    page.wait_for_timeout(1000)
    assert selection_count(page) == got
    page.screenshot(path=str(SHOTS / "e2e_4_recoloured_selection_kept.png"), full_page=True)
    assert pt["id"].startswith("tiny")

    # a lasso replaces the selection with the sources inside it
    page.get_by_role("button", name="Clear selection").click()
    page.wait_for_function("() => /Selection \\(0 /.test(document.body.innerText)")
    browser.choose_mouse_mode(page, "lasso")
    browser.drag_lasso(page, [(0.01, 0.01), (0.99, 0.01), (0.01, 0.99)])  # the upper-left half
    page.wait_for_function("() => /Selection \\((?!0 )/.test(document.body.innerText)", timeout=60_000)
    browser.wait_idle(page)
    assert 0 < selection_count(page) < got
    page.screenshot(path=str(SHOTS / "e2e_5_lasso_selection.png"), full_page=True)
