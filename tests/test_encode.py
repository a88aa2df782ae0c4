"""Encoding a run: files of docs/formats.md, and placing spectra on the saved maps without unpickling."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.run.encode import encode_run, encode_spectra
from core.run.folder import RunFolder
from core.model import ModelConfig, load_model
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset


def test_encode_run_writes_the_run_files(tmp_path):
    data = make_tiny_dataset(tmp_path / "tiny", n=120)
    run = train(data, tmp_path / "run", ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32),
                TrainConfig(max_epochs=1), progress=False)
    encode_run(run, reconstructions=True)
    z = np.load(run / "latents.npy")
    assert z.shape == (120, 8) and z.dtype == np.float32
    for name in ("map_umap.npy", "map_pca.npy"):
        assert np.load(run / name).shape == (120, 2)
    assert np.load(run / "recon_error.npy").shape == (120,)
    assert np.load(run / "reconstructions.npy").sum(axis=1) == pytest.approx(np.ones(120), abs=1e-4)
    info = json.loads((run / "encoded.json").read_text())
    assert info["n"] == 120 and len(info["ids_sha256"]) == 64
    with np.load(run / "map_placement.npz", allow_pickle=False) as npz:
        assert {"pca_mean", "pca_components", "umap_reference", "umap_embedding"} <= set(npz.files)
    xy = RunFolder(run).load_projector().transform(z[:5])
    assert xy["pca"] == pytest.approx(np.load(run / "map_pca.npy")[:5], abs=1e-4)
    assert xy["umap"].shape == (5, 2)
    from core.data.dataset import load_dataset

    ds = load_dataset(data)
    assert encode_spectra(load_model(run), ds.spectra[:5], ds.background[:5]) == pytest.approx(z[:5], abs=1e-5)
    encode_run(run)  # without --reconstructions: no stale reconstructions.npy left behind
    assert not (run / "reconstructions.npy").exists()
