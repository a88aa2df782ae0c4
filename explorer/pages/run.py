"""Run: what this run is, how it was trained, how it measures against the baselines."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import streamlit as st

from core.run.folder import RunFolder
from explorer.logic.runs import differences_table, metrics_table, reconstruction_table
from explorer.ui import common

run = common.page_frame("Run", "The run folder behind every page: configuration, training history, metrics.")
st.markdown(f"**Run folder** `{run.run_dir}` · **dataset** `{run.dataset.path}` · {len(run.sources):,} spectra · "
            f"{run.dataset.n_bins} energy bins · latent dimension {run.latent_dim}")
st.caption("Steps done: " + ", ".join(k for k, v in RunFolder(run.run_dir).state().items() if v and k != "exists"))
if run.history is not None and len(run.history):
    h = run.history
    fig = go.Figure()
    for col, colour in (("train_loss", "#4477AA"), ("val_loss", "#D62728")):
        if col in h:
            fig.add_trace(go.Scatter(x=h["epoch"], y=h[col], mode="lines+markers", name=col,
                                     line=dict(color=colour)))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="epoch", yaxis_title="loss",
                      title=dict(text="training history", font=dict(size=14)))
    st.plotly_chart(fig, key="run_hist")
left, right = st.columns(2)
with left:
    st.markdown("**Metrics** (`python -m core evaluate`, test split)")
    if run.metrics:
        rec = reconstruction_table(run.metrics)
        if len(rec):
            st.caption("Reconstruction: Poisson deviance per bin against the counts, KL to the noiseless truth")
            st.dataframe(rec, hide_index=True, width="stretch")
        cls = metrics_table(run.metrics)
        if len(cls):
            st.caption("Balanced accuracy by task, protocol and features; [low, high]: corrected 95% interval over "
                       "the repeated folds (the same folds for every feature set)")
            st.dataframe(cls, hide_index=True, width="stretch")
        diffs = differences_table(run.metrics)
        if len(diffs):
            st.caption("Paired differences over the same folds: a lead whose interval covers 0 is not a lead")
            st.dataframe(diffs, hide_index=True, width="stretch")
        with st.expander("metrics.json"):
            st.json(run.metrics, expanded=1)
    else:
        st.caption(f"No metrics.json yet: `python -m core evaluate --run {run.run_dir}`.")
with right:
    st.markdown("**Configuration**")
    st.json(run.config, expanded=1)
    st.markdown("**Dataset** (`dataset.json`)")
    st.code(json.dumps(run.dataset.info, indent=1, default=str)[:4000], language="json")
