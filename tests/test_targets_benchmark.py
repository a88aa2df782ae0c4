"""benchmarks/targets.py: issue 8's targets read from a run's own files, each row what those files say."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from core.model import ModelConfig
from core.run.evaluate import evaluate_run
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from targets import real_targets  # noqa: E402


def _script(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "targets.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_targets_are_what_the_run_and_its_real_scores_say(tmp_path):
    data = make_tiny_dataset(tmp_path / "tiny", n=200)
    other = make_tiny_dataset(tmp_path / "other", n=60, seed=3)
    run = train(data, tmp_path / "run", ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32),
                TrainConfig(max_epochs=2, batch_size=64), progress=False)
    m = evaluate_run(run, n_repeats=2, n_trees=10)
    scores = tmp_path / "scores"
    evaluate_run(run, other, out_dir=scores, n_repeats=1, n_trees=5)
    r = _script("--run", run, "--real", scores, "--json", tmp_path / "t.json")
    assert r.returncode == 0, r.stderr
    rows = {t["name"]: t for t in json.loads((tmp_path / "t.json").read_text())}
    assert rows["instrument leakage"]["status"] == "not measured"  # the tiny dataset has no response column
    nh = m["regression"]["log_nh"]["latent"]
    assert rows["R² of log N_H from the latent"]["measured"].startswith(f"{nh['r2']:.3f} ± {nh['r2_std']:.3f}")
    assert rows["R² of log N_H from the latent"]["status"] == ("met" if nh["r2"] >= 0.6 else "not met")
    kl = m["reconstruction"]["autoencoder"]["kl_to_truth"]
    assert rows["KL to the noiseless truth"]["measured"].startswith(f"{kl:.4f}")
    minutes = pd.read_csv(run / "history.csv")["seconds"].sum() / 60
    assert rows["training time"] == {"name": "training time", "asked": "<= 10 min", "status": "met",
                                     "measured": f"{minutes:.1f} min (2 epochs)"}
    recon = pd.read_csv(scores / "reconstruction.csv")
    bright = recon[recon["counts"] >= 500]
    assert sum(name.startswith("real: ") for name in rows) == len(bright)
    assert f"{sum(t['status'] == 'met' for t in rows.values())} of {len(rows)} targets met" in r.stdout
    assert "SIMULATED" in r.stdout

    refused = _script("--run", scores)  # another dataset's scores are not the run's targets
    assert refused.returncode != 0 and "another dataset" in refused.stderr
    other_run = tmp_path / "run_copy"  # scores of another run are refused, not mixed into this run's table
    shutil.copytree(run, other_run)
    mixed = _script("--run", other_run, "--real", scores)
    assert mixed.returncode != 0 and "one table, one run" in mixed.stderr
    missing = _script("--run", run, "--real", tmp_path / "nowhere")
    assert missing.returncode != 0 and "nowhere" in missing.stderr and "evaluate" in missing.stderr


def test_real_rows_name_piled_up_files_and_skip_faint_ones():
    recon = pd.DataFrame({"id": ["a", "b", "c", "d"], "counts": [499, 500, 9000, 700],
                          "deviance_per_bin": [9.0, 1.5, 2.4, float("nan")]})
    rows = real_targets(recon, {"possible_pileup": {"ids": ["c"]}})
    assert [(t.name, t.measured, t.status) for t in rows] == [
        ("real: b (500 counts)", "1.500", "met"), ("real: c (9000 counts)", "2.400 (possible pile-up)", "not met"),
        ("real: d (700 counts)", "nan", "not measured")]
    assert real_targets(None, None)[0].status == "not measured"
