"""A tiny real run for the explorer tests: a simulated dataset folder on the default energy grid (written with
core.data.dataset.write_dataset, marked simulated) trained for a few epochs with the real core.run.train and encoded with
the real core.run.encode. Built once per test session and shared by test_explore*, test_app* and the browser test."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import write_dataset
from core.spectra.energy import EnergyGrid
from core.spectra.hardness import hardness

CLASSES = ("AGN", "CV", "HM-STAR", "LM-STAR", "HMXB", "LMXB", "NS", "YSO")


def csc_like_name(ra: float, dec: float) -> str:
    h, m = divmod(ra / 15.0 * 60.0, 60.0)
    s = (m - int(m)) * 60.0
    sign = "+" if dec >= 0 else "-"
    dd, dm = divmod(abs(dec) * 60.0, 60.0)
    ds = (dm - int(dm)) * 60.0
    return f"2CXO J{int(h):02d}{int(m):02d}{s:04.1f}{sign}{int(dd):02d}{int(dm):02d}{int(ds):02d}"


def make_explore_dataset(out: Path, n: int = 400, seed: int = 0) -> Path:
    """Absorbed power laws (accretors) and thermal-like spectra (stars), each class with its own typical
    parameters so that the latent space has something to find; names look like CSC names."""
    rng = np.random.default_rng(seed)
    edges = EnergyGrid().edges
    e = 0.5 * (edges[1:] + edges[:-1])
    cls_idx = np.arange(n) % (len(CLASSES) + 2)  # two extra slots: unlabelled
    labelled = cls_idx < len(CLASSES)
    gamma = np.where(cls_idx % 2 == 0, 1.3, 2.4) + rng.normal(0, 0.3, n)
    kt = np.where(cls_idx % 3 == 0, 0.6, 3.0) * rng.uniform(0.7, 1.3, n)
    nh = 10 ** (rng.uniform(-1.5, 0.8, n) + 0.2 * (cls_idx % 4))
    thermal = np.isin(cls_idx, [2, 3, 7])  # HM-STAR, LM-STAR, YSO
    powerlaw = e[None] ** -gamma[:, None]
    hot = np.exp(-e[None] / kt[:, None]) / np.sqrt(e[None])
    flux = np.where(thermal[:, None], hot, powerlaw) * np.exp(-nh[:, None] * 0.3 * e[None] ** -2.6)
    flux *= np.exp(-0.5 * ((e[None] - 1.5) / 1.0) ** 2) + 0.2  # a response-like bump
    shape = flux / flux.sum(axis=1, keepdims=True)
    level = np.round(10 ** rng.uniform(1.5, 3.2, n))
    background = np.full(shape.shape, 0.01, dtype=np.float32)
    truth = (shape * level[:, None]).astype(np.float32)
    counts = rng.poisson(truth + background).astype(np.float32)
    hr = hardness(counts, edges, background)
    ra, dec = rng.uniform(0, 360, n), rng.uniform(-80, 80, n)
    names = [csc_like_name(a, d) for a, d in zip(ra, dec)]
    cls = np.where(labelled, np.array(CLASSES + ("", ""))[cls_idx], "")
    split = np.array(["train"] * 7 + ["val", "val", "test", "test", "test"])[np.arange(n) % 12]
    rng.shuffle(split)
    catalog = pd.DataFrame({
        "id": [f"tiny{i:05d}" for i in range(n)], "name": names, "class": cls, "split": split,
        "counts": counts.sum(axis=1).astype(int),
        "hard_hm": hr["hard_hm"], "hard_hs": hr["hard_hs"], "hard_ms": hr["hard_ms"],
        "catalog_hard_hm": hr["hard_hm"] + rng.normal(0, 0.05, n), "catalog_hard_hs": hr["hard_hs"],
        "catalog_hard_ms": hr["hard_ms"], "exposure": rng.uniform(5e3, 5e4, n), "simulated": True,
        "ra": ra, "dec": dec, "labelled": labelled, "significance": rng.uniform(5, 50, n),
        "true_model": np.where(thermal, "thermal", "powerlaw"), "true_nh": nh,
        "true_gamma": np.where(thermal, np.nan, gamma), "true_kt": np.where(thermal, kt, np.nan),
        "P_intra": rng.random(n), "P_inter": rng.random(n),
    })
    info = {"simulated": True, "n": n, "seed": seed, "grid": EnergyGrid().to_dict(),
            "command": "tests/explore_support.py (synthetic spectra for the explorer tests)"}
    return write_dataset(Path(out), catalog, counts, background, edges, info, truth=truth)


def make_explore_run(root: Path, n: int = 400, epochs: int = 2) -> tuple[Path, Path]:
    """(dataset folder, run folder) under ``root``, built with the project's real train, encode and evaluate;
    reused when already there."""
    from core.run.encode import encode_run
    from core.model.config import ModelConfig
    from core.run.train import TrainConfig, train

    root = Path(root)
    data, run = root / "data", root / "runs" / "tiny"
    if (run / "metrics.json").is_file():
        return data, run
    if not data.is_dir():
        make_explore_dataset(data, n=n)
    mc = ModelConfig(n_bins=len(EnergyGrid().edges) - 1, bins_per_token=8, d_model=16, n_heads=2, n_layers=1,
                     decoder_hidden=32, n_energy_freqs=4)
    tc = TrainConfig(max_epochs=epochs, batch_size=64, device="cpu", warmup_epochs=0)
    train(data, run, model_config=mc, train_config=tc, progress=False, overwrite=True)
    encode_run(run, data)
    from core.run.evaluate import evaluate_run

    evaluate_run(run, data, n_repeats=2, n_trees=10)  # metrics.json, for the run page (cheap settings: a fixture)
    return data, run


def session_run(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny run, built once per pytest session (shared by every explorer test module)."""
    return make_explore_run(tmp_path_factory.getbasetemp() / "xle_explore")
