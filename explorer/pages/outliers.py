"""Outliers: sources the autoencoder reconstructs worst, and sources alone in the latent space."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer.logic.neighbours import outlier_ranking
from explorer.ui import common

run = common.page_frame("Outliers", "Click a row to open the source's spectrum and reconstruction.")
f, mask = common.sidebar_filters(run)
key = common.run_key(run)
n = st.slider("Sources listed", 10, 200, 25, 5, key="xle_out_n")
tabs = st.tabs(["Worst reconstructed", "Lowest latent density"])


def hist(values: np.ndarray, title: str) -> go.Figure:
    v = values[np.isfinite(values)]
    fig = go.Figure(go.Histogram(x=v, nbinsx=60, marker_color="#4477AA"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), title=dict(text=title, font=dict(size=13)),
                      yaxis_title="sources")
    return fig


with tabs[0]:
    err = run.sources["recon_error"].to_numpy(dtype=float)
    if not np.isfinite(err).any():
        st.info("This run has no reconstruction errors (recon_error.npy); run `python -m core encode` again.")
    else:
        st.caption("Poisson deviance per bin between the observed counts and the reconstruction (about 1 for a "
                   "fit at the noise level; higher means the autoencoder cannot reproduce the spectrum).")
        table = outlier_ranking(run.sources, err, mask=mask, n=n, highest=True, score_name="deviance/bin")
        common.selectable_table(table, key="out_err", go_to_page=True, hide=("id",))
        st.plotly_chart(hist(err[mask], "distribution over the filtered sources"), key="out_err_hist")
with tabs[1]:
    dens = common.get_log_density(*key)
    st.caption("k-nearest-neighbour density in the latent space (log, up to a constant; k = 10): the lowest are "
               "spectra unlike any other in the run.")
    table = outlier_ranking(run.sources, dens, mask=mask, n=n, highest=False, score_name="log density")
    common.selectable_table(table, key="out_dens", go_to_page=True, hide=("id",))
    st.plotly_chart(hist(dens[mask], "distribution over the filtered sources"), key="out_dens_hist")
