"""``python -m core build-demo --out DATASET [--seed S] [--n N] [--as-pha DIR]``: the simulated demo dataset
(and, with ``--as-pha``, the same spectra written as CSC-style pha3 files with their ARF/RMF, for ingest)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.simulate.demo import build_demo
from core.simulate.families import MIXTURE_SETS


# what Ctrl-C leaves behind (core.cli prints it)
INTERRUPTED = "interrupted: the dataset and the --as-pha folder are each written whole or not at all"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("datasets/demo"), help="dataset folder (default datasets/demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes; default 0)")
    parser.add_argument("--n", type=int, default=None,
                        help="draw this many spectra from the same population (scale tests) instead of one per source")
    parser.add_argument("--mixtures", choices=sorted(MIXTURE_SETS), default="default",
                        help="the class-conditional model families (core/simulate/families.py): 'obscured' adds "
                             "absorbed sources with scattered light to AGN, CVs and HMXBs (default: default)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset folder")
    parser.add_argument("--as-pha", type=Path, default=None, metavar="DIR",
                        help="also write every spectrum as a pha3 file (with the real ARF/RMF beside them) into "
                             "DIR, an empty or new folder: a corpus to measure ingest on")


def run(args: argparse.Namespace) -> int:
    if args.as_pha is not None:
        from core.simulate.as_pha import check_pha_folder

        check_pha_folder(args.as_pha)  # before minutes of building, not after
    t0 = time.perf_counter()
    out = build_demo(args.out, seed=args.seed, n=args.n, overwrite=args.overwrite, mixtures=args.mixtures)
    print(f"wrote the SIMULATED demo dataset to {out} in {time.perf_counter() - t0:.1f} s")
    if args.as_pha is not None:
        from core.data.dataset import load_dataset
        from core.simulate.as_pha import write_as_pha

        t0 = time.perf_counter()
        n = write_as_pha(load_dataset(out), args.as_pha, seed=args.seed)
        print(f"wrote {n:,} SIMULATED pha3 files to {args.as_pha} in {time.perf_counter() - t0:.1f} s")
    return 0
