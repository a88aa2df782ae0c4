"""Hundreds of hostile files made from the real ones, each read by ``read_spectrum`` in its own process (forked,
30 s alarm, 4 GB address-space limit), with counts of what matters for issue 9:

    exceptions other than SpectrumError, runs over 10 s or 1 GB (peak resident memory), files loaded that must
    be refused, valid variants that did not load like the original, and every unmodified real file loading
    with the same counts as the committed readers' (``--baseline`` JSON from a run of the old code, optional).

    XLE_DATA_MIRROR=../shared/data python benchmarks/hostile_corpus.py [--random 150] [--seed 0]

The corpus: every case of tests/hostile_files.py, on its own, plus seeded random damage of 9774.pi, its RMF
and the CSC pha3: bit flips in DATASUM-covered data (must be refused), cuts at non-block offsets (must be
refused), and bytes overwritten anywhere (may load: a changed COMMENT card is still a valid file; counted
apart), and pairs of cases applied one after the other where both are header edits.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core.data.fetch import fetch  # noqa: E402
from core.errors import SpectrumError  # noqa: E402
from core.io import read_spectrum  # noqa: E402
from core.io.fitsbytes import hdu_spans  # noqa: E402
from tests.hostile_files import CASES, CSC, REFERENCES, SOURCES, prepare  # noqa: E402

LIMIT_S, LIMIT_AS = 30, 4 * 2**30


def read_in_child(path: Path) -> dict:
    """Fork, read, report outcome + wall time + peak RSS of the child."""
    r, w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))
        signal.alarm(LIMIT_S)
        try:
            spec = read_spectrum(path)
            out = {"outcome": "loaded", "counts": spec.counts.tolist(), "bkg": spec.background.tolist()}
        except SpectrumError:
            out = {"outcome": "refused"}
        except BaseException as exc:  # noqa: BLE001 - what the benchmark counts
            out = {"outcome": f"crash:{type(exc).__name__}: {str(exc)[:150]}"}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 1 << 20):
        chunks.append(chunk)
    os.close(r)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    result = json.loads(b"".join(chunks) or b'{"outcome": "killed"}')
    if os.WIFSIGNALED(status):
        result = {"outcome": f"killed:signal {os.WTERMSIG(status)}"}
    result.update(wall_s=wall, maxrss_mb=usage.ru_maxrss / 1024)
    return result


def random_variants(folder: Path, n: int, rng: np.random.Generator) -> list[tuple[str, str, Path]]:
    out = []
    targets = [("9774.pi", "9774.pi"), (f"{CSC}_pha3.fits", f"{CSC}_pha3.fits")]
    for k in range(n):
        src_name, _ = targets[k % 2]
        raw = (folder / src_name).read_bytes()
        spans = hdu_spans(folder / src_name, raw)
        kind = ("flip", "cut", "overwrite")[k % 3]
        if kind == "flip":  # a bit in an HDU's data that has a DATASUM
            span = [s for s in spans if s.datasum and s.data_size][rng.integers(0, 2)]
            pos = span.data_start + int(rng.integers(0, span.data_size))
            data = raw[:pos] + bytes([raw[pos] ^ (1 << int(rng.integers(0, 8)))]) + raw[pos + 1:]
            expect = "refuse"
        elif kind == "cut":
            pos = int(rng.integers(1, len(raw) - 1))
            pos += pos % 2880 == 0
            data, expect = raw[:pos], "refuse"
        else:
            pos = int(rng.integers(0, len(raw) - 16))
            data, expect = raw[:pos] + rng.integers(0, 256, 16, dtype=np.uint8).tobytes() + raw[pos + 16:], "either"
        path = folder / f"rand{k:04d}_{kind}_{src_name}"
        path.write_bytes(data)
        out.append((f"random {kind} of {src_name}", expect, path))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", type=int, default=300, help="random-damage variants (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", type=Path, help="JSON {file: total counts} of the real files from the old code")
    args = ap.parse_args()
    real_data = fetch(SOURCES[0]).parents[1]
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        tmp = Path(tmp)
        refs = {k: read_spectrum(prepare(real_data, tmp / "ref") / v) for k, v in REFERENCES.items()}
        corpus: list[tuple[str, str, Path]] = []
        for i, (name, (expect, build)) in enumerate(CASES.items()):
            corpus.append((name, expect, build(prepare(real_data, tmp / f"case{i:03d}"))))
        corpus += random_variants(prepare(real_data, tmp / "random"), args.random, rng)
        counts = {"files": len(corpus), "refused": 0, "loaded": 0, "crashes": [], "over_10s": [], "over_1GB": [],
                  "loaded_must_refuse": [], "valid_not_loaded_same": [], "either_loaded": 0}
        walls, rss = [], []
        for name, expect, path in corpus:
            res = read_in_child(path)
            walls.append(res["wall_s"])
            rss.append(res["maxrss_mb"])
            outcome = res["outcome"]
            if outcome == "refused":
                counts["refused"] += 1
            elif outcome == "loaded":
                counts["loaded"] += 1
            else:
                counts["crashes"].append(f"{name}: {outcome}")
            if res["wall_s"] > 10:
                counts["over_10s"].append(name)
            if res["maxrss_mb"] > 1024:
                counts["over_1GB"].append(name)
            if expect == "refuse" and outcome == "loaded":
                counts["loaded_must_refuse"].append(name)
            if expect == "either" and outcome == "loaded":
                counts["either_loaded"] += 1
            if expect.startswith("load"):
                ref = refs["csc" if expect == "load:csc" else "ogip"]
                same = outcome == "loaded" and np.array_equal(res["counts"], ref.counts) and (
                    expect == "load-net" or np.allclose(res["bkg"], ref.background, rtol=1e-12))
                if not same:
                    counts["valid_not_loaded_same"].append(f"{name}: {outcome}")
    real = {}
    for sub in ("spectra", "responses"):
        for f in sorted((real_data / sub).iterdir()):
            res = read_in_child(f)
            real[f"{sub}/{f.name}"] = int(round(sum(res["counts"]))) if res["outcome"] == "loaded" else res["outcome"]
    report = {**{k: (len(v) if isinstance(v, list) else v) for k, v in counts.items()},
              "wall_s_max": round(max(walls), 3), "wall_s_median": round(float(np.median(walls)), 3),
              "maxrss_mb_max": round(max(rss), 1), "maxrss_mb_median": round(float(np.median(rss)), 1),
              "details": {k: v for k, v in counts.items() if isinstance(v, list) and v},
              "real_files_loaded": {k: v for k, v in real.items() if isinstance(v, int)}}
    if args.baseline:
        base = json.loads(args.baseline.read_text())
        report["real_files_same_as_baseline"] = all(real.get(k) == v for k, v in base.items())
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
