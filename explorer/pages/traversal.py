"""Latent traversal: move the 8 latent values and watch the decoded spectrum change."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core.run.encode import decode_latents
from explorer.logic.unfolded import traversal_counts
from explorer.ui import common, figures

run = common.page_frame("Latent traversal", "Each slider is one latent axis. The decoder turns the 8 numbers "
                        "into a spectral shape; start from a source and move one axis at a time to see what it "
                        "encodes.")
key = common.run_key(run)
model = common.get_model(*key)
lat = np.asarray(run.latents, dtype=np.float64)
lo, hi = np.percentile(lat, 0.5, axis=0), np.percentile(lat, 99.5, axis=0)
pad = 0.25 * (hi - lo) + 1e-6
lo, hi = lo - pad, hi + pad
row = common.current_source_row(run)
start = lat[row] if row is not None else np.median(lat, axis=0)
start_id = str(run.sources.iloc[row]["id"]) if row is not None else "__median__"
SL = [f"xle_trav_z{i}" for i in range(run.latent_dim)]


def reset() -> None:
    for i, k in enumerate(SL):
        st.session_state[k] = float(np.clip(start[i], lo[i], hi[i]))


if st.session_state.get("xle_trav_from") != start_id or any(k not in st.session_state for k in SL):
    st.session_state["xle_trav_from"] = start_id
    reset()


@st.fragment
def panel() -> None:
    left, right = st.columns([1, 2.4])
    with left:
        if row is not None:
            r = run.sources.iloc[row]
            st.markdown(f"Starting from **{r['name']}** ({r['class'] or 'unlabelled'})")
        else:
            st.markdown("Starting from the median of the run (open a source on the map to start from it).")
        st.button("Reset to start", on_click=reset, icon=":material/restart_alt:")
        z = np.array([st.slider(f"z{i}", float(lo[i]), float(hi[i]), step=float((hi[i] - lo[i]) / 200), key=k,
                                format="%.3f") for i, k in enumerate(SL)], dtype=np.float32)
    with right:
        if row is not None:  # through the source's own response, with its background, as on the source page
            now, begin = traversal_counts(model, run.dataset, row, z, start.astype(np.float32))
            observed, unit = np.asarray(run.dataset.spectra[row], dtype=float), "counts per bin"
            how = ("Both curves are decoded through the starting source's own response and observed with its "
                   "background; the slider curve keeps the start's fitted source counts.")
        else:  # no source: the model's reference response, as fractions of the counts
            now, begin = decode_latents(model, np.stack([z, start.astype(np.float32)]))
            observed, unit = None, "fraction of counts per bin"
            how = "Both curves are decoded through the model's reference response, as fractions of the counts."
        st.plotly_chart(figures.traversal_figure(run.dataset.energy_edges, now, start=begin, observed=observed,
                                                 y_title=unit, height=520), key="trav_fig")
        moved = np.flatnonzero(np.abs(z - start) > 1e-6)
        st.caption("Moved: " + (", ".join(f"z{i} {start[i]:+.2f} → {z[i]:+.2f}" for i in moved) if len(moved)
                                else "nothing yet") + ". " + how)


panel()
