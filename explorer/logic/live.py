"""Classifier metrics on the sources currently shown (the map's filters), for the live page.

The protocols are ``core.evaluation.classification``'s (the paper's k-means with majority labels, and its
supervised cross-validation over repeated folds, core.evaluation.repeated), the feature sets
``core.evaluation.features``'; this module picks the rows and runs every feature set on the same labels and the
same folds (grouped by source name), so they compare side by side.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.evaluation import classification as classify
from core.evaluation.features import COMPARED, combine
from core.evaluation.repeated import repeated_folds

# repeats of the 5-fold cross-validation: 5x5 for the fast logistic regression, 3x5 for the random forest
REPEATS = {"logistic": 5, "random_forest": 3}
METHODS = {"kmeans": "k-means + majority label (paper)", "random_forest": "random forest (3x5-fold CV)",
           "logistic": "logistic regression (5x5-fold CV)"}
BASELINES = tuple(f for f in COMPARED if f != "latent")
KMEANS_CAPTION = ("k-means + majority label: when one class dominates (AGN are ~86% of AGN vs compact), every "
                  "cluster's majority can be that class and the score is exactly 0.5 (chance) for any features. "
                  "That is the paper's protocol, not the features; `python -m core evaluate` also reports "
                  "Hungarian-matched clusters and k = 2x, 4x the number of classes.")


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
    groups = catalog["name"].astype(str).to_numpy()[rows] if "name" in catalog.columns else None
    folds = None if method == "kmeans" else repeated_folds(y, groups, n_repeats=REPEATS[method], seed=seed)
    results = {}
    for s in sets:
        X = combine(features, s)[rows]
        if method == "kmeans":
            results["+".join(s)] = classify.kmeans_majority(X, y, seed=seed)
        else:
            results["+".join(s)] = classify.supervised_cv(X, y, classifier=method, folds=folds, seed=seed)
    return {"n": int(len(rows)), "classes": [str(c) for c in np.unique(y)], "dropped": dropped, "results": results}


def summary_table(out: dict[str, Any]) -> pd.DataFrame:
    """One row per feature set: balanced accuracy (mean over repeated folds), its spread over the folds and the
    corrected 95% interval (core.evaluation.repeated) when there are folds."""
    recs = []
    for name, r in out["results"].items():
        ci = r.get("ci95", (np.nan, np.nan))
        recs.append({"features": name, "balanced accuracy": r["balanced_accuracy"],
                     "± std over folds": r.get("balanced_accuracy_std", np.nan), "95% low": ci[0], "95% high": ci[1],
                     "folds": r.get("n_folds", 0), "n": r.get("n", out["n"])})
    return pd.DataFrame(recs)


def recall_table(out: dict[str, Any]) -> pd.DataFrame:
    """Per-class recall (rows: classes, columns: feature sets)."""
    return pd.DataFrame({name: r["per_class_recall"] for name, r in out["results"].items()})
