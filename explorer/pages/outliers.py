"""Outliers: sources the autoencoder reconstructs worst, and sources alone in the latent space."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.logic.neighbours import count_aware_score, outlier_ranking
from explorer.ui import common, figures, look

run = common.page_frame("Outliers", "Click a row to open the source's spectrum and reconstruction.")
f, mask = common.sidebar_filters(run)
key = common.run_key(run)
n = st.slider("Sources listed", 10, 200, 25, 5, key="xle_out_n")
tabs = st.tabs(["Worst reconstructed", "Lowest latent density"])


@st.cache_data(show_spinner=False, max_entries=4)
def count_aware(run_dir: str, mtime: float) -> tuple[np.ndarray, np.ndarray]:
    s = common.get_run(run_dir, mtime).sources
    return count_aware_score(s["recon_error"].to_numpy(dtype=float), s["counts"].to_numpy(dtype=float))



with tabs[0]:
    err = run.sources["recon_error"].to_numpy(dtype=float)
    if not np.isfinite(err).any():
        st.info("This run has no reconstruction errors (recon_error.npy); run `python -m core encode` again.")
    else:
        RANK = {"aware": "against sources of similar counts", "raw": "raw deviance per bin"}
        how = st.radio("Rank by", list(RANK), format_func=RANK.get, key="xle_out_rank", horizontal=True,
                       help="Deviance grows with the counts, so the raw ranking lists the brightest sources. The "
                            "count-aware score compares each source with sources of similar total counts.")
        z, pct = count_aware(*key)
        st.caption("Poisson deviance per bin between the observed counts and the reconstruction (about 1 for a "
                   "fit at the noise level). Count-aware: the robust z-score of log deviance within the source's "
                   "count bin (sources sorted by counts, split into bins of ≥ 50); 3 means three robust σ worse "
                   "than sources as bright as it.")
        score = z if how == "aware" else err
        table = outlier_ranking(run.sources, score, mask=mask, n=n, highest=True,
                                score_name="z (similar counts)" if how == "aware" else "deviance/bin")
        rows = run.sources.set_index("id").loc[table["id"], "row"].to_numpy()
        if how == "aware":
            table.insert(2, "deviance/bin", err[rows])
            table.insert(3, "percentile at its counts", np.round(pct[rows], 1))
        else:
            table.insert(2, "z (similar counts)", np.round(z[rows], 2))
        common.selectable_table(table, key=f"out_err_{how}", go_to_page=True, hide=("id",))
        st.caption(f"Median total counts of the {len(table)} listed: **{int(table['counts'].median()):,}** "
                   f"(all filtered sources: {int(run.sources['counts'][mask].median()):,}).")
        st.plotly_chart(figures.histogram_figure(err[mask], "distribution over the filtered sources",
                                                 "deviance per bin", log_x=True, dark=look.dark_theme()),
                        key="out_err_hist", theme=None)
with tabs[1]:
    dens = common.get_log_density(*key)
    st.caption("k-nearest-neighbour density in the latent space (log, up to a constant; k = 10): the lowest are "
               "spectra unlike any other in the run.")
    table = outlier_ranking(run.sources, dens, mask=mask, n=n, highest=False, score_name="log density")
    common.selectable_table(table, key="out_dens", go_to_page=True, hide=("id",))
    st.plotly_chart(figures.histogram_figure(dens[mask], "distribution over the filtered sources",
                                             "log density", dark=look.dark_theme()), key="out_dens_hist", theme=None)
