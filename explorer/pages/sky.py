"""Sky: the sources where they are on the sky (Aitoff, equatorial or Galactic), coloured, filtered and selected
like the map: a box or lasso here selects on the map too; a click opens the source."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.logic import sky
from explorer.ui import common, selection, source_view
from explorer.ui.figures_sky import sky_caption, sky_figure

SKY_KEY = "xle_sky"

run = common.page_frame("Sky", "Where the sources are. The colours, filters and selection are the map's: select "
                        "here and the same sources are selected on the map; click a source to open it.")
f, mask = common.sidebar_filters(run)
sources = run.sources
if not {"ra", "dec"} <= set(sources.columns):
    st.info("This run's catalog has no ra/dec columns, so its sources cannot be placed on the sky.")
    st.stop()


@st.cache_data(show_spinner="Projecting…", max_entries=8)
def positions(run_dir: str, mtime: float, frame: str) -> np.ndarray:
    s = common.get_run(run_dir, mtime).sources
    return sky.project(s["ra"].to_numpy(dtype=float), s["dec"].to_numpy(dtype=float), frame)


key = common.run_key(run)
with st.container(key="xle_later_sky"):
    c = st.columns([1.4, 1.4, 1.2])
    common._init("xle_sky_frame", "equatorial", lambda v: v in sky.FRAMES)
    frame = c[0].segmented_control("Coordinates", list(sky.FRAMES), format_func=lambda k: k.capitalize(),
                                   key="xle_sky_frame") or "equatorial"
    colour, log = common.colour_control(run, where=c[1])
    DRAG = {"click": "zoom", "box": "select", "lasso": "lasso"}
    common._init("xle_sky_drag", "click", lambda v: v in DRAG)
    drag = c[2].segmented_control("Mouse", list(DRAG), key="xle_sky_drag",
                                  help="click: open a source; box / lasso: select sources (also on the map)")
xy = positions(*key, frame)
selected = st.session_state.get(common.SELECTED, [])
focus = st.session_state.get(common.SOURCE)
first = st.container(key="xle_first")  # at phone width: right after the title (look.narrow_layout)
left, right = first.columns([3, 2], gap="medium")
with left:
    fig = sky_figure(sources, xy, frame, colour=colour, mask=mask & np.isfinite(xy).all(axis=1),
                     hover=common.get_hover(*key), selected_ids=selected, focus_id=focus, log_colour=log,
                     dragmode={"click": "zoom", "box": "select", "lasso": "lasso"}[drag or "click"])
    st.plotly_chart(fig, key=SKY_KEY, on_select=selection.on_select(SKY_KEY), selection_mode=("points", "box", "lasso"),
                    width="stretch", config={"displaylogo": False, "scrollZoom": True})
    n_pos = int((mask & np.isfinite(xy).all(axis=1)).sum())
    st.caption(sky_caption(frame) + f" {n_pos:,} sources with a position pass the filters · "
               f"{len(selected):,} selected (shown with a "
               "ring here and on the map) · the star is the open source.")
with right:
    row = common.current_source_row(run)
    if row is None:
        st.markdown("#### Click a source")
        st.caption("Its spectrum and reconstruction appear here.")
    else:
        source_view.render_compact(run, row)
