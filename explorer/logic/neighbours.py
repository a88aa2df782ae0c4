"""Nearest neighbours, density and outlier rankings in the latent space (Euclidean, as the model sees it)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors


class LatentIndex:
    """Exact k-nearest-neighbour search over the latents (N, D); ``fit`` returns self (estimator style)."""

    def __init__(self, metric: str = "euclidean") -> None:
        self.metric = metric

    def fit(self, latents: np.ndarray) -> "LatentIndex":
        latents = np.asarray(latents, dtype=np.float32)
        if latents.ndim != 2 or len(latents) == 0:
            raise ValueError(f"latents must be a non-empty (N, D) array, got shape {latents.shape}")
        self.latents_ = latents
        self.nn_ = NearestNeighbors(metric=self.metric).fit(latents)
        return self

    def neighbours_of_row(self, row: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest other sources of array row ``row``: (rows, distances), nearest first."""
        k_eff = min(k + 1, len(self.latents_))
        dist, idx = self.nn_.kneighbors(self.latents_[row:row + 1], n_neighbors=k_eff)
        keep = idx[0] != row
        return idx[0][keep][:k], dist[0][keep][:k]

    def neighbours_of_vector(self, z: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest sources of a latent vector (D,) that is not in the index (an upload)."""
        z = np.asarray(z, dtype=np.float32).reshape(1, -1)
        dist, idx = self.nn_.kneighbors(z, n_neighbors=min(k, len(self.latents_)))
        return idx[0], dist[0]

    def log_density(self, k: int = 10) -> np.ndarray:
        """k-NN log density estimate up to a constant: -D log r_k, with r_k the distance to the k-th other
        source. Low values are sources in empty regions of the latent space."""
        n, d = self.latents_.shape
        k_eff = min(k + 1, n)
        if k_eff < 2:
            return np.zeros(n)
        dist, _ = self.nn_.kneighbors(self.latents_, n_neighbors=k_eff)
        r = np.maximum(dist[:, -1], 1e-12)
        return -d * np.log(r)


def neighbour_table(sources: pd.DataFrame, rows: np.ndarray, dist: np.ndarray,
                    columns: tuple[str, ...] = ("id", "name", "class", "counts", "hard_hm", "hard_hs", "hard_ms",
                                                "recon_error")) -> pd.DataFrame:
    cols = [c for c in columns if c in sources.columns]
    out = sources.iloc[rows][cols].copy()
    out.insert(0, "distance", dist)
    out.insert(0, "rank", np.arange(1, len(rows) + 1))
    return out.reset_index(drop=True)


def outlier_ranking(sources: pd.DataFrame, score: np.ndarray, *, mask: np.ndarray | None = None, n: int = 50,
                    highest: bool = True, score_name: str = "score",
                    columns: tuple[str, ...] = ("id", "name", "class", "split", "counts", "hard_hm", "hard_hs",
                                                "hard_ms")) -> pd.DataFrame:
    """The ``n`` sources with the highest (or lowest) ``score`` among ``mask``; NaN scores never rank."""
    score = np.asarray(score, dtype=float)
    ok = np.isfinite(score) if mask is None else (np.isfinite(score) & mask)
    rows = np.flatnonzero(ok)
    order = np.argsort(-score[rows] if highest else score[rows], kind="stable")[:n]
    rows = rows[order]
    cols = [c for c in columns if c in sources.columns]
    out = sources.iloc[rows][cols].copy()
    out.insert(0, score_name, score[rows])
    out.insert(0, "rank", np.arange(1, len(rows) + 1))
    return out.reset_index(drop=True)


def count_aware_score(deviance: np.ndarray, counts: np.ndarray, *, per_bin: int = 50,
                      max_bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Deviance per bin judged against sources of similar counts: (robust z, percentile within the count bin).

    The deviance of a reconstruction grows with the counts (more counts show more detail the model misses), so
    a raw ranking lists the brightest sources. Sources are split into quantile bins of total counts (at least
    ``per_bin`` each); within a bin, z = (log d − median log d) / (1.4826 · MAD), a robust z-score of log
    deviance, and the percentile is the rank in the bin. NaN where the deviance is not finite or positive.
    """
    d = np.asarray(deviance, dtype=float)
    c = np.asarray(counts, dtype=float)
    ok = np.isfinite(d) & (d > 0) & np.isfinite(c)
    z, pct = np.full(len(d), np.nan), np.full(len(d), np.nan)
    rows = np.flatnonzero(ok)
    if len(rows) == 0:
        return z, pct
    n_bins = int(np.clip(len(rows) // per_bin, 1, max_bins))
    order = rows[np.argsort(c[rows], kind="stable")]
    for part in np.array_split(order, n_bins):
        ld = np.log(d[part])
        med = np.median(ld)
        mad = 1.4826 * np.median(np.abs(ld - med))
        z[part] = (ld - med) / (mad if mad > 0 else 1.0)
        ranks = np.argsort(np.argsort(ld, kind="stable"), kind="stable")
        pct[part] = 100.0 * (ranks + 0.5) / len(part)
    return z, pct
