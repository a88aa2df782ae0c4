"""Every explorer page through streamlit.testing.v1.AppTest, against the tiny real run."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.logic import runs
from explorer.ui import common
from tests.explore_support import session_run

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
PAGES = ["map", "source", "sky", "pairs", "outliers", "classify", "traversal", "upload", "run", "help"]
NO_SIMULATED_DATA_SHOWN = {"upload", "help"}  # before an upload, and the help page, show none of the run's data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return session_run(tmp_path_factory)


@pytest.fixture
def app(tiny, monkeypatch):
    monkeypatch.setenv("XLE_RUN", str(tiny[1]))
    return AppTest.from_file(APP, default_timeout=120)


def open_page(at: AppTest, page: str) -> AppTest:
    if page == "map":
        return at.run()
    at.run()
    return at.switch_page(f"explorer/pages/{page}.py").run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_and_says_simulated(app, page):
    at = open_page(app, page)
    assert_clean(at)
    if page in NO_SIMULATED_DATA_SHOWN:
        assert "Simulated data" not in texts(at.info), f"{page} shows the simulated banner without simulated data"
    else:
        assert "Simulated data" in texts(at.info), f"{page} does not say the data are simulated"


def test_map_click_opens_the_source_and_selection_stays_when_colour_changes(app, tiny):
    at = app.run()
    assert_clean(at)
    assert common.SOURCE not in at.session_state  # nothing open until a click
    ids = ["tiny00003", "tiny00010", "tiny00042"]
    at.session_state[common.SOURCE] = ids[0]
    at.session_state[common.SELECTED] = ids
    at.run()
    assert_clean(at)
    assert any(b.label == "Source page" for b in at.button)
    assert "Selection (3 sources)" in texts(at.subheader)
    tables = [d.value for d in at.dataframe]
    assert any(set(ids) <= set(t.get("id", [])) for t in tables)
    at.selectbox(key=common.COLOUR).set_value("hard_hs").run()
    assert_clean(at)
    assert "Selection (3 sources)" in texts(at.subheader)
    at.segmented_control(key="xle_proj").set_value("latent axes").run()
    at.selectbox(key="xle_y").set_value("z5").run()
    assert_clean(at)
    at.button(key="map_open_full").click().run()  # switches to the source page
    assert_clean(at)
    assert any("2CXO" in str(s.value) for s in at.subheader)


def test_map_filters_and_search(app, tiny):
    at = app.run()
    at.multiselect(key="xle_f_classes").set_value(["AGN"]).run()
    assert_clean(at)
    assert "**40** of 400 sources" in texts(at.sidebar.caption)
    at.text_input(key="xle_f_name").set_value("tiny0000").run()
    assert_clean(at)
    assert "**1** of 400 sources" in texts(at.sidebar.caption)  # of tiny00000..tiny00009 only tiny00000 is an AGN
    # the search lists every match, and says which the other filters hide
    assert "10 names or ids match “tiny0000”; 9 of them hidden by the filters" in texts(at.caption)
    listed = next(d.value for d in at.dataframe if "map" in d.value)
    assert sorted(listed["map"]) == ["filtered out"] * 9 + ["shown"]
    at.text_input(key="xle_f_name").set_value("").run()
    at.multiselect(key="xle_f_classes").set_value([]).run()
    at.number_input(key="xle_f_cmin").set_value(100).run()
    at.slider(key="xle_f_hm").set_range(-0.3, 0.3).run()
    assert_clean(at)
    view = runs.load_run(tiny[1]).sources
    want = int((view["counts"].between(100, 1e9) & view["hard_hm"].between(-0.3, 0.3)).sum())
    assert f"**{want}** of 400 sources" in texts(at.sidebar.caption)
    at.switch_page("explorer/pages/outliers.py").run()  # filters follow to other pages
    assert f"**{want}** of 400 sources" in texts(at.sidebar.caption)


def test_source_page_search_and_neighbours(app):
    at = open_page(app, "source")
    assert any("No source open" in str(i.value) for i in at.info)
    at.text_input(key="xle_src_query").set_value("tiny00007").run()
    assert_clean(at)
    at.session_state[common.SOURCE] = "tiny00007"
    at.run()
    assert_clean(at)
    nb = [d.value for d in at.dataframe if "distance" in d.value.columns]
    assert nb and len(nb[0]) == 10


def test_classifier_page_switches_task_features_and_method(app):
    at = open_page(app, "classify")
    assert_clean(at)
    assert len(at.metric) >= 3
    at.radio(key="xle_cls_method").set_value("random_forest").run()
    at.radio(key="xle_cls_task").set_value("AGN vs compact objects").run()
    assert_clean(at)
    assert any("±" in str(m.value) for m in at.metric)
    at.multiselect(key="xle_cls_feats").set_value(["latent", "hardness"]).run()
    assert_clean(at)
    at.radio(key="xle_cls_task").set_value("choose classes").run()
    at.multiselect(key="xle_cls_subset").set_value(["AGN", "CV", "NS"]).run()
    assert_clean(at)


def test_traversal_sliders_redraw(app):
    at = open_page(app, "traversal")
    assert len(at.slider) == 8
    at.slider(key="xle_trav_z2").set_value(at.slider(key="xle_trav_z2").max).run()
    assert_clean(at)
    assert "z2" in texts(at.caption)


def test_outliers_page_lists_sources(app):
    at = open_page(app, "outliers")
    assert_clean(at)
    assert len(at.dataframe) >= 2 and all(len(d.value) == 25 for d in at.dataframe[:2])


def test_upload_page_places_a_real_spectrum_and_refuses_a_bad_one(app, real_data):
    at = open_page(app, "upload")
    spectra = real_data / "spectra"
    at.file_uploader(key="up_pha").upload("9774.pi", (spectra / "9774.pi").read_bytes()).run()
    at.file_uploader(key="up_arf").upload("9774.arf", (spectra / "9774.arf").read_bytes()).run()
    at.file_uploader(key="up_rmf").upload("9774.rmf", (spectra / "9774.rmf").read_bytes()).run()
    at.file_uploader(key="up_bkg").upload("9774_bg.pi", (spectra / "9774_bg.pi").read_bytes()).run()
    assert_clean(at)
    assert "9774.pi" in texts(at.success) and "OBJECT" in texts(at.success)
    assert "possible pile-up" not in texts(at.warning) and "count rate 0.18 per frame" in texts(at.warning)
    assert any("distance" in d.value.columns for d in at.dataframe)
    fit = re.search(r"deviance per bin \*\*([0-9.]+)\*\* \(an exact model would score ([0-9.]+)", texts(at.caption))
    assert fit and 0 < float(fit.group(1)) < 50 and 0 < float(fit.group(2)) < 2
    assert "Simulated data" in texts(at.info)  # beside the map of the run's (simulated) sources
    # the result stays when the reader visits another page and comes back
    at.switch_page("explorer/pages/map.py").run()
    at.switch_page("explorer/pages/upload.py").run()
    assert_clean(at)
    assert "9774.pi" in texts(at.success) and "kept" in texts(at.caption)
    at.file_uploader(key="up_pha").upload("with_nan.fits", (spectra / "with_nan.fits").read_bytes()).run()
    assert not at.exception
    assert "with_nan.fits" in texts(at.error)


def test_upload_page_warns_of_pile_up(app, real_data):
    """M33's nucleus (source.pi) is piled up: the reader's warning (core/io/pileup.py) reaches the page."""
    at = open_page(app, "upload")
    spectra = real_data / "spectra"
    for key, name in (("up_pha", "source.pi"), ("up_arf", "source.arf"), ("up_rmf", "source.rmf")):
        at.file_uploader(key=key).upload(name, (spectra / name).read_bytes()).run()
    assert_clean(at)
    assert "source.pi" in texts(at.success)
    assert "possible pile-up: 1129 counts above 10 keV" in texts(at.warning)


def test_upload_page_says_which_companion_files_to_upload(app, real_data):
    at = open_page(app, "upload")
    stem = "acisf04938_000N002_r0043"
    at.file_uploader(key="up_pha").upload(f"{stem}_pha3.fits",
                                          (real_data / f"responses/{stem}_pha3.fits").read_bytes()).run()
    assert not at.exception
    error = texts(at.error)
    assert "this CSC pha3 needs its ARF and RMF: upload them too" in error
    assert "xle-upload-" not in error and "--rmf" not in error
    at.file_uploader(key="up_pha").upload("hrc_bin2.pha", (real_data / "spectra/hrc_bin2.pha").read_bytes()).run()
    assert not at.exception and "HRC has no useful energy resolution" in texts(at.error)


def test_run_page_shows_metrics(app):
    at = open_page(app, "run")
    assert_clean(at)
    cols = [set(d.value.columns) for d in at.dataframe]
    assert any({"task", "protocol", "latent"} <= c for c in cols)
    assert any({"model", "deviance_per_bin"} <= c for c in cols)


def test_no_run_explains_how_to_build_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XLE_RUN", str(tmp_path / "runs" / "none"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "No encoded run" in texts(at.error) and "./scripts/run" in texts(at.markdown)
