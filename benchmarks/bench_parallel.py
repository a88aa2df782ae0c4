"""Ingest and encode, serial against ``--workers W`` on a local Dask cluster, side by side on the same inputs.

    .venv/bin/python benchmarks/bench_parallel.py --run runs/demo --files 100000 [--encode 1300000] [--workers 2]
                                                  [--pha CORPUS_DIR]

- ingest: ``build-demo --n FILES --as-pha`` writes the corpus (simulated CSC-style pha3 files with the real
  ARF/RMF), then ``ingest`` reads it serially and with W workers; the two datasets must be byte-identical. The
  throughput (files/s) and peak memory of each give the projection for 1.3 million files.
- encode: ``build-demo --n ENCODE`` spectra encoded by the run's model serially and with W workers (latents and
  reconstruction errors must be identical), time and peak memory of each.
Each step runs in its own process (the CLI); the peak memory printed is the largest resident set of any process
of the steps so far (``RUSAGE_CHILDREN``: the driver or one Dask worker), not their sum. The load average is printed: on a shared
machine the numbers are lower.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CATALOG_LIKE = ("spectra.npy", "background.npy", "catalog.parquet")


def step(*args: str) -> tuple[float, float]:
    """Run ``python -m core ARGS`` in a child process: (seconds, peak resident GB of children so far)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def same_files(a: Path, b: Path, names: tuple[str, ...]) -> bool:
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=REPO / "runs" / "demo",
                    help="trained run whose model encodes (default runs/demo); encode writes into copies of it")
    ap.add_argument("--files", type=int, default=10_000, help="PHA files for the ingest comparison (0: skip)")
    ap.add_argument("--encode", type=int, default=0, help="spectra for the encode comparison (0: skip)")
    ap.add_argument("--workers", type=int, default=2, help="Dask workers of the parallel runs (default 2)")
    ap.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--pha", type=Path, default=None,
                    help="the ingest corpus: a folder written by build-demo --as-pha (kept); written there if empty")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        if args.files:
            pha = args.pha or tmp / "pha"
            if args.pha is None or not any(args.pha.glob("*_pha3.fits")):
                dt, _ = step("build-demo", "--out", str(tmp / "src"), "--n", str(args.files), "--as-pha", str(pha))
                print(f"wrote {args.files:,} pha3 files in {dt:.1f} s")
            n_files = sum(1 for _ in pha.glob("*_pha3.fits"))
            if n_files != args.files:
                raise SystemExit(f"{pha} holds {n_files:,} pha3 files, not --files {args.files:,}")
            t1, m1 = step("ingest", str(pha), "--out", str(tmp / "serial"))
            tw, mw = step("ingest", str(pha), "--out", str(tmp / "par"), "--workers", str(args.workers))
            same = same_files(tmp / "serial", tmp / "par", CATALOG_LIKE)
            print(f"ingest serial: {t1:.1f} s ({args.files / t1:,.0f} files/s); --workers {args.workers}: {tw:.1f} s "
                  f"({args.files / tw:,.0f} files/s); speed-up {t1 / tw:.2f}x; identical datasets: {same}")
            print(f"projected for 1.3 M files at the {args.workers}-worker rate: {1.3e6 / (args.files / tw) / 3600:.1f} h;"
                  f" peak resident memory of the steps so far {max(m1, mw):.2f} GB (grows with N: the arrays are "
                  f"{1.3e6 * 112 * 4 * 3 / 2**30:.1f} GB at 1.3 M spectra)")
        if args.encode:
            import shutil

            import numpy as np

            step("build-demo", "--out", str(tmp / "enc"), "--n", str(args.encode))
            for name in ("serial", "par"):
                shutil.copytree(args.run, tmp / f"run_{name}", ignore=shutil.ignore_patterns("*.npy", "*.npz",
                                                                                               "encoded.json"))
            t1, m1 = step("encode", "--run", str(tmp / "run_serial"), "--data", str(tmp / "enc"))
            tw, mw = step("encode", "--run", str(tmp / "run_par"), "--data", str(tmp / "enc"),
                          "--workers", str(args.workers))
            same = all(np.array_equal(np.load(tmp / "run_serial" / n), np.load(tmp / "run_par" / n))
                       for n in ("latents.npy", "recon_error.npy"))
            print(f"encode {args.encode:,} spectra (latents, errors, maps): serial {t1:.1f} s, --workers "
                  f"{args.workers} {tw:.1f} s; identical latents and errors: {same}; peak memory {max(m1, mw):.2f} GB")


if __name__ == "__main__":
    main()
