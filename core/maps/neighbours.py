"""Nearest fitted latents of new latents, and UMAP's weights over them: what placing a latent on a map needs.

Small reference sets are searched exactly (brute force, chunked); large query x reference products use an
approximate nearest-neighbour index (pynndescent, the library umap-learn itself builds on), so placing a
million latents on a map fitted to landmarks takes a minute, not an hour.
"""
from __future__ import annotations

import numpy as np

EXACT_LIMIT = 2e8  # query x reference pairs searched by brute force; above this pynndescent is used


def knn_weights(dist: np.ndarray, n_iter: int = 64) -> np.ndarray:
    """UMAP's fuzzy membership of each row's k neighbours (N, k), from sorted distances, normalised to sum 1:
    w_j = exp(-(d_j - rho) / sigma), rho the nearest distance, sigma such that sum_j w_j = log2 k."""
    k = dist.shape[1]
    rho = dist[:, :1]
    d = np.maximum(dist - rho, 0.0)
    target = np.log2(k)
    lo, hi = np.zeros(len(d)), np.full(len(d), np.inf)
    sigma = np.ones(len(d))
    for _ in range(n_iter):  # bisection on sigma, all rows at once
        s = np.exp(-d / sigma[:, None]).sum(axis=1)
        too_big = s > target
        hi = np.where(too_big, sigma, hi)
        lo = np.where(too_big, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2, 0.5 * (lo + hi))
    w = np.exp(-d / np.maximum(sigma[:, None], 1e-12))
    return w / w.sum(axis=1, keepdims=True)


def exact_neighbours(query: np.ndarray, ref: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) (m, k) of the k nearest rows of ``ref`` for each query row, nearest first."""
    ref_sq = (ref ** 2).sum(axis=1)
    d2 = np.maximum((query ** 2).sum(axis=1)[:, None] - 2 * query @ ref.T + ref_sq[None, :], 0.0)  # (m, R)
    nn = np.argpartition(d2, k - 1, axis=1)[:, :k]
    dist = np.sqrt(np.take_along_axis(d2, nn, axis=1))
    order = np.argsort(dist, axis=1)
    return np.take_along_axis(nn, order, axis=1), np.take_along_axis(dist, order, axis=1)


class NeighbourSearch:
    """k nearest reference rows, exact for small problems and pynndescent's index for large ones."""

    def __init__(self, reference: np.ndarray, seed: int = 0) -> None:
        self.reference = np.asarray(reference, dtype=np.float64)
        self.seed = seed
        self._index = None

    def query(self, q: np.ndarray, k: int, n_total: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n_total``: how many queries the caller will send in all (decides exact or approximate once)."""
        n_total = len(q) if n_total is None else n_total
        if n_total * len(self.reference) <= EXACT_LIMIT:
            return exact_neighbours(np.asarray(q, dtype=np.float64), self.reference, k)
        if self._index is None:
            from pynndescent import NNDescent  # numba: compiled on first use

            self._index = NNDescent(self.reference.astype(np.float32), n_neighbors=max(30, 2 * k),
                                    random_state=self.seed, n_jobs=1)
            self._index.prepare()
        nn, dist = self._index.query(np.asarray(q, dtype=np.float32), k=k)
        return nn, dist.astype(np.float64)
