"""How faithful a 2-D map is to the latent space: trustworthiness (Venna & Kaski 2001; scikit-learn's), on a
random sample so that it stays affordable for a million points (the same sample for every map compared)."""
from __future__ import annotations

import numpy as np
from sklearn.manifold import trustworthiness


def map_trustworthiness(latents: np.ndarray, embedding: np.ndarray, n_neighbors: int = 10, sample: int = 5000,
                        seed: int = 0) -> float | None:
    """Trustworthiness in [0, 1] (1: every map neighbour is a latent neighbour) of ``embedding`` (N, 2).

    A map of fewer than 2 * n_neighbors + 1 points is scored with fewer neighbours (scikit-learn needs
    k < N / 2); one of fewer than 3 points has no score (None)."""
    n = len(latents)
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample, n), replace=False))
    k = min(n_neighbors, (len(rows) - 1) // 2)
    if k < 1:
        return None
    return float(trustworthiness(np.asarray(latents)[rows], np.asarray(embedding)[rows], n_neighbors=k))
