"""``python -m core build-demo --out DATASET [--seed S] [--n N]``: the simulated demo dataset."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.simulate.demo import build_demo


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("datasets/demo"), help="dataset folder (default datasets/demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes; default 0)")
    parser.add_argument("--n", type=int, default=None,
                        help="draw this many spectra from the same population (scale tests) instead of one per source")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset folder")


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = build_demo(args.out, seed=args.seed, n=args.n, overwrite=args.overwrite)
    print(f"wrote the SIMULATED demo dataset to {out} in {time.perf_counter() - t0:.1f} s")
    return 0
