"""Repeated cross-validation with fixed, shared folds and corrected intervals (docs/design.md, "Measures").

- ``repeated_folds``: ``n_repeats`` x ``n_splits`` stratified folds, fixed by a seed and shared by every feature
  set of a comparison. Rows of one source (the same ``groups`` value, e.g. the catalog's ``name`` when
  ``build-demo --n`` draws a source several times) always land in the same fold: ``RepeatedStratifiedKFold`` when
  every group is one row, else ``StratifiedGroupKFold`` reshuffled with seed + repeat.
- ``corrected_interval``: mean and 95% interval of per-fold scores or per-fold paired differences, with the
  Nadeau & Bengio (2003) corrected variance for resampled cross-validation, as used by Bouckaert & Frank (2004)
  for repeated k-fold ("corrected repeated k-fold cv test"): var = (1/J + n_test/n_train) s^2 over the J = r k
  fold values, and Student's t with J - 1 degrees of freedom. The naive 1/J variance ignores that folds share
  training rows and gives intervals far too narrow; the correction widens them.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold, StratifiedGroupKFold

from core.errors import ConfigError

Folds = list[tuple[np.ndarray, np.ndarray]]
N_SPLITS = 5
N_REPEATS = 5


def _n_splits(y: np.ndarray, groups: np.ndarray | None, n_splits: int) -> int:
    labels, counts = np.unique(y, return_counts=True)
    if len(labels) < 2:
        raise ConfigError("classification needs at least two classes among the labelled rows")
    if groups is not None:  # a class can be split over at most as many folds as it has sources
        counts = np.array([len(np.unique(groups[y == c])) for c in labels])
    k = int(min(n_splits, counts.min()))
    if k < 2:
        raise ConfigError(f"the rarest class has {counts.min()} source(s); stratified folds need at least 2")
    return k


def repeated_folds(y: np.ndarray, groups: np.ndarray | None = None, n_splits: int = N_SPLITS,
                   n_repeats: int = N_REPEATS, seed: int = 0) -> Folds:
    """Fixed (train, test) index pairs: n_repeats x k stratified folds (k = n_splits, fewer for rare classes)."""
    y = np.asarray(y)
    if groups is not None:
        groups = np.asarray(groups)
        if len(np.unique(groups)) == len(groups):
            groups = None  # one row per source: plain stratified folds are exactly grouped ones
    k = _n_splits(y, groups, n_splits)
    if groups is None:
        cv = RepeatedStratifiedKFold(n_splits=k, n_repeats=n_repeats, random_state=seed)
        return list(cv.split(np.zeros(len(y)), y))
    out: Folds = []
    for r in range(n_repeats):
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed + r)
        out += list(cv.split(np.zeros(len(y)), y, groups))
    return out


def repeated_kfold(n: int, groups: np.ndarray | None = None, n_splits: int = N_SPLITS, n_repeats: int = N_REPEATS,
                   seed: int = 0) -> Folds:
    """Unstratified repeated folds for regression, rows of one group kept together."""
    if n < 2 * n_splits:
        raise ConfigError(f"{n} rows are too few for {n_splits}-fold cross-validation")
    if groups is None or len(np.unique(groups)) == n:
        return list(RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed).split(np.zeros(n)))
    uniq, inv = np.unique(np.asarray(groups), return_inverse=True)
    out: Folds = []
    for g_train, g_test in RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats,
                                         random_state=seed).split(np.zeros(len(uniq))):
        test = np.isin(inv, g_test)
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def n_repeats_of(folds: Folds, n: int) -> int:
    """How many full passes over the rows the folds make (each repeat tests every row once)."""
    return max(1, int(round(sum(len(te) for _, te in folds) / max(n, 1))))


def corrected_interval(values: np.ndarray, folds: Folds, level: float = 0.95) -> dict[str, Any]:
    """Mean, std and the corrected ``level`` interval of per-fold values (scores or paired differences)."""
    v = np.asarray(values, dtype=np.float64)
    j = len(v)
    if j != len(folds):
        raise ConfigError(f"{j} fold values for {len(folds)} folds")
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if j > 1 else 0.0
    ratio = float(np.mean([len(te) / max(len(tr), 1) for tr, te in folds]))
    se = float(np.sqrt((1.0 / j + ratio) * std ** 2))
    half = float(stats.t.ppf(0.5 + level / 2, max(j - 1, 1)) * se)
    return {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half, "n_folds": j,
            "method": "Nadeau-Bengio corrected resampled t (repeated k-fold)"}


def paired_difference(a: np.ndarray, b: np.ndarray, folds: Folds, level: float = 0.95) -> dict[str, Any]:
    """a - b per fold (the same folds for both), with its corrected interval; ``significant`` when it excludes 0."""
    out = corrected_interval(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), folds, level)
    out["significant"] = bool(out["ci_low"] > 0 or out["ci_high"] < 0)
    return out
