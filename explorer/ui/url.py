"""The view in the address bar (``explorer.logic.urlstate`` does the checking): read ``st.query_params`` into
session state when the address changed from outside (a shared link, a reload in a new browser, Back or
Forward), and write the session's view back into it after every change.

Streamlit 1.67 pushes a browser-history entry whenever the script sets a different query string, and reruns
the page with the address's query on Back and Forward; so each opened source (and each change of the view) is
one step of the browser's history.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer.logic import columns, runs, urlstate
from explorer.ui import keys as K

LAST = "xle_url_last"  # the query this session last wrote (or read)
PENDING = "xle_url_pending"  # a query read before the run was known
PAGE = "xle_url_page"  # the page that query belongs to

HARD_KEYS = {"hard_hm": "xle_f_hm", "hard_hs": "xle_f_hs", "hard_ms": "xle_f_ms"}


def _query() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params.keys()}


def read_url(page: str = "") -> list[str]:
    """When the address's query differs from the one this session last wrote, keep it to apply (and choose
    its run now, before the run chooser draws). An empty query on another page than the last one (a page switch:
    Streamlit drops the query) keeps the session's view; on the same page it is the plain address, the default
    view (Back to where the session began, or the query erased by hand)."""
    q = _query()
    same_page = st.session_state.get(PAGE) == page
    st.session_state[PAGE] = page
    if not q and not (same_page and st.session_state.get(LAST)):
        return []
    if q == st.session_state.get(LAST):
        return []
    st.session_state[PENDING] = q
    st.session_state[LAST] = q
    name = q.get("run")
    if name is None:
        return []
    found = {p.name: str(p) for p in runs.discover_runs(runs.RUNS_ROOT, extra=[runs.default_run_dir()])}
    if name in found:
        st.session_state[K.RUN] = found[name]
    return []


def layouts(run: runs.RunView) -> list[str]:
    return [urlstate.LAYOUTS[m] for m in ("umap", "pca") if m in run.maps] + [urlstate.LAYOUTS["axes"]]


def valid_for(run: runs.RunView) -> urlstate.Valid:
    s = run.sources
    ids = set(s["id"].astype(str))
    found = runs.discover_runs(runs.RUNS_ROOT, extra=[runs.default_run_dir()])
    return urlstate.Valid(has_id=ids.__contains__, runs=[p.name for p in found],
                          classes=list(runs.class_labels(s).unique()),
                          splits=[x for x in ("train", "val", "test") if x in set(s["split"])],
                          layouts=layouts(run), axes=run.latent_columns,
                          colours=list(run.colour_options), counts=counts_range(run))


def counts_range(run: runs.RunView) -> tuple[int, int]:
    c = run.sources["counts"]
    return int(c.min()), int(max(c.max(), 1))


def apply_pending(run: runs.RunView) -> list[str]:
    """Put a pending query's view into session state (every part it does not name back to its default);
    returns a note per ignored value."""
    q = st.session_state.pop(PENDING, None)
    if q is None:
        return []
    view, notes = urlstate.decode(q, valid_for(run))
    ss = st.session_state
    set_or_drop = lambda key, value: ss.__setitem__(key, value) if value else ss.pop(key, None)  # noqa: E731
    set_or_drop(K.SOURCE, view.source)
    set_or_drop("xle_proj", view.layout)
    set_or_drop("xle_x", view.x)
    set_or_drop("xle_y", view.y)
    set_or_drop(K.COLOUR, view.colour)
    ss["xle_log_colour"] = view.log
    ss["xle_f_classes"] = list(view.classes)
    ss["xle_f_splits"] = list(view.splits)
    lo, hi = counts_range(run)
    ss["xle_f_cmin"], ss["xle_f_cmax"] = view.counts or (lo, hi)
    for col, key in HARD_KEYS.items():
        ss[key] = view.hardness.get(col, (-1.0, 1.0))
    ss["xle_f_name"] = view.name
    ss[K.SPEC_VIEW] = view.spectrum or "counts"
    ss[K.SPEC_UNIT] = view.unit or "counts"
    ss[K.SPEC_SUB], ss[K.SPEC_LOG], ss[K.SPEC_GROUP] = view.subtract, view.log_y, view.group
    ss[K.SPEC_RES] = view.residuals or "sigma"
    return notes


def current_view(run: runs.RunView) -> urlstate.ViewState:
    ss = st.session_state
    default_run = str(Path(runs.default_run_dir()).resolve())
    run_name = None if str(Path(ss.get(K.RUN, default_run)).resolve()) == default_run else Path(ss[K.RUN]).name
    lays = layouts(run)
    layout = ss.get("xle_proj")
    colour = ss.get(K.COLOUR)
    lo, hi = counts_range(run)
    counts = (ss.get("xle_f_cmin", lo), ss.get("xle_f_cmax", hi))
    return urlstate.ViewState(
        source=ss.get(K.SOURCE), run=run_name, layout=layout if layout in lays and layout != lays[0] else None,
        x=ss.get("xle_x"), y=ss.get("xle_y"), colour=None if colour in (None, columns.COLOUR_CLASS) else colour,
        log=bool(ss.get("xle_log_colour")), classes=tuple(ss.get("xle_f_classes") or ()),
        splits=tuple(ss.get("xle_f_splits") or ()),
        counts=(min(counts), max(counts)) if tuple(counts) != (lo, hi) else None,
        hardness={col: tuple(ss[key]) for col, key in HARD_KEYS.items() if key in ss},
        name=ss.get("xle_f_name") or "",
        spectrum=ss.get(K.SPEC_VIEW) if ss.get(K.SPEC_VIEW) in urlstate.SPECTRUM_VIEWS.values() else None,
        unit=ss.get(K.SPEC_UNIT) if ss.get(K.SPEC_UNIT) in urlstate.UNITS else None,
        subtract=bool(ss.get(K.SPEC_SUB)), log_y=bool(ss.get(K.SPEC_LOG)), group=int(ss.get(K.SPEC_GROUP) or 0),
        residuals=ss.get(K.SPEC_RES) if ss.get(K.SPEC_RES) in urlstate.RESIDUALS else None)


def write_url(run: runs.RunView) -> None:
    """The session's view into the address (a new history entry when it changed)."""
    q = urlstate.encode(current_view(run), counts_range=counts_range(run))
    if q != _query():
        st.query_params.from_dict(q)
    st.session_state[LAST] = q


def share_link() -> str:
    """The address of this view, to copy."""
    base = str(getattr(st.context, "url", "") or "").split("?")[0]
    q = st.session_state.get(LAST) or {}
    from urllib.parse import urlencode

    return base + ("?" + urlencode(q, safe=",") if q else "")
