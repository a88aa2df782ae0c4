"""Baselines for the reconstruction measures: PCA with k components and the mean spectrum.

Both are estimators (``fit`` returns self, fitted state ends in ``_``) working on net shapes
(core.evaluation.measures.net_shapes), and both return source shapes in the autoencoder's form: rows summing to 1.
A PCA reconstruction can go negative; as docs/design.md says it is clipped at a small positive floor and
renormalised (``SHAPE_FLOOR``, per bin, against a mean shape value of 1/B ~ 0.009 on the default grid). The floor
matters for KL: on the demo's test split PCA-8's KL to the truth is 0.151 / 0.126 / 0.101 / 0.089 / 0.086 for
floors 1e-6 / 1e-5 / 1e-4 / 3e-4 / 1e-3, and its deviance 1.371 / 1.354 / 1.329 / 1.328 / 1.427; 3e-4 is the
floor kindest to the baseline on both measures together, so the comparison does not flatter the autoencoder.
"""
from __future__ import annotations

import numpy as np

SHAPE_FLOOR = 3e-4


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

    def reconstruct(self, shapes: np.ndarray) -> np.ndarray:
        return clip_renormalise(self.transform(shapes) @ self.components_ + self.mean_, self.floor)


class MeanShape:
    """The mean net shape of the training spectra, the same prediction for every spectrum."""

    def __init__(self, floor: float = SHAPE_FLOOR) -> None:
        self.floor = floor

    def fit(self, shapes: np.ndarray) -> "MeanShape":
        self.mean_ = clip_renormalise(np.asarray(shapes, dtype=np.float64).mean(axis=0, keepdims=True), self.floor)[0]
        return self

    def reconstruct(self, shapes: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.mean_, np.shape(shapes)).copy()
