"""explorer.logic.urlstate: a view to a query and back; untrusted values ignored with a note, never a crash;
and the app reading and writing its address (AppTest)."""
from __future__ import annotations

from explorer.logic import urlstate
from explorer.logic.urlstate import ViewState, Valid
from explorer.ui import keys as K
from tests.test_app import app, tiny  # noqa: F401 (fixtures)

VALID = Valid(has_id={"a1", "b2"}.__contains__, runs=["demo", "tiny"], classes=["AGN", "CV", "unlabelled"],
              splits=["train", "test"], layouts=["UMAP", "PCA", "latent axes"], axes=["z0", "z1", "z2"],
              colours=["class", "hard_hs", "counts"], counts=(10, 5000))


def test_round_trip_of_a_full_view():
    v = ViewState(source="b2", run="tiny", layout="latent axes", x="z2", y="z0", colour="counts", log=True,
                  classes=("AGN", "unlabelled"), splits=("test",), counts=(100, 5000),
                  hardness={"hard_hs": (-0.5, 0.25)}, name="J0537", spectrum="E·F(E)", unit="rate", subtract=True,
                  log_y=True, group=20, residuals="deviance")
    q = urlstate.encode(v, counts_range=(10, 5000))
    assert q["source"] == "b2" and q["layout"] == "axes" and q["cmin"] == "100" and "cmax" not in q
    assert (q["spec"], q["unit"], q["sub"], q["logy"], q["group"], q["res"]) == ("eflux", "rate", "1", "1", "20",
                                                                               "deviance")
    back, notes = urlstate.decode(q, VALID)
    assert notes == []
    assert back == v


def test_default_view_is_the_empty_query():
    assert urlstate.encode(ViewState(hardness={"hard_hm": (-1.0, 1.0)}), counts_range=(10, 5000)) == {}
    v, notes = urlstate.decode({}, VALID)
    assert v == ViewState() and notes == []


def test_untrusted_values_are_ignored_with_a_note():
    q = {"source": "nope<script>", "run": "../../etc", "layout": "tsne", "x": "z9", "colour": "P_secret",
         "classes": "AGN,Martian", "split": "dev", "cmin": "abc", "cmax": "999999", "hm": "0.2", "hs": "-3,0",
         "ms": "0.5,-0.5", "hide": "CV,Ghost", "spec": "xray", "unit": "Jy", "group": "9999", "res": "chi"}
    v, notes = urlstate.decode(q, VALID)
    assert v.source is None and v.run is None and v.layout is None and v.x is None and v.colour is None
    assert v.classes == ("AGN",)  # Martian dropped; hiding CV leaves AGN
    assert v.splits == () and v.counts is None
    assert v.hardness == {"hard_ms": (-0.5, 0.5)}
    assert v.spectrum is None and v.unit is None and v.group == 0 and v.residuals is None
    for key in ("spec", "unit", "group", "res"):
        assert any(n.startswith(f"`{key}=") for n in notes), key
    joined = " ".join(notes)
    for key in ("source", "run", "layout", "x", "colour", "classes", "split", "cmin", "cmax", "hm", "hs", "hide"):
        assert f"`{key}=" in joined, key
    assert "Martian" in joined and "Ghost" in joined


def test_id_alias_and_hide_only():
    v, notes = urlstate.decode({"id": "a1", "hide": "unlabelled"}, VALID)
    assert v.source == "a1" and v.classes == ("AGN", "CV") and not notes


# ---- the app (the fixtures of test_app: the tiny run, AppTest on app.py) ---------------------------------------


def test_app_opens_the_view_a_link_names_and_writes_changes_back(app):
    app.query_params.update({"source": "tiny00007", "colour": "hard_hs", "classes": "AGN,CV", "layout": "pca"})
    at = app.run()
    assert not at.exception
    assert at.session_state[K.SOURCE] == "tiny00007"
    assert at.selectbox(key=K.COLOUR).value == "hard_hs"
    assert at.segmented_control(key="xle_proj").value == "PCA"
    assert "**80** of 400 sources" in " ".join(c.value for c in at.sidebar.caption)
    at.selectbox(key=K.COLOUR).set_value("counts").run()
    assert at.query_params["colour"] == ["counts"] or at.query_params["colour"] == "counts"
    assert "source" in at.query_params


def test_app_notes_bad_link_values_and_keeps_going(app):
    app.query_params.update({"source": "tiny99999", "colour": "nonsense"})
    at = app.run()
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "tiny99999" in notes and "nonsense" in notes
    assert K.SOURCE not in at.session_state


def test_a_link_carries_the_spectrum_view_to_another_page_and_session(app):
    """The spectrum's view (unfolded or counts, unit, background, log axis, grouping, residuals) is in the address:
    chosen on the map's panel, it is what a shared link opens on the source page."""
    app.query_params.update({"source": "tiny00007", "spec": "eflux"})
    at = app.run()
    assert not at.exception and at.segmented_control(key=K.SPEC_VIEW).value == "E·F(E)"
    at.segmented_control(key=K.SPEC_VIEW).set_value("counts").run()
    at.toggle(key=K.SPEC_LOG).set_value(True).run()
    at.number_input(key=K.SPEC_GROUP).set_value(20).run()
    q = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert q.get("logy") == "1" and q.get("group") == "20" and "spec" not in q
    at.switch_page("explorer/pages/source.py").run()  # the same view on the other page
    assert not at.exception
    assert at.toggle(key=K.SPEC_LOG).value is True and at.number_input(key=K.SPEC_GROUP).value == 20


def test_back_to_the_plain_address_restores_the_default_view(app):
    """Back to where the session began (no query) on the same page is the default view, not the last one; a page
    switch (Streamlit drops the query) keeps the view."""
    app.query_params.update({"colour": "hard_hs", "source": "tiny00007"})
    at = app.run()
    assert at.selectbox(key=K.COLOUR).value == "hard_hs"
    at.switch_page("explorer/pages/outliers.py").run()  # another page, no query: the view goes along
    assert not at.exception and at.session_state[K.SOURCE] == "tiny00007"
    at.switch_page("explorer/pages/map.py").run()
    assert at.session_state[K.COLOUR] == "hard_hs"
    at.query_params.clear()  # Back to the plain address on the same page
    at.run()
    assert not at.exception
    assert at.selectbox(key=K.COLOUR).value == "class" and K.SOURCE not in at.session_state
    assert not dict(at.query_params)
