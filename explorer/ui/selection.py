"""Selections coming back from a chart (the map, the sky): the clicked point opens its source, a box or lasso
replaces the shared selection, so a selection made on one view shows on the other."""
from __future__ import annotations

import streamlit as st

from explorer.ui import keys as K


def ids_of(points: list[dict]) -> list[str]:
    """Source ids (``customdata``) of the selected points, in order, without repeats."""
    out = []
    for p in points:
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd is not None:
            out.append(str(cd))
    return list(dict.fromkeys(out))


def on_select(chart_key: str):
    """A chart callback (runs before the script): a single clicked point opens that source; a box or lasso
    replaces the selection. Empty events (the figure redrawn, a double click) keep both as they are."""

    def handle() -> None:
        state = st.session_state.get(chart_key)
        sel = state.get("selection", {}) if state else {}
        ids = ids_of(sel.get("points", []))
        if not ids:
            return
        if sel.get("box") or sel.get("lasso") or len(ids) > 1:
            st.session_state[K.SELECTED] = ids
        else:
            st.session_state[K.SOURCE] = ids[0]

    return handle
