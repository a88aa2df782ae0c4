"""Map: the latent space laid out in 2-D (UMAP, PCA or two latent axes). Click a point to open its source;
box- or lasso-select to list sources and download them."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.logic import export
from explorer.ui import common, figures, sampui, selection, source_view

MAP_KEY = "xle_map"
SHOW_COLUMNS = ("id", "name", "class", "split", "counts", "hard_hm", "hard_hs", "hard_ms", "recon_error")

run = common.page_frame("Latent map", "Each point is a source, placed by its 8 latent values. Click a point to "
                        "see its spectrum and reconstruction; drag a box or lasso to list sources.")
f, mask = common.sidebar_filters(run)
sources = run.sources


projections = {}
if "umap" in run.maps:
    projections["UMAP"] = ("umap_x", "umap_y", "UMAP 1", "UMAP 2")
if "pca" in run.maps:
    projections["PCA"] = ("pca_x", "pca_y", "PC 1", "PC 2")
projections["latent axes"] = None

c = st.columns([1.25, 0.7, 0.7, 1.35, 1.3])
common._init("xle_proj", next(iter(projections)), lambda v: v in projections)
proj = c[0].segmented_control("Layout", list(projections), key="xle_proj")
proj = proj or next(iter(projections))
if projections[proj] is None:
    zc = run.latent_columns
    common._init("xle_x", zc[0], lambda v: v in zc)
    common._init("xle_y", zc[1 % len(zc)], lambda v: v in zc)
    x = c[1].selectbox("x axis", zc, key="xle_x")
    y = c[2].selectbox("y axis", zc, key="xle_y")
    xt, yt = x, y
else:
    x, y, xt, yt = projections[proj]
    c[1].metric("shown", f"{int(mask.sum()):,}")
    c[2].metric("selected", f"{len(st.session_state.get(common.SELECTED, [])):,}")
colour, log = common.colour_control(run, where=c[3])
DRAG = {"click": "zoom", "box": "select", "lasso": "lasso"}
common._init("xle_drag", "click", lambda v: v in DRAG)
drag = c[4].segmented_control("Mouse", list(DRAG), key="xle_drag",
                              help="click: click a point to open it (drag to zoom). box / lasso: drag to "
                                   "select sources (clicks do not open sources in these modes).")
dragmode = DRAG.get(drag or "click")

selected = st.session_state.get(common.SELECTED, [])
# The open source is not marked on the map on purpose: an unchanged figure keeps the chart's identity and lets
# Streamlit reuse the cached message, so a click does not resend (and redraw) every point.
first = st.container(key="xle_first")  # at phone width: right after the title (common.narrow_layout)
left, right = first.columns([3, 2], gap="medium")
with left:
    fig = figures.map_figure(sources, x, y, colour=colour, mask=mask, hover=common.get_hover(*common.run_key(run)),
                             selected_ids=selected, x_title=xt, y_title=yt, log_colour=log,
                             dragmode=dragmode, height=640)
    st.plotly_chart(fig, key=MAP_KEY, on_select=selection.on_select(MAP_KEY), selection_mode=("points", "box", "lasso"),
                    width="stretch", config={"displaylogo": False, "scrollZoom": True})
with right:
    row = common.current_source_row(run)
    if row is None:
        st.markdown("#### Click a point")
        st.caption("Its observed counts, the autoencoder's reconstruction and (for simulated data) the noiseless "
                   "truth appear here. Use the sidebar to filter, and the search box to find a source by name.")
        from explorer.logic.filters import search

        q = st.session_state.get("xle_f_name", "")
        if q:
            hits = search(sources, q, limit=10)
            common.selectable_table(hits[["id", "name", "class", "counts"]], key="map_search", hide=("id",))
    else:
        source_view.render_compact(run, row)

st.divider()
st.subheader(f"Selection ({len(selected):,} sources)")
if not selected:
    st.caption("Choose “box” or “lasso” under Mouse, then drag on the map to list sources here. The selection "
               "stays when you change the colouring or the filters; the table can be downloaded.")
else:
    rows = sources.index[sources["id"].isin(selected)]
    table = sources.loc[rows, [col for col in SHOW_COLUMNS if col in sources.columns]]
    head = st.columns([1, 1, 1, 1.4, 1.8, 2])
    stem = f"{run.name}_selection_{len(table)}"
    meta = {"run": run.name, "simulated": bool(run.simulated)}
    for i, fmt in enumerate(export.FORMATS):
        full = sources.loc[rows].drop(columns=["row"])
        head[i].download_button(f"{fmt}", data=lambda fmt=fmt, full=full: export.to_bytes(full, fmt, meta=meta),
                                file_name=export.filename(stem, fmt), mime=export.mime(fmt), on_click="ignore",
                                icon=":material/download:", key=f"dl_{fmt}")
    with head[3]:
        sampui.send_table_button(sources.loc[rows].drop(columns=["row"]), name=stem, meta=meta, key="samp_sel")
    if head[4].button("Clear selection", icon=":material/close:"):
        st.session_state[common.SELECTED] = []
        st.rerun()
    if run.simulated:
        head[5].caption("Downloads carry a `simulated` column and header flag: these counts are simulated.")
    common.selectable_table(table, key="sel_table", height=min(420, 38 + 35 * len(table)))
