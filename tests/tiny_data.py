"""A tiny simulated dataset folder, built in seconds, for the model/train/encode/evaluate tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scipy.stats import norm

from core.data.dataset import write_dataset
from core.data.responses import ResponseSet
from core.spectra.response_grid import PhotonGrid
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


def tiny_responses(edges: np.ndarray, n: int, rng: np.random.Generator) -> ResponseSet:
    """Two made-up responses on the model's photon grid: Gaussian redistribution (0.1 keV), and two ARFs, the
    second with its soft area cut (like a contaminated ACIS-S); rows alternate between them."""
    pe = PhotonGrid().edges
    e = np.sqrt(pe[1:] * pe[:-1])
    cdf = norm.cdf((edges[None, :] - e[:, None]) / 0.1)  # (E, B + 1)
    rmf = np.diff(cdf, axis=1)
    arf = np.stack([300 * np.exp(-0.5 * ((e - 1.5) / 1.5) ** 2) + 20,
                    (300 * np.exp(-0.5 * ((e - 1.5) / 1.5) ** 2) + 20) * np.exp(-0.6 / e ** 2)])
    return ResponseSet(pe, np.asarray(edges, float), arf.astype(np.float32), np.stack([rmf, rmf]).astype(np.float32),
                       np.array(["tiny A", "tiny B"]), (np.arange(n) % 2).astype(np.int32))


def make_tiny_dataset(out: Path, n: int = 240, n_bins: int = 32, seed: int = 0, with_weights: bool = False,
                      with_responses: bool = False) -> Path:
    """``with_responses``: the spectra are absorbed power laws folded through two responses (``tiny_responses``),
    stored in responses.npz; otherwise response-less shapes on the grid (a folder from before responses)."""
    rng = np.random.default_rng(seed)
    shape, edges, gamma, nh = tiny_shapes(n, n_bins, rng)
    responses = tiny_responses(edges, n, rng) if with_responses else None
    if responses is not None:
        pe = responses.photon_edges
        e = np.sqrt(pe[1:] * pe[:-1])
        photons = e[None, :] ** -gamma[:, None] * np.exp(-nh[:, None] * 0.5 * e[None, :] ** -2.5) * np.diff(pe)
        folded = np.einsum("ne,neb->nb", photons, responses.matrix()[responses.index])
        shape = folded / folded.sum(axis=1, keepdims=True)
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
    return write_dataset(Path(out), catalog, counts, background, edges, info, truth=truth, weights=weights,
                         responses=responses)
