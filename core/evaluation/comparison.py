"""The comparisons ``evaluate`` reports, each on fixed repeated folds shared by every feature set
(docs/design.md, "Measures"; intervals: core.evaluation.repeated).

- ``classification_measures``: per task, the clustering protocols (the paper's k-means with majority labels,
  Hungarian-matched clusters, k = 2x and 4x the number of classes) and the supervised protocol (random forest,
  logistic regression beside it) over 5x5 repeated stratified folds grouped by source, with paired differences
  latent - hardness, latent - PCA-8 (and latent - oracle) and their corrected 95% intervals.
- ``instrument_measures``: instrument leakage, the balanced accuracy of predicting which response a spectrum went
  through (the ``response`` column) from each feature set; chance is 1 / number of responses.
- ``regression_measures``: cross-validated R² of log N_H, Gamma, kT and log kT, one value per repeat (mean and
  spread).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score
from threadpoolctl import threadpool_limits

from core.errors import ConfigError
from core.evaluation.classification import (
    KMEANS_MULTIPLES, KMEANS_NOTE, N_TREES, TASKS, clean_features, kmeans_hungarian, kmeans_majority, supervised_cv,
    task_labels,
)
from core.evaluation.repeated import N_REPEATS, N_SPLITS, paired_difference, repeated_folds, repeated_kfold

PAIRS = (("latent", "hardness"), ("latent", "pca8"), ("latent", "oracle"))
# Leakage is measured for the features that could carry the instrument (the catalog's own ratios and the oracle's
# hardness part are the same for every response by construction, or already in the list).
INSTRUMENT_FEATURES = ("latent", "hardness", "pca8", "hardness_dataset")


def groups_of(catalog: pd.DataFrame, rows: np.ndarray) -> np.ndarray | None:
    """Source identity of each row (the ``name`` column): rows of one source share a fold."""
    return catalog["name"].astype(str).to_numpy()[rows] if "name" in catalog.columns else None


def paired_differences(results: Mapping[str, Mapping[str, Any]], folds, pairs=PAIRS,
                       key: str | None = None) -> dict[str, Any]:
    """``a-b`` -> corrected interval of the per-fold differences, for each pair present in ``results``
    (``key``: take the fold scores from ``results[name][key]`` instead of ``results[name]``)."""
    out = {}
    for a, b in pairs:
        if a in results and b in results:
            ra = results[a] if key is None else results[a][key]
            rb = results[b] if key is None else results[b][key]
            out[f"{a}-{b}"] = paired_difference(ra["fold_scores"], rb["fold_scores"], folds)
    return out


def _lean(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("balanced_accuracy", "balanced_accuracy_std", "ci95", "fold_scores", "confusion",
                              "per_class_recall")}


def classification_measures(features: Mapping[str, np.ndarray], catalog: pd.DataFrame, rows: np.ndarray,
                            seed: int = 0, n_splits: int = N_SPLITS, n_repeats: int = N_REPEATS,
                            n_trees: int = N_TREES) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for task in TASKS:
        labels = task_labels(catalog, task)[rows]
        sel = labels != ""
        y = labels[sel]
        if len(np.unique(y)) < 2:
            continue
        groups = groups_of(catalog, rows[sel])
        try:
            folds = repeated_folds(y, groups, n_splits, n_repeats, seed)
        except ConfigError:
            continue  # too few sources of a class for folds
        res: dict[str, Any] = {"n": int(len(y)), "classes": np.unique(y).tolist(), "n_folds": len(folds),
                               "n_repeats": n_repeats, "kmeans": {}, "kmeans_hungarian": {},
                               **{f"kmeans_{m}k": {} for m in KMEANS_MULTIPLES}, "supervised": {}}
        degenerate = False
        for name, X in features.items():
            Xs = np.asarray(X)[rows][sel]
            km = kmeans_majority(Xs, y, seed=seed)
            degenerate |= len(set(np.array(km["confusion"]).sum(axis=0).nonzero()[0])) == 1
            res["kmeans"][name] = km
            res["kmeans_hungarian"][name] = kmeans_hungarian(Xs, y, seed=seed)
            for m in KMEANS_MULTIPLES:
                if m * len(res["classes"]) <= len(y):  # k-means needs at least as many rows as clusters
                    res[f"kmeans_{m}k"][name] = kmeans_majority(Xs, y, n_clusters=m * len(res["classes"]),
                                                                seed=seed)
            sup = supervised_cv(Xs, y, "random_forest", folds, seed, n_trees)
            sup["logistic"] = _lean(supervised_cv(Xs, y, "logistic", folds, seed))
            res["supervised"][name] = sup
        res["paired_differences"] = {"random_forest": paired_differences(res["supervised"], folds),
                                     "logistic": paired_differences(res["supervised"], folds, key="logistic")}
        if degenerate:
            res["kmeans_note"] = KMEANS_NOTE
        few = [f"k = {m}x ({m * len(res['classes'])} clusters)" for m in KMEANS_MULTIPLES
               if m * len(res["classes"]) > len(y)]
        if few:
            res["kmeans_skipped"] = f"k-means {', '.join(few)} not run: more clusters than the {len(y)} labelled rows"
        out[task] = res
    return out


def instrument_measures(features: Mapping[str, np.ndarray], catalog: pd.DataFrame, rows: np.ndarray,
                        seed: int = 0, column: str = "response", n_splits: int = N_SPLITS,
                        n_repeats: int = N_REPEATS, n_trees: int = N_TREES) -> dict[str, Any]:
    """Balanced accuracy of predicting ``column`` (which response) from each feature set ({} without it)."""
    if column not in catalog.columns:
        return {}
    y = catalog[column].fillna("").astype(str).to_numpy()[rows]
    if len(np.unique(y)) < 2:
        return {}
    try:
        folds = repeated_folds(y, groups_of(catalog, rows), n_splits, n_repeats, seed)
    except ConfigError:
        return {}
    by = {name: supervised_cv(np.asarray(X)[rows], y, "random_forest", folds, seed, n_trees)
          for name, X in features.items() if name in INSTRUMENT_FEATURES}
    lean = {name: {k: r[k] for k in ("balanced_accuracy", "balanced_accuracy_std", "ci95", "fold_scores")}
            for name, r in by.items()}
    out: dict[str, Any] = {"column": column, "n": int(len(y)), "responses": np.unique(y).tolist(),
                           "chance": 1.0 / len(np.unique(y)), "classifier": "random_forest",
                           "n_folds": len(folds), "n_repeats": n_repeats, "by_features": lean,
                           "paired_differences": paired_differences(lean, folds,
                                                                    (("latent", "hardness"), ("latent", "pca8")))}
    if "latent" in lean:
        out["response_balanced_accuracy"] = lean["latent"]["balanced_accuracy"]
        out["response_ci95"] = lean["latent"]["ci95"]
    return out


def regression_targets(catalog: pd.DataFrame) -> dict[str, np.ndarray]:
    """Physical parameters (NaN where not applicable): log N_H, Gamma (where the model has a power law), kT
    (where it has a thermal component)."""
    out = {}
    if "true_nh" in catalog.columns:
        nh = catalog["true_nh"].to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["log_nh"] = np.where(nh > 0, np.log10(nh), np.nan)
    for col, name in (("true_gamma", "gamma"), ("true_kt", "kt")):
        if col in catalog.columns:
            out[name] = catalog[col].to_numpy(dtype=np.float64)
    if "kt" in out:  # kT spans 0.1-60 keV: R² in kT is set by the few hottest plasmas, in log kT by all
        with np.errstate(divide="ignore", invalid="ignore"):
            out["log_kt"] = np.where(out["kt"] > 0, np.log10(out["kt"]), np.nan)
    return out


def cv_r2(X: np.ndarray, y: np.ndarray, folds, n_repeats: int, seed: int = 0, n_trees: int = N_TREES) -> list[float]:
    """R² of pooled out-of-fold predictions, one value per repeat (each repeat predicts every row once)."""
    X = clean_features(X)
    per = len(folds) // n_repeats
    scores = []
    for r in range(n_repeats):
        pred = np.empty(len(y))
        for train_idx, test_idx in folds[r * per:(r + 1) * per]:
            model = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=3, random_state=seed, n_jobs=1)
            with threadpool_limits(1):
                pred[test_idx] = model.fit(X[train_idx], y[train_idx]).predict(X[test_idx])
        scores.append(float(r2_score(y, pred)))
    return scores


def regression_measures(features: Mapping[str, np.ndarray], catalog: pd.DataFrame, rows: np.ndarray, seed: int = 0,
                        names: Sequence[str] = ("latent", "hardness"), n_splits: int = N_SPLITS,
                        n_repeats: int = N_REPEATS, n_trees: int = N_TREES) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target, values in regression_targets(catalog).items():
        v = values[rows]
        ok = np.isfinite(v)
        if ok.sum() < 20:
            continue
        folds = repeated_kfold(int(ok.sum()), groups_of(catalog, rows[ok]), n_splits, n_repeats, seed)
        res = {}
        for name in names:
            if name in features:
                r2 = cv_r2(np.asarray(features[name])[rows][ok], v[ok], folds, n_repeats, seed, n_trees)
                res[name] = {"r2": float(np.mean(r2)), "r2_std": float(np.std(r2, ddof=1)) if len(r2) > 1 else 0.0,
                             "r2_repeats": r2, "n": int(ok.sum())}
        out[target] = res
    return out
