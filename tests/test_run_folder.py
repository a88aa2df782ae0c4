"""RunFolder: one dataset resolver, latents only for the dataset they encode, resume only on the same dataset."""
from __future__ import annotations

import dataclasses
import json

import pytest

from core.data.dataset import load_dataset
from core.errors import ConfigError, DatasetError
from core.model import ModelConfig
from core.run.encode import encode_run
from core.run.folder import CONFIG, ENCODED, FILES, RunFolder
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset

SMALL = ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("runfolder")
    data = make_tiny_dataset(root / "tiny", n=60)
    run = train(data, root / "run", SMALL, TrainConfig(max_epochs=1), progress=False)
    return root, data, run


def test_load_latents_refuses_latents_of_another_dataset(trained):
    """Same sources, other counts (the same ids from another seed), or the rows in another order: loading must
    refuse, not pair the latents with the wrong spectra."""
    root, data, run = trained
    folder, ds = RunFolder(run), load_dataset(data)
    (run / ENCODED).unlink(missing_ok=True)
    with pytest.raises(DatasetError, match="not encoded yet"):
        folder.load_latents(ds)
    encode_run(run)
    assert folder.load_latents(ds).shape == (60, 8)
    reseeded = load_dataset(make_tiny_dataset(root / "reseeded", n=60, seed=7))
    assert (reseeded.catalog["id"] == ds.catalog["id"]).all()
    reordered = dataclasses.replace(ds, catalog=ds.catalog.iloc[::-1].reset_index(drop=True),
                                    info={k: v for k, v in ds.info.items() if k != "fingerprint"})
    for other in (reseeded, reordered):
        with pytest.raises(DatasetError, match="another dataset"):
            folder.load_latents(other)


def test_dataset_path_prefers_the_encoded_dataset_and_resolves_relative_paths(trained, tmp_path, monkeypatch):
    root, data, run = trained
    folder = RunFolder(run)
    assert folder.dataset_path() == data.resolve()  # encoded.json or config.json: both name it
    other = make_tiny_dataset(root / "other", n=40, seed=1)
    encode_run(run, other)
    assert folder.dataset_path() == other.resolve()  # what the app shows is what evaluate scores
    enc = json.loads((run / ENCODED).read_text())
    (run / ENCODED).write_text(json.dumps({**enc, "dataset": "other"}))  # relative to the project root
    monkeypatch.chdir(tmp_path)
    assert folder.dataset_path().resolve() == other.resolve()
    encode_run(run, data)


def test_resume_on_another_dataset_is_refused(trained, tmp_path):
    _, data, _ = trained
    cfg = TrainConfig(max_epochs=2, patience=5)
    with pytest.raises(KeyboardInterrupt):
        train(data, tmp_path / "run", SMALL, cfg, progress=False, on_epoch_end=_stop_after_first)
    other = make_tiny_dataset(tmp_path / "other", n=60, seed=7)
    with pytest.raises(ConfigError, match="started on the dataset"):
        train(other, tmp_path / "run", SMALL, cfg, progress=False)
    assert json.loads((tmp_path / "run" / CONFIG).read_text())["dataset"] == str(data.resolve())
    assert train(data, tmp_path / "run", SMALL, cfg, progress=False) == tmp_path / "run"  # the same one resumes


def _stop_after_first(epoch: int, row: dict) -> None:
    if epoch == 1:
        raise KeyboardInterrupt


def test_clear_removes_only_run_files(tmp_path):
    folder = RunFolder(tmp_path / "r")
    folder.create()
    for name in FILES:
        folder.file(name).write_text("x")
    (tmp_path / "r" / "notes.txt").write_text("mine")
    folder.clear()
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["notes.txt"]
    assert folder.state() == {"exists": True, "trained": False, "encoded": False, "maps": False, "evaluated": False}
