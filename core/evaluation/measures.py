"""Reconstruction measures (docs/design.md, "Measures"), in numpy, on (N, B) arrays.

- ``predicted_counts``: the source counts shape (for the instrument-aware model: the decoded photon spectrum folded
  through the spectrum's own response) times the source counts S, plus the background: mu_i = S s_i / sum_good(s)
  + b_i, with S >= 0 fitted by maximum likelihood given the background (``core.model.likelihood.ml_source_counts``,
  the training loss's normalisation), for every model scored (autoencoder, PCA-8, mean, truth) alike.
- ``deviance_per_bin``: Poisson deviance 2 sum_i [c_i log(c_i / mu_i) - (c_i - mu_i)] over good bins, divided
  by the number of good bins; one value per spectrum (the measure is its mean over the test split).
- ``kl_to_truth``: KL(true shape || decoded shape), true shape = noiseless source counts normalised to sum 1.
"""
from __future__ import annotations

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
