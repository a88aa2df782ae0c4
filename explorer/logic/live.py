"""Classifier metrics on the sources currently shown (the map's filters), for the live page.

The protocols are ``core.evaluation.classification``'s (the paper's k-means with majority labels, and its
supervised cross-validation), the feature sets ``core.evaluation.features``'; this module picks the rows and
runs every feature set on the same labels and the same folds, so they compare side by side.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.evaluation import classification as classify
from core.evaluation.features import COMPARED, combine

METHODS = {"kmeans": "k-means + majority label (paper)", "random_forest": "random forest (5-fold CV)",
           "logistic": "logistic regression (5-fold CV)"}
BASELINES = tuple(f for f in COMPARED if f != "latent")


def task_rows(catalog: pd.DataFrame, task: str | Sequence[str], mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, labels) of the sources that take part in ``task`` among ``mask``."""
    y = classify.task_labels(catalog, task)
    ok = y != ""
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(ok)
    return rows, y[rows]


def evaluate(features: Mapping[str, np.ndarray], catalog: pd.DataFrame, task: str | Sequence[str],
             sets: Sequence[Sequence[str]], method: str, mask: np.ndarray | None = None, seed: int = 0,
             min_per_class: int = 2) -> dict[str, Any]:
    """Scores of each feature set in ``sets`` (each a list of feature names, combined) for ``task`` on the rows
    in ``mask``. Classes with fewer than ``min_per_class`` sources among those rows are left out (and listed).

    Returns {"n", "classes", "dropped", "results": {"+".join(set): core.evaluation.classification result dict}}.
    """
    if method not in METHODS:
        raise ConfigError(f"method={method!r}: must be one of {list(METHODS)}")
    rows, y = task_rows(catalog, task, mask)
    labels, counts = np.unique(y, return_counts=True)
    dropped = {str(c): int(n) for c, n in zip(labels, counts) if n < min_per_class}
    if dropped:
        keep = ~np.isin(y, list(dropped))
        rows, y = rows[keep], y[keep]
    if len(np.unique(y)) < 2:
        raise ConfigError(f"only {len(np.unique(y))} class(es) with at least {min_per_class} sources among the "
                          f"{len(rows)} filtered, labelled sources: widen the filters")
    folds = None if method == "kmeans" else classify.stratified_folds(y, seed=seed)
    results = {}
    for s in sets:
        X = combine(features, s)[rows]
        if method == "kmeans":
            results["+".join(s)] = classify.kmeans_majority(X, y, seed=seed)
        else:
            results["+".join(s)] = classify.supervised_cv(X, y, classifier=method, folds=folds, seed=seed)
    return {"n": int(len(rows)), "classes": [str(c) for c in np.unique(y)], "dropped": dropped, "results": results}


def summary_table(out: dict[str, Any]) -> pd.DataFrame:
    """One row per feature set: balanced accuracy (and its spread over folds when there are folds)."""
    recs = []
    for name, r in out["results"].items():
        recs.append({"features": name, "balanced accuracy": r["balanced_accuracy"],
                     "± std over folds": r.get("balanced_accuracy_std", np.nan), "n": r.get("n", out["n"])})
    return pd.DataFrame(recs)


def recall_table(out: dict[str, Any]) -> pd.DataFrame:
    """Per-class recall (rows: classes, columns: feature sets)."""
    return pd.DataFrame({name: r["per_class_recall"] for name, r in out["results"].items()})
