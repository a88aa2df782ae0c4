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


def test_encode_into_a_new_run_folder_leaves_the_run_alone(tmp_path, run_core):
    """encode --out: another dataset's latents in their own run folder, the model copied, the run untouched; a
    run encoded in place on another dataset no longer shows its metrics.json as that dataset's."""
    from core.errors import ConfigError
    from core.run.encode import encode_into
    from core.run.evaluate import evaluate_run
    from explorer.logic.runs import load_run

    data = make_tiny_dataset(tmp_path / "tiny", n=120)
    other = make_tiny_dataset(tmp_path / "other", n=60, seed=4)
    run = train(data, tmp_path / "run", ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32),
                TrainConfig(max_epochs=1), progress=False)
    encode_run(run)
    evaluate_run(run, n_repeats=1, n_trees=5)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    r = run_core("encode", "--run", run, "--data", other, "--out", tmp_path / "runs" / "on_other", timeout=300)
    assert r.returncode == 0, r.stderr
    new = tmp_path / "runs" / "on_other"
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # the run is untouched
    assert (new / "model.safetensors").read_bytes() == before["model.safetensors"]
    assert not (new / "checkpoint.pt").exists() and not (new / "metrics.json").exists()
    view = load_run(new)
    assert len(view.latents) == 60 and view.dataset.path.resolve() == other.resolve() and view.notes == []
    assert json.loads((new / "encoded.json").read_text())["dataset"] == str(other.resolve())
    again = run_core("encode", "--run", run, "--data", other, "--out", new)
    assert again.returncode == 1 and "already exists; pass --overwrite" in again.stderr
    with pytest.raises(ConfigError, match="the run folder itself"):
        encode_into(run, run, other)
    assert load_run(run).metrics and load_run(run).notes == []
    encode_run(run, other)  # in place: metrics.json still scores the training dataset
    view = load_run(run)
    assert view.metrics == {} and any("metrics.json scores" in n and "--out NEW_RUN" in n for n in view.notes)
