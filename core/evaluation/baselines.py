"""Baselines for the reconstruction measures: PCA with k components and the mean spectrum.

Both are estimators (``fit`` returns self, fitted state ends in ``_``) working on net shapes
(core.evaluation.measures.net_shapes), and both return source shapes in the autoencoder's form: rows summing to 1.
A PCA reconstruction can go negative; as docs/design.md says it is clipped at a small positive floor and
renormalised (per bin, against a mean shape value of 1/B ~ 0.009 on the default grid). The floor matters for KL,
so it is a design choice, and it is made on the validation split only (``choose_floor``): ``evaluate`` picks,
among ``FLOOR_CANDIDATES``, the floor kindest to PCA-8 for each measure (lowest KL to the truth, and lowest
deviance, on the validation split; a high floor helps the KL and hurts the deviance) and records the choice in
metrics.json (``reconstruction.pca8.floor`` for the KL, ``reconstruction.pca8.deviance_floor``,
``reconstruction.pca8.floor_choice``); the test split never sees the choice.
``SHAPE_FLOOR`` is the default where no validation split exists (an earlier version chose 3e-4 on the test
split; docs/autoencoder.md gives the validation-split figures on the current demo).
"""
from __future__ import annotations

import numpy as np

from core.evaluation.measures import deviance_per_bin, kl_to_truth, net_shapes, predicted_counts

SHAPE_FLOOR = 3e-4
FLOOR_CANDIDATES = (1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3)


def clip_renormalise(x: np.ndarray, floor: float = SHAPE_FLOOR) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=np.float64), floor)
    return x / x.sum(axis=1, keepdims=True)


class PCAShapes:
    """PCA of net shapes; ``transform`` gives the k coefficients (the "pca8" features), ``reconstruct`` shapes."""

    def __init__(self, n_components: int = 8, floor: float = SHAPE_FLOOR) -> None:
        self.n_components = n_components
        self.floor = floor

    def fit(self, shapes: np.ndarray) -> "PCAShapes":
        x = np.asarray(shapes, dtype=np.float64)
        if x.ndim != 2 or len(x) < self.n_components:
            raise ValueError(f"PCA needs at least {self.n_components} spectra of shape (N, B); got {x.shape}")
        self.mean_ = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - self.mean_, full_matrices=False)
        self.components_ = vt[: self.n_components]  # (k, B)
        return self

    def transform(self, shapes: np.ndarray) -> np.ndarray:
        return (np.asarray(shapes, dtype=np.float64) - self.mean_) @ self.components_.T  # (N, k)

    def reconstruct(self, shapes: np.ndarray, floor: float | None = None) -> np.ndarray:
        return clip_renormalise(self.transform(shapes) @ self.components_ + self.mean_,
                                self.floor if floor is None else floor)


def choose_floor(pca: PCAShapes, counts: np.ndarray, background: np.ndarray, weights: np.ndarray | None = None,
                 truth: np.ndarray | None = None, floors: tuple[float, ...] = FLOOR_CANDIDATES
                 ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """The floors kindest to PCA on validation spectra, one per measure: {"deviance_per_bin": floor,
    "kl_to_truth": floor (only with ``truth``, noiseless source counts)}, and the table
    {floor: {"deviance_per_bin", "kl_to_truth"}} they were chosen from."""
    counts, background = np.asarray(counts, dtype=np.float64), np.asarray(background, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    rec = pca.transform(net_shapes(counts, background, w)) @ pca.components_ + pca.mean_
    table: dict[str, dict[str, float]] = {}
    for f in floors:
        shapes = clip_renormalise(rec, f)
        m = {"deviance_per_bin": float(np.mean(deviance_per_bin(counts, predicted_counts(shapes, counts, background,
                                                                                          w), w)))}
        if truth is not None:
            m["kl_to_truth"] = float(np.nanmean(kl_to_truth(truth, shapes)))
        table[f"{f:g}"] = m
    keys = ("deviance_per_bin", "kl_to_truth") if truth is not None else ("deviance_per_bin",)
    best = {k: float(min(floors, key=lambda f: table[f"{f:g}"][k])) for k in keys}
    return best, table


class MeanShape:
    """The mean net shape of the training spectra, the same prediction for every spectrum."""

    def __init__(self, floor: float = SHAPE_FLOOR) -> None:
        self.floor = floor

    def fit(self, shapes: np.ndarray) -> "MeanShape":
        self.mean_ = clip_renormalise(np.asarray(shapes, dtype=np.float64).mean(axis=0, keepdims=True), self.floor)[0]
        return self

    def reconstruct(self, shapes: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.mean_, np.shape(shapes)).copy()
