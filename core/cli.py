"""``python -m core <command>``: one sub-command per module, imported only when used (fast ``--help``).

Each command module defines ``configure(parser)`` to add its arguments and ``run(args) -> int`` (exit status).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import XLEError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "fetch": ("core.commands.fetch_cmd", "download (or find in the mirror) and verify the project's data files"),
    "ingest": ("core.commands.ingest_cmd", "turn real Chandra spectra (files or folders) into a dataset folder"),
    "build-demo": ("core.commands.build_demo_cmd", "build the simulated demo dataset from real catalogs and responses"),
    "train": ("core.commands.train_cmd", "train the transformer autoencoder on a dataset"),
    "encode": ("core.commands.encode_cmd", "write latents, reconstructions and 2-D maps into a run folder"),
    "evaluate": ("core.commands.evaluate_cmd", "measure a run against the baselines; writes metrics.json"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="X-ray Latent Explorer command line.")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # arguments are added lazily below, only for the command being run (or asked --help of)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        sub = argparse.ArgumentParser(prog=f"python -m core {argv[0]}", description=COMMANDS[argv[0]][1])
        module.configure(sub)
        args = sub.parse_args(argv[1:])
        try:
            return int(module.run(args))
        except (XLEError, FileExistsError) as exc:  # FileExistsError: an output folder without --overwrite
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(getattr(module, "INTERRUPTED", "interrupted"), file=sys.stderr)
            return 130
    parser.parse_args(argv)  # prints help / usage errors
    return 2
