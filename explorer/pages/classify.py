"""Classifier metrics, live: how well the latent space (or any feature set) separates the source classes,
on the sources currently passing the filters, next to the baselines."""
from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.data.classes import CLASSES, COMPACT
from core.evaluation.features import LABELS
from core.errors import ConfigError
from explorer.logic import live
from explorer.ui import common, figures

run = common.page_frame("Classifier metrics", "Balanced accuracy (mean recall over classes) of the chosen "
                        "features and method, recomputed for the filtered sources, beside the hardness-ratio "
                        "and PCA-8 baselines on the same labels and folds.")
f, mask = common.sidebar_filters(run)
key = common.run_key(run)


@st.cache_data(show_spinner="Building feature sets…", max_entries=4)
def get_features(run_dir: str, mtime: float) -> dict[str, np.ndarray]:
    """The feature sets the classifier page compares, in catalog order, built as `python -m core evaluate`
    builds them (``core.evaluation.features``)."""
    from core.evaluation import features

    run = common.get_run(run_dir, mtime)
    return features.build(run.dataset, run.latents)


@st.cache_data(show_spinner=False, max_entries=256)
def scores(run_dir: str, mtime: float, task, features: tuple[str, ...], method: str, mask_bits: bytes, n: int) -> dict:
    """One feature set's scores, cached on its own so that changing the chosen features never recomputes the
    baselines; every set gets the same labels and the same folds (they depend only on the rows and the seed)."""
    mask = np.unpackbits(np.frombuffer(mask_bits, dtype=np.uint8), count=n).astype(bool)
    feats = get_features(run_dir, mtime)
    return live.evaluate(feats, common.get_run(run_dir, mtime).sources, task, [features], method, mask=mask)


@st.fragment
def panel() -> None:
    feats = get_features(*key)
    c = st.columns([1.2, 1.6, 1.2])
    task_kind = c[0].radio("Task", ["8 classes", "AGN vs compact objects", "choose classes"], key="xle_cls_task",
                           help=f"compact objects: {', '.join(COMPACT)}")
    task = {"8 classes": "eight_class", "AGN vs compact objects": "agn_vs_compact"}.get(task_kind)
    if task is None:
        present = [k for k in CLASSES if k in set(run.sources["class"])]
        chosen = c[0].multiselect("Classes", present, default=present[:3], key="xle_cls_subset")
        if len(chosen) < 2:
            st.warning("Choose at least two classes.")
            return
        task = tuple(chosen)
    available = [k for k in LABELS if k in feats]
    main = c[1].multiselect("Features (several are combined)", available, default=["latent"],
                            format_func=LABELS.get, key="xle_cls_feats")
    if not main:
        st.warning("Choose at least one feature set.")
        return
    common._init("xle_cls_method", "logistic", lambda v: v in live.METHODS)
    method = c[2].radio("Method", list(live.METHODS), format_func=live.METHODS.get, key="xle_cls_method")
    sets = [tuple(main)] + [(b,) for b in live.BASELINES if b in feats and (b,) != tuple(main)]
    bits = np.packbits(mask).tobytes()
    t0 = time.perf_counter()
    out = None
    try:
        with st.spinner("Cross-validating…"):
            for s in sets:
                one = scores(*key, task, tuple(s), method, bits, len(mask))
                if out is None:
                    out = {k: v for k, v in one.items() if k != "results"} | {"results": {}}
                out["results"].update(one["results"])
    except ConfigError as exc:
        st.warning(str(exc))
        return
    dt = time.perf_counter() - t0
    chosen_name = "+".join(main)
    res = out["results"][chosen_name]
    m = st.columns(len(out["results"]) + 1)
    for i, (name, r) in enumerate(out["results"].items()):
        label = " + ".join(LABELS.get(p, p) for p in name.split("+"))
        std = r.get("balanced_accuracy_std")
        delta = None if name == chosen_name else f"{r['balanced_accuracy'] - res['balanced_accuracy']:+.3f} vs chosen"
        m[i].metric(label, f"{r['balanced_accuracy']:.3f}" + (f" ± {std:.3f}" if std is not None else ""),
                    delta=delta, delta_color="off" if delta is None else "inverse")
    m[-1].metric("chance", f"{1 / len(out['classes']):.3f}", help="balanced accuracy of guessing")
    st.caption("k-means (the paper's protocol) names each cluster by its most common class; when every cluster is "
               "mostly AGN, all sources are called AGN and a 2-class task scores exactly 0.500, chance: a result "
               "(the clusters do not follow the classes), not a bug. See Help, section 5.")
    st.caption(f"{out['n']:,} labelled sources among the filtered ones · classes {', '.join(out['classes'])}"
               + (f" · left out (fewer than 2 sources): {out['dropped']}" if out["dropped"] else "")
               + f" · {'k-means, no folds' if method == 'kmeans' else str(res.get('n_folds', 5)) + ' fixed repeated folds, the same for every feature set; ± is the std over folds, the table gives the corrected 95% interval'}"
               + f" · computed in {dt:.1f} s")
    if method == "kmeans":
        st.caption(live.KMEANS_CAPTION)
    left, right = st.columns([1.1, 1])
    with left:
        st.plotly_chart(figures.confusion_figure(np.array(res["confusion"]), res["classes"],
                                                 title=f"confusion matrix: {' + '.join(main)}"), key="cls_cm")
    with right:
        rec = live.recall_table(out)
        fig = go.Figure()
        palette = ["#D62728", "#4477AA", "#228833", "#CCBB44"]
        for i, col in enumerate(rec.columns):
            fig.add_trace(go.Bar(x=rec.index, y=rec[col], name=col, marker_color=palette[i % len(palette)]))
        fig.update_layout(barmode="group", height=420, margin=dict(l=10, r=10, t=40, b=10), yaxis_range=[0, 1],
                          title=dict(text="recall per class", font=dict(size=14)), yaxis_title="recall",
                          legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
        st.plotly_chart(fig, key="cls_recall")
    st.dataframe(live.summary_table(out), hide_index=True, width="stretch")


panel()
