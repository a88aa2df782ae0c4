"""Training: run folder files, determinism, resuming after a real kill, clear refusals of bad configs."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from core.cli import main
from core.errors import ConfigError
from core.model import ModelConfig, load_model
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset

REPO = Path(__file__).resolve().parent.parent
MODEL = dict(n_bins=32, bins_per_token=4, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32, dropout=0.1)
TRAIN = dict(max_epochs=4, batch_size=32, patience=10)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=160)


def run_tiny(data: Path, out: Path, **train_kw) -> Path:
    return train(data, out, ModelConfig(**MODEL), TrainConfig(**{**TRAIN, **train_kw}), progress=False)


def test_run_folder_has_config_weights_checkpoint_and_history(tiny, tmp_path):
    run = run_tiny(tiny, tmp_path / "run")
    for name in ("config.json", "model.safetensors", "checkpoint.pt", "history.csv"):
        assert (run / name).is_file(), name
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "lr", "seconds"] and len(rows) == 4
    model = load_model(run)
    assert model.config == ModelConfig(**MODEL) and not model.training
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["done"] and ckpt["epoch"] == 4


def test_same_seed_same_weights_and_early_stopping(tiny, tmp_path):
    a = load_file(run_tiny(tiny, tmp_path / "a", max_epochs=3) / "model.safetensors")
    b = load_file(run_tiny(tiny, tmp_path / "b", max_epochs=3) / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    stopped = run_tiny(tiny, tmp_path / "c", max_epochs=50, patience=1, lr=5.0)  # diverging: stops early
    assert len(list(csv.DictReader((stopped / "history.csv").open()))) < 50


def test_killed_training_resumes_where_it_stopped(tiny, tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO / 'tests')!r})
        from test_train import run_tiny
        from pathlib import Path
        def kill(epoch, row):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        from core.run.train import train, TrainConfig
        from core.model import ModelConfig
        from test_train import MODEL, TRAIN
        train(Path({str(tiny)!r}), Path({str(tmp_path / 'killed')!r}), ModelConfig(**MODEL), TrainConfig(**TRAIN),
              progress=False, on_epoch_end=kill)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    resumed = run_tiny(tiny, tmp_path / "killed")
    straight = run_tiny(tiny, tmp_path / "straight")
    read = lambda run: [(r["epoch"], r["val_loss"]) for r in csv.DictReader((run / "history.csv").open())]  # noqa
    assert read(resumed) == read(straight)
    a, b = load_file(resumed / "model.safetensors"), load_file(straight / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_another_config_is_refused(tiny, tmp_path):
    run_tiny(tiny, tmp_path / "run", max_epochs=2)
    with pytest.raises(ConfigError, match="lr=0.002, not 0.01"):
        train(tiny, tmp_path / "run", ModelConfig(**MODEL), TrainConfig(**{**TRAIN, "max_epochs": 2, "lr": 0.01}), progress=False)


def test_model_grid_must_match_the_dataset(tiny, tmp_path):
    with pytest.raises(ConfigError, match="n_bins=112"):
        train(tiny, tmp_path / "run", ModelConfig(), TrainConfig(max_epochs=1), progress=False)


def test_cli_reports_a_bad_config_value(tiny, tmp_path, capsys):
    code = main(["train", "--data", str(tiny), "--out", str(tmp_path / "run"), "--latent-dim", "0", "--quiet"])
    assert code == 1
    assert "latent_dim=0: must be a whole number in [1, 512]" in capsys.readouterr().err
    assert main(["train", "--data", str(tiny), "--out", str(tmp_path / "run"), "--patience", "0", "--quiet"]) == 1
    assert "patience=0" in capsys.readouterr().err


def test_count_thinning_parts_add_up_and_stay_whole():
    from core.run.train import thin_counts

    counts = torch.tensor([[0.0, 3.0, 10.0, 1.0], [5.0, 5.0, 0.0, 2.0]])
    bkg = torch.full_like(counts, 0.5)
    (a, ba), (b, bb) = thin_counts(counts, bkg, TrainConfig(), np.random.default_rng(0))
    assert torch.equal(a + b, counts) and (a >= 0).all() and (b >= 0).all() and torch.equal(a, a.round())
    assert torch.allclose(ba + bb, bkg)


def test_bad_split_range_is_refused():
    with pytest.raises(ConfigError, match="split_max=1.0"):
        TrainConfig(split_max=1.0)
