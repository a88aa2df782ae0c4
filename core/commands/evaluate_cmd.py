"""``python -m core evaluate --run RUN``: every measure of docs/design.md; writes metrics.json, prints a table."""
from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder (encode it first for the saved latents)")
    parser.add_argument("--data", default=None, help="dataset folder (default: the one the run was trained on)")
    parser.add_argument("--classification-rows", choices=("test", "all"), default="all",
                        help="labelled rows used for classification: all of them (default; the autoencoder never "
                             "sees labels, and the demo's test split holds only 2 HMXB) or the test split only")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds, k-means and classifiers")


def run(args: argparse.Namespace) -> int:
    from core.run.evaluate import evaluate_run, format_table

    metrics = evaluate_run(args.run, args.data, classification_split=args.classification_rows, seed=args.seed)
    print(format_table(metrics))
    print(f"\nwrote {args.run}/metrics.json")
    return 0
