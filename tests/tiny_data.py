"""A tiny simulated dataset folder, built in seconds, for the model/train/encode/evaluate tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import write_dataset
from core.spectra.hardness import hardness

CLASSES = ("AGN", "CV", "YSO", "NS")


def tiny_shapes(n: int, n_bins: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Absorbed power laws: shape (n, B), energy edges (B + 1,), gamma (n,), nh (n,)."""
    edges = np.linspace(0.5, 7.0, n_bins + 1)
    e = 0.5 * (edges[1:] + edges[:-1])
    gamma = rng.uniform(0.5, 3.0, n)
    nh = 10 ** rng.uniform(-1.5, 0.7, n)
    flux = e[None, :] ** -gamma[:, None] * np.exp(-nh[:, None] * 0.5 * e[None, :] ** -2.5)
    flux *= np.exp(-0.5 * ((e[None, :] - 1.5) / 0.8) ** 2) + 0.3  # a response-like bump
    return flux / flux.sum(axis=1, keepdims=True), edges, gamma, nh


def make_tiny_dataset(out: Path, n: int = 240, n_bins: int = 32, seed: int = 0, with_weights: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    shape, edges, gamma, nh = tiny_shapes(n, n_bins, rng)
    level = np.round(10 ** rng.uniform(1.3, 3.0, n))
    truth = (shape * level[:, None]).astype(np.float32)
    background = np.full((n, n_bins), 0.02, dtype=np.float32)
    counts = rng.poisson(truth + background).astype(np.float32)
    weights = None
    if with_weights:
        weights = np.ones((n, n_bins), dtype=np.float32)
        weights[:, 3] = 0
    hr = hardness(counts, edges)
    cls = np.array(CLASSES)[np.digitize(gamma, [1.1, 1.7, 2.4])]
    cls[rng.random(n) < 0.25] = ""
    split = np.array(["train", "train", "train", "val", "test"])[np.arange(n) % 5]
    catalog = pd.DataFrame({
        "id": [f"src{i:04d}" for i in range(n)], "name": [f"tiny {i}" for i in range(n)], "class": cls,
        "split": split, "counts": counts.sum(axis=1).astype(int),
        "hard_hm": hr["hard_hm"], "hard_hs": hr["hard_hs"], "hard_ms": hr["hard_ms"],
        "catalog_hard_hm": hr["hard_hm"] + rng.normal(0, 0.05, n), "catalog_hard_hs": np.nan,
        "catalog_hard_ms": hr["hard_ms"], "exposure": 1e4, "simulated": True,
        "true_model": "powerlaw", "true_nh": nh, "true_gamma": gamma, "true_kt": np.nan,
        "P_intra": rng.random(n), "P_inter": rng.random(n),
    })
    info = {"simulated": True, "n": n, "seed": seed, "command": "tests/tiny_data.py"}
    return write_dataset(Path(out), catalog, counts, background, edges, info, truth=truth, weights=weights)
