"""No dead control: every widget of every page is changed once (AppTest, tiny real run) and the page's figures,
tables or metrics must change with it. A widget the plan does not know fails the test, so a new control needs
a line here (or a reason to skip it)."""
from __future__ import annotations

import hashlib

import pytest

from explorer.ui import keys as K
from tests.test_app import app, assert_clean, tiny  # noqa: F401 (fixtures)

FILTERS = [("multiselect", "xle_f_classes", ["AGN", "CV", "NS", "YSO", "unlabelled"]),
           ("multiselect", "xle_f_splits", ["train", "test"]),
           ("number_input", "xle_f_cmin", 40), ("number_input", "xle_f_cmax", 1200),
           ("slider", "xle_f_hm", (-0.8, 0.9)), ("slider", "xle_f_hs", (-0.95, 0.95)),
           ("slider", "xle_f_ms", (-0.6, 0.8))]
NAME = [("text_input", "xle_f_name", "tiny001")]


def spectrum(prefix: str) -> list:
    """The spectrum view's controls: shared by every page (and in the address), the energy range per page."""
    return [("button_group", K.SPEC_UNIT, "rate"), ("toggle", K.SPEC_SUB, True),
            ("toggle", K.SPEC_LOG, True), ("number_input", K.SPEC_GROUP, 20),
            ("slider", f"{prefix}_erange", (1.0, 6.0)), ("button_group", K.SPEC_RES, "deviance"),
            ("button_group", K.SPEC_VIEW, "E·F(E)")]  # last: the unfolded view has none of the above


PLAN = {
    "map": [("button_group", "xle_proj", "PCA"), ("selectbox", K.COLOUR, "counts"),
            ("checkbox", "xle_log_colour", True), ("button_group", "xle_proj", "latent axes"),
            ("selectbox", "xle_x", "z3"), ("selectbox", "xle_y", "z5"), ("button_group", "xle_drag", "box"),
            *spectrum("map_src"), *FILTERS, *NAME],
    "sky": [("button_group", "xle_sky_frame", "galactic"), ("selectbox", K.COLOUR, "hard_hs"),
            ("button_group", "xle_sky_drag", "lasso"), *spectrum("map_src"), *FILTERS, *NAME],
    "source": [("toggle", "src_overlay", True), *spectrum("src"), ("text_input", "xle_src_query", "tiny0001")],
    "pairs": [("selectbox", K.COLOUR, "counts"), ("checkbox", "xle_log_colour", True),
              ("multiselect", "xle_pairs_axes", ["z0", "z1", "z2"]), ("number_input", "xle_pairs_max", 200),
              *FILTERS, *NAME],
    "outliers": [("radio", "xle_out_rank", "raw"), ("slider", "xle_out_n", 40), *FILTERS, *NAME],
    "classify": [("radio", "xle_cls_method", "kmeans"), ("multiselect", "xle_cls_feats", ["latent", "hardness"]),
                 *FILTERS[:4], ("slider", "xle_f_hm", (-0.5, 0.3)), ("slider", "xle_f_hs", (-0.7, 0.7)),
                 ("slider", "xle_f_ms", (-0.4, 0.6)),  # tighter: each cut must remove labelled sources
                 ("radio", "xle_cls_task", "AGN vs compact objects"), *NAME],
    "traversal": [("slider", "xle_trav_z2", 1.5), ("slider", "xle_trav_z5", -1.0), ("button", "Reset to start", None),
                  *[("slider", f"xle_trav_z{i}", 0.2) for i in (0, 1, 3, 4, 6, 7)]],
}
# Widgets whose effect is not a figure or a table, each with the reason and the test that covers it.
SKIP = {
    "Source page": "switches to the source page (test_app: test_map_click_opens_the_source_…)",
    "Traverse": "switches to the traversal page",
    "Point DS9 / Aladin (SAMP)": "a SAMP message (tests/test_samp.py, test_e2e_browser SAMP test)",
    "Send to TOPCAT (SAMP)": "a SAMP message (same)",
    "Open a random source": "only drawn while no source is open",
    "Forget it": "only drawn with a kept upload",
    "Clear map selection": "only drawn with a selection (test_e2e_browser)",
    "up_pha": "uploads: test_app test_upload_page_…", "up_arf": "uploads", "up_rmf": "uploads", "up_bkg": "uploads",
    "xle_log_colour": "offered only for all-positive colour columns (tested where it is: map, pairs)",
}
KINDS = ("button", "checkbox", "toggle", "radio", "selectbox", "multiselect", "slider", "number_input", "text_input",
         "button_group", "file_uploader")


def fingerprint(at) -> str:
    h = hashlib.sha256()
    for el in at.get("plotly_chart"):
        h.update(el.proto.spec.encode())
    for el in at.get("bidi_component"):  # the WebGL map element: its data layers, modes and marks
        h.update(el.proto.SerializeToString())
    for d in at.dataframe:
        h.update(d.value.to_csv().encode())
    for m in at.metric:
        h.update(f"{m.label}={m.value}".encode())
    return h.hexdigest()


def widget(at, kind: str, key: str):
    if kind == "button":
        return next(b for b in at.button if b.label == key)
    return getattr(at, kind)(key=key)


def act(at, kind: str, key: str, value):
    w = widget(at, kind, key)
    if kind == "button":
        return w.click().run()
    if kind in ("checkbox", "toggle"):
        return w.set_value(not w.value if value is None else value).run()
    if kind == "slider" and isinstance(value, tuple):
        return w.set_range(*value).run()
    return w.set_value(value).run()


def present(at) -> set[str]:
    names = set()
    for kind in KINDS:
        for w in at.get(kind):
            names.add(w.label if kind == "button" else (w.key or w.label))
    return names


@pytest.mark.parametrize("page", list(PLAN))
def test_every_control_changes_what_the_page_shows(app, page):
    at = app.run()
    at.session_state[K.SOURCE] = "tiny00007"
    at.run()
    if page != "map":
        at.switch_page(f"explorer/pages/{page}.py").run()
    assert_clean(at)
    planned = {key for _, key, _ in PLAN[page]}
    seen: set[str] = set()
    dead = []
    before = fingerprint(at)
    for kind, key, value in PLAN[page]:
        seen |= present(at)
        at = act(at, kind, key, value)
        assert_clean(at)
        after = fingerprint(at)
        if after == before:
            dead.append(f"{kind} {key} -> {value!r}")
        before = after
    seen |= present(at)
    assert not dead, f"{page}: controls without effect: {dead}"
    unknown = seen - planned - set(SKIP) - {"xle_run"}
    assert not unknown, f"{page}: controls the plan does not cover: {sorted(unknown)}"
