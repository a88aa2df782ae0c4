"""Pairwise view: every pair of latent axes, coloured like the map."""
from __future__ import annotations

import streamlit as st

from explorer.ui import common, figures

run = common.page_frame("Pairwise latent axes", "Scatter matrix of the latent axes (lower triangle), coloured and "
                        "filtered like the map. Drag a box in any panel to highlight those sources in all panels.")
f, mask = common.sidebar_filters(run)
colour, log = common.colour_control(run)
c = st.columns([2, 2, 3])
n_shown = int(mask.sum())
common._init("xle_pairs_max", min(5000, max(n_shown, 100)))
limit = c[0].number_input("Points drawn at most", 100, 200_000, step=100, key="xle_pairs_max",
                          help="A random subset keeps the matrix responsive; the full set is used when smaller.")
axes = c[1].multiselect("Axes", run.latent_columns, default=run.latent_columns, key="xle_pairs_axes")
c[2].caption(f"{n_shown:,} sources pass the filters; drawing {min(n_shown, int(limit)):,}.")
if len(axes) < 2:
    st.warning("Pick at least two axes.")
    st.stop()
fig = figures.splom_figure(run.sources, axes, colour=colour, mask=mask, max_points=int(limit), log_colour=log,
                           height=max(640, 150 * len(axes)))
st.plotly_chart(fig, key="xle_splom", width="stretch", config={"displaylogo": False})
