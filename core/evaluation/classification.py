"""Classification protocols on any feature set (``core.evaluation.features``): the paper's clustering protocol
and a supervised protocol.

Fast enough for live use (a few seconds for ~3,000 labelled sources). Every feature set of a comparison is
scored on the same labels, the same fixed folds and the same classifier.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.data.classes import CLASSES, COMPACT
from core.errors import ConfigError

TASKS = ("eight_class", "agn_vs_compact")
CLASSIFIERS = ("random_forest", "logistic")


def task_labels(catalog: pd.DataFrame, task: str | Sequence[str], compact: Sequence[str] = COMPACT) -> np.ndarray:
    """Label of each row for a task, "" where the row takes no part (unlabelled, or a class outside the task).

    ``task``: "eight_class" (the 8 classes), "agn_vs_compact" ("AGN" against "compact" = ``compact`` classes),
    or an explicit list of class names (each its own label).
    """
    cls = catalog["class"].fillna("").astype(str).to_numpy()
    if isinstance(task, str):
        if task == "eight_class":
            return np.where(np.isin(cls, CLASSES), cls, "")
        if task == "agn_vs_compact":
            return np.where(cls == "AGN", "AGN", np.where(np.isin(cls, list(compact)), "compact", ""))
        raise ConfigError(f"task={task!r}: must be one of {list(TASKS)} or a list of class names")
    wanted = [str(t) for t in task]
    if len(wanted) < 2:
        raise ConfigError(f"task={task!r}: a list of classes needs at least two")
    return np.where(np.isin(cls, wanted), cls, "")


def stratified_folds(y: np.ndarray, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed stratified folds (train, test index pairs); fewer splits when the rarest class is smaller."""
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise ConfigError("classification needs at least two classes among the labelled rows")
    k = int(min(n_splits, counts.min()))
    if k < 2:
        raise ConfigError(f"the rarest class has {counts.min()} member(s); stratified folds need at least 2")
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def clean_features(X: np.ndarray) -> np.ndarray:
    """Float copy with NaN/inf replaced by the column median (0 when a column has no finite value)."""
    X = np.array(X, dtype=np.float64, copy=True)
    if X.ndim == 1:
        X = X[:, None]
    bad = ~np.isfinite(X)
    if bad.any():
        med = np.array([np.median(col[np.isfinite(col)]) if np.isfinite(col).any() else 0.0 for col in X.T])
        X[bad] = np.take(med, np.nonzero(bad)[1])
    return X


def _scores(y: np.ndarray, pred: np.ndarray, classes: np.ndarray) -> dict[str, Any]:
    cm = confusion_matrix(y, pred, labels=classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.diag(cm) / cm.sum(axis=1)
    return {"balanced_accuracy": float(balanced_accuracy_score(y, pred)), "classes": classes.tolist(),
            "confusion": cm.tolist(), "per_class_recall": dict(zip(classes.tolist(), recall.tolist()))}


def kmeans_majority(X: np.ndarray, y: np.ndarray, n_clusters: int | None = None, seed: int = 0,
                    n_init: int = 10) -> dict[str, Any]:
    """The paper's protocol: standardise, k-means (k = number of classes), each cluster -> its majority label."""
    X = StandardScaler().fit_transform(clean_features(X))
    y = np.asarray(y)
    classes = np.unique(y)
    k = n_clusters or len(classes)
    cluster = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(X)
    pred = np.empty_like(y)
    for c in range(k):
        members = cluster == c
        if members.any():
            labels, counts = np.unique(y[members], return_counts=True)
            pred[members] = labels[np.argmax(counts)]
    out = _scores(y, pred, classes)
    out["n"] = int(len(y))
    return out


def make_classifier(name: str, seed: int = 0) -> Any:
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=100, min_samples_leaf=2, class_weight="balanced",
                                      random_state=seed, n_jobs=1)
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    raise ConfigError(f"classifier={name!r}: must be one of {list(CLASSIFIERS)}")


def supervised_cv(X: np.ndarray, y: np.ndarray, classifier: str = "random_forest",
                  folds: list[tuple[np.ndarray, np.ndarray]] | None = None, seed: int = 0) -> dict[str, Any]:
    """Cross-validated balanced accuracy (mean and std over folds), pooled confusion matrix, per-class recall."""
    X = clean_features(X)
    y = np.asarray(y)
    folds = folds if folds is not None else stratified_folds(y, seed=seed)
    classes = np.unique(y)
    pred = np.empty_like(y)
    fold_scores = []
    for train_idx, test_idx in folds:
        model = make_classifier(classifier, seed).fit(X[train_idx], y[train_idx])
        pred[test_idx] = model.predict(X[test_idx])
        fold_scores.append(balanced_accuracy_score(y[test_idx], pred[test_idx]))
    out = _scores(y, pred, classes)
    out.update(balanced_accuracy=float(np.mean(fold_scores)), balanced_accuracy_std=float(np.std(fold_scores)),
               fold_scores=[float(s) for s in fold_scores], classifier=classifier, n=int(len(y)),
               n_folds=len(folds))
    return out
