"""Encoding a run: files of docs/formats.md, and placing spectra on the saved maps without unpickling."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.run.encode import encode_run, encode_spectra, knn_weights, place_on_map, place_with
from core.model import ModelConfig, load_model
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset


def test_knn_weights_follow_umaps_membership():
    w = knn_weights(np.array([[0.0, 1.0, 2.0, 3.0]]))
    assert w.sum() == pytest.approx(1.0) and np.all(np.diff(w[0]) < 0)
    # unnormalised, the nearest neighbour has weight 1 and all k sum to log2 k: w / w[0] sums to log2 4 = 2
    assert (w[0] / w[0, 0]).sum() == pytest.approx(2.0, rel=1e-6)


def test_place_with_is_exact_for_reference_points_and_pca():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(40, 3))
    ref = rng.uniform(0, 1, size=(2000, 3))
    emb = 10 * ref[:, :2]  # a smooth map: new points should land near 10 * their first two coordinates
    placement = {"pca_mean": ref.mean(axis=0), "pca_components": np.eye(3)[:2],
                 "umap_reference": ref.astype(np.float32), "umap_embedding": emb.astype(np.float32),
                 "umap_n_neighbors": np.array(5)}
    new = rng.uniform(0.2, 0.8, size=(50, 3))
    xy = place_with(placement, new)
    assert xy["pca"] == pytest.approx((new - ref.mean(axis=0))[:, :2], abs=1e-6)
    assert np.abs(xy["umap"] - 10 * new[:, :2]).max() < 1.0  # neighbours lie within ~0.1 in latent space


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
    xy = place_on_map(run, z[:5])
    assert xy["pca"] == pytest.approx(np.load(run / "map_pca.npy")[:5], abs=1e-4)
    assert xy["umap"].shape == (5, 2)
    from core.data.dataset import load_dataset

    ds = load_dataset(data)
    assert encode_spectra(load_model(run), ds.spectra[:5], ds.background[:5]) == pytest.approx(z[:5], abs=1e-5)
    encode_run(run)  # without --reconstructions: no stale reconstructions.npy left behind
    assert not (run / "reconstructions.npy").exists()


def test_load_latents_refuses_latents_of_another_dataset(tmp_path):
    """Same number of rows, other sources (here: the rows in reverse order): loading must refuse, not pair the
    latents with the wrong sources."""
    import dataclasses

    from core.data.dataset import load_dataset
    from core.run.encode import load_latents
    from core.errors import DatasetError

    data = make_tiny_dataset(tmp_path / "tiny", n=60)
    run = train(data, tmp_path / "run", ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32),
                TrainConfig(max_epochs=1), progress=False)
    ds = load_dataset(data)
    with pytest.raises(DatasetError, match="not encoded yet"):
        load_latents(run, ds)
    encode_run(run)
    assert load_latents(run, ds).shape == (60, 8)
    other = dataclasses.replace(ds, catalog=ds.catalog.iloc[::-1].reset_index(drop=True))
    with pytest.raises(DatasetError, match="another dataset"):
        load_latents(run, other)
