"""Reconstruction measures (docs/design.md, "Measures"), in numpy, on (N, B) arrays.

- ``predicted_counts``: the source counts shape (for the instrument-aware model: the decoded photon spectrum folded
  through the spectrum's own response) times the source counts S, plus the background: mu_i = S s_i / sum_good(s)
  + b_i, with S >= 0 fitted by maximum likelihood given the background (``core.model.likelihood.ml_source_counts``,
  the training loss's normalisation), for every model scored (autoencoder, PCA-8, mean, truth) alike.
- ``deviance_per_bin``: Poisson deviance 2 sum_i [c_i log(c_i / mu_i) - (c_i - mu_i)] over good bins, divided
  by the number of good bins; one value per spectrum (the measure is its mean over the test split).
- ``expected_deviance_per_bin``: what ``deviance_per_bin`` would average if the counts were drawn from mu itself
  (the reference on real spectra, which have no truth; well below 1 for faint ones).
- ``kl_to_truth``: KL(true shape || decoded shape), true shape = noiseless source counts normalised to sum 1.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from core.model.likelihood import ml_source_counts



def good_weights(weights: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.ones_like(like, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)


def predicted_counts(shape: np.ndarray, counts: np.ndarray, background: np.ndarray,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """Expected counts (N, B) from source shapes (N, B, rows sum to 1); zero in bad bins."""
    w = good_weights(weights, counts)
    shape = np.asarray(shape, dtype=np.float64)
    bkg = np.asarray(background, dtype=np.float64) * w
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))  # noqa: E731
    s = ml_source_counts(t(shape), t(counts), t(background), t(w)).numpy()
    mass = np.maximum((shape * w).sum(axis=1, keepdims=True), 1e-300)
    return (s * shape / mass) * w + bkg


def deviance_per_bin(counts: np.ndarray, mu: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Poisson deviance per good bin of each spectrum, (N,)."""
    w = good_weights(weights, counts)
    c = np.asarray(counts, dtype=np.float64)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(c > 0, c * np.log(np.where(c > 0, c, 1.0) / mu), 0.0) - (c - mu)
    return 2.0 * (term * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1.0)


@lru_cache(maxsize=1)
def _expected_deviance_table() -> tuple[np.ndarray, np.ndarray]:
    """E[deviance] of one Poisson bin at its own mean mu, 2 (E[y log y] - mu log mu), summed exactly over y on a
    log grid of mu in [1e-8, 60] (y < 240 holds all but ~1e-40 of the mass there)."""
    from scipy.stats import poisson

    mu = np.logspace(-8, np.log10(60.0), 3000)
    y = np.arange(240.0)
    ylogy = np.where(y > 0, y * np.log(np.maximum(y, 1.0)), 0.0)
    return np.log(mu), 2.0 * (poisson.pmf(y[None, :], mu[:, None]) @ ylogy - mu * np.log(mu))


def expected_deviance_per_bin(mu: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The deviance per good bin each spectrum would show, on average, if its counts were Poisson draws of ``mu``
    itself (N,): the reference for ``deviance_per_bin`` with no truth to compare to. It is not 1: about 0.1 at
    mu = 0.01 counts a bin, 1.15 at mu = 1, 1 + 1/(6 mu) above a few counts; faint spectra sit well below 1 even
    under a perfect model. Exact sums up to mu = 60 (interpolated in log mu), the expansion 1 + 1/(6 mu) +
    1/(6 mu^2) above (within 1e-6 there)."""
    log_grid, table = _expected_deviance_table()
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1e-300)
    w = good_weights(weights, mu)
    small = np.interp(np.log(np.clip(mu, 1e-8, 60.0)), log_grid, table)
    large = 1.0 + 1.0 / (6.0 * mu) + 1.0 / (6.0 * mu * mu)
    per_bin = np.where(mu <= 60.0, np.where(mu < 1e-8, 0.0, small), large)
    return (per_bin * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1.0)


def kl_to_truth(truth: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """KL(truth / sum(truth) || shape) per spectrum, (N,); NaN for a spectrum whose truth is all zero."""
    t = np.asarray(truth, dtype=np.float64)
    total = t.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = t / total
        q = np.maximum(np.asarray(shape, dtype=np.float64), 1e-300)
        kl = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / q), 0.0).sum(axis=1)
    return np.where(total[:, 0] > 0, kl, np.nan)


def net_shapes(counts: np.ndarray, background: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Background-subtracted counts over good bins, normalised by the observed counts (N, B); may be negative.

    The input of the PCA and mean-spectrum baselines: the same counts and background the autoencoder sees.
    """
    w = good_weights(weights, counts)
    c = np.asarray(counts, dtype=np.float64) * w
    net = c - np.asarray(background, dtype=np.float64) * w
    return net / np.maximum(c.sum(axis=1, keepdims=True), 1.0)
