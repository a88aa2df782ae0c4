"""Map: the latent space laid out in 2-D (UMAP, PCA or two latent axes). Click a point to open its source;
box- or lasso-select to list sources and download them."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer.component import map_drawn, scatter_map, selected_rows
from explorer.logic import export
from explorer.logic.filters import Filters
from explorer.ui import common, figures, look, sampui, source_view, url

MAP_KEY = "xle_map"
MAP_VIEW, SELECTION_VIEW = "xle_map_view", "xle_selection_view"  # the two fragments
TABLE_MAX = 20_000
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


def open_clicked(source_id: str) -> None:
    st.session_state[common.SOURCE] = source_id


def select_listed(ids: list[str]) -> None:
    """A box or lasso: the map has drawn it already, so only the table below reruns."""
    st.session_state[common.SELECTED] = ids
    st.rerun([SELECTION_VIEW])


def clear_selection() -> None:
    st.session_state[common.SELECTED] = []
    st.rerun([MAP_VIEW, SELECTION_VIEW])


@st.cache_data(show_spinner=False, max_entries=8)
def error_histogram(run_dir: str, mtime: float, filters: Filters, dark: bool) -> go.Figure:
    """The shown sources' reconstruction errors, once per run and filter set (a recolouring reruns the map)."""
    err = common.get_run(run_dir, mtime).sources["recon_error"].to_numpy(dtype=float)
    return figures.histogram_figure(err[common.get_mask(run_dir, mtime, filters)],
                                    "Reconstruction error of the shown sources", "deviance per bin", log_x=True,
                                    dark=dark)


@st.fragment(key=MAP_VIEW)
def map_and_source() -> None:
    """The controls, the map and the open source: a click, a recolouring or another layout reruns only this part
    of the page (at 100,000 sources a whole-page rerun took the browser ~0.2 s longer to draw)."""
    selected = st.session_state.get(common.SELECTED, [])
    common._init("xle_proj", next(iter(projections)), lambda v: v in projections)
    axes = projections[st.session_state["xle_proj"] or next(iter(projections))] is None
    # the selection's size is shown in the map itself (it changes without rerunning this fragment)
    c = st.columns([1.25, 0.7, 0.7, 1.35, 1.3] if axes else [1.25, 1.0, 1.35, 1.3])
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
    colour, log = common.colour_control(run, where=c[-2])
    MODES = ("click", "box", "lasso")
    common._init("xle_drag", "click", lambda v: v in MODES)
    drag = c[-1].segmented_control("Mouse", list(MODES), key="xle_drag",
                                  help="click: click a point to open it (drag to pan, wheel to zoom, double click "
                                       "to reset). box / lasso: drag to select sources (clicks do not open sources "
                                       "in these modes). Click a class in the legend to hide it.")

    query = st.session_state.get("xle_f_name", "")
    hits = common.get_search(*common.run_key(run), query, 1000) if query else sources.iloc[:0]
    # the search looks through every source; those the filters hide are listed, not ringed on the map
    hit_shown = mask[sources.index.get_indexer(hits.index)] if len(hits) else np.zeros(0, bool)
    first = st.container(key="xle_first")  # at phone width: right after the title (look.narrow_layout)
    left, right = first.columns([3, 2], gap="medium")
    with left:  # WebGL map: the open source ringed, search hits highlighted, only changed layers resent
        scatter_map(run, x, y, titles=(xt, yt), colour=colour, log=log, mask=mask, selected=selected,
                    focus_id=st.session_state.get(common.SOURCE),
                    hit_ids=hits["id"][hit_shown].astype(str).tolist(),
                    mode=drag or "click", key=MAP_KEY, on_click=open_clicked, on_select=select_listed, height=640)
    with right:
        row = common.current_source_row(run)
        if row is None:
            st.markdown("#### Click a point")
            st.caption("Its observed counts, the autoencoder's reconstruction and (for simulated data) the "
                       "noiseless truth appear here. Use the sidebar to filter, and the search box to find a "
                       "source by name.")
            if query:
                hidden = int((~hit_shown).sum())
                st.caption(f"{len(hits):,}{'+' if len(hits) == 1000 else ''} names or ids match “{query}”"
                           + (f"; {hidden:,} of them hidden by the filters (listed, not ringed on the map)"
                              if hidden else "") + ". The first 10:")
                listed = hits.assign(map=np.where(hit_shown, "shown", "filtered out"))
                common.selectable_table(listed.head(10)[["id", "name", "class", "counts", "map"]],
                                        key="map_search", hide=("id",))
            elif map_drawn(MAP_KEY):  # not before: the first draw of the map comes first
                # a chart here also loads Plotly's JavaScript, which the first click waited 1.8-2.4 s for
                st.plotly_chart(error_histogram(*common.run_key(run), f, look.dark_theme()), key="map_err_hist",
                                theme=None, config={"displaylogo": False})
                st.caption("About 1 is a fit at the noise level; the right tail is listed, count-aware, on the "
                           "Outliers page.")
        else:
            source_view.render_compact(run, row)
    url.write_url(run)  # the open source and the colouring in the address, as a whole-page run would


@st.fragment(key=SELECTION_VIEW)
def selection_table() -> None:
    """The sources listed by a box or lasso: reruns alone when the selection changes (the map draws it itself)."""
    selected = st.session_state.get(common.SELECTED, [])
    st.divider()
    st.subheader(f"Selection ({len(selected):,} sources)")
    if not selected:
        st.caption("Choose “box” or “lasso” under Mouse, then drag on the map to list sources here. The "
                   "selection stays when you change the colouring or the filters; the table can be downloaded.")
    else:
        rows = selected_rows(MAP_KEY, selected, run)
        # a table of 757,000 rows is a 100 MB message: the first TABLE_MAX are listed, the downloads hold them all
        # the shown columns of the first rows only (taking every column of 500,000 rows took a second per rerun)
        table = sources.iloc[rows[:TABLE_MAX], [sources.columns.get_loc(c) for c in SHOW_COLUMNS if c in sources]]
        head = st.columns([1, 1, 1, 1.4, 1.8, 2])
        stem = f"{run.name}_selection_{len(rows)}"
        meta = {"run": run.name, "simulated": bool(run.simulated)}
        for i, fmt in enumerate(export.FORMATS):
            head[i].download_button(f"{fmt}", data=lambda fmt=fmt: export.to_bytes(
                                        sources.iloc[rows].drop(columns=["row"]), fmt, meta=meta),
                                    file_name=export.filename(stem, fmt), mime=export.mime(fmt), on_click="ignore",
                                    icon=":material/download:", key=f"dl_{fmt}")
        with head[3]:
            sampui.send_table_button(lambda: sources.iloc[rows].drop(columns=["row"]), name=stem, meta=meta,
                                     key="samp_sel")
        head[4].button("Clear map selection", icon=":material/close:", on_click=clear_selection)
        if run.simulated:
            head[5].caption("Downloads carry a `simulated` column and header flag: these counts are simulated.")
        if len(rows) > TABLE_MAX:
            st.caption(f"The table lists the first {TABLE_MAX:,} of the {len(rows):,} selected sources; the "
                       "downloads hold all of them.")
        common.selectable_table(table, key="sel_table", height=min(420, 38 + 35 * len(table)),
                                rerun=[MAP_VIEW])  # a row opens its source beside the map


map_and_source()
selection_table()
