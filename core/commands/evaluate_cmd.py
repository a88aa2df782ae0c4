"""``python -m core evaluate --run RUN [--data DATASET] [--out DIR]``: every measure of docs/design.md; writes
metrics.json and reconstruction.csv (into DIR, or the run folder without --out) and prints a table."""
from __future__ import annotations

import argparse
from pathlib import Path


# what Ctrl-C leaves behind (core.cli prints it)
INTERRUPTED = "interrupted: nothing was written (metrics.json and reconstruction.csv are written whole, at the end)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder (encode it first for the saved latents)")
    parser.add_argument("--data", default=None, help="dataset folder (default: the one the run was trained on); "
                        "any dataset on the model's grid, e.g. ingested real spectra")
    parser.add_argument("--out", type=Path, default=None,
                        help="write metrics.json and reconstruction.csv into this folder and leave the run folder "
                             "untouched (default: into the run folder; required with another --data)")
    parser.add_argument("--classification-rows", choices=("test", "all"), default="all",
                        help="labelled rows used for classification: all of them (default; the autoencoder never "
                             "sees labels, and the demo's test split holds only 2 HMXB) or the test split only")
    parser.add_argument("--repeats", type=int, default=5,
                        help="repeats of the 5-fold cross-validation (default 5: 5x5 folds)")
    parser.add_argument("--trees", type=int, default=50,
                        help="random-forest trees (default 50, one thread: affordable over 5x5 folds on 2 cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds, k-means and classifiers")


def run(args: argparse.Namespace) -> int:
    from core.errors import ConfigError
    from core.run.evaluate import evaluate_run, format_table

    if args.repeats < 1 or args.trees < 1:
        raise ConfigError(f"--repeats {args.repeats} --trees {args.trees}: both must be at least 1")
    metrics = evaluate_run(args.run, args.data, classification_split=args.classification_rows, seed=args.seed,
                           out_dir=args.out, n_repeats=args.repeats, n_trees=args.trees)
    print(format_table(metrics))
    print(f"\nwrote {args.out or args.run}/metrics.json and reconstruction.csv in {metrics['seconds']:.0f} s")
    return 0
