"""benchmarks/throughput.py runs end to end (a short run): it times train's own step and the encoder's paths."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_throughput_benchmark_runs_and_reports_its_figures(tmp_path):
    out = tmp_path / "throughput.json"
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / "throughput.py"), "--seconds", "0.05",
                        "--encode-threads", "1", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "train's step" in r.stdout
    got = json.loads(out.read_text())
    assert got["train_spectra_per_s"] > 0 and got["fold_and_normalise_spectra_per_s"] > 0
    (enc,) = got["encoder"]
    assert enc["threads"] == 1 and enc["inference_mflop_per_spectrum"] < enc["mflop_per_spectrum"]
    for path in ("inference", "every_token", "inference_torch_ops", "every_token_torch_ops"):
        assert 0 < enc[f"{path}_share_of_matmul"], path
    assert "encoder kernels: " in r.stdout and enc["kernels"] in ("c", "torch")
