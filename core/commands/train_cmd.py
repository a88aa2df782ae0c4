"""``python -m core train --data DATASET --out RUN``: train (or resume) the autoencoder; see core.run.train."""
from __future__ import annotations

import argparse
from dataclasses import fields

from core.model.config import ModelConfig
from core.run.train import TrainConfig, train


def _add_config_args(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    group = parser.add_argument_group(title)
    for f in fields(cls):
        if f.name == "n_bins":
            continue  # always the dataset's
        kind = type(f.default)
        group.add_argument(f"--{f.name.replace('_', '-')}", dest=f"{cls.__name__}.{f.name}",
                           type=parse_bool if kind is bool else kind, default=None,
                           metavar=kind.__name__.upper(), help=f"default {f.default!r}")


def parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: expected true or false")


# what Ctrl-C leaves behind (core.cli prints it)
INTERRUPTED = ("interrupted: the run folder keeps the checkpoint of the last finished epoch, if any; the same "
               "command without --overwrite resumes from it")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset folder (e.g. datasets/demo)")
    parser.add_argument("--out", required=True, help="run folder; an unfinished run there is resumed")
    parser.add_argument("--overwrite", action="store_true", help="discard a run already in --out and start again")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_config_args(parser, ModelConfig, "model configuration")
    _add_config_args(parser, TrainConfig, "training configuration")


def _values(args: argparse.Namespace, cls: type) -> dict:
    prefix = f"{cls.__name__}."
    return {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}


def run(args: argparse.Namespace) -> int:
    from core.data.dataset import load_dataset

    n_bins = load_dataset(args.data).n_bins
    model_config = ModelConfig(n_bins=n_bins, **_values(args, ModelConfig))
    train_config = TrainConfig(**_values(args, TrainConfig))
    out = train(args.data, args.out, model_config, train_config, progress=not args.quiet, overwrite=args.overwrite)
    print(f"run folder: {out}")
    return 0
