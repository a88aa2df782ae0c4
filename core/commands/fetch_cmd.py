"""``python -m core fetch``: make every data file local (mirror or download), verifying hashes."""
from __future__ import annotations

import argparse

from tqdm import tqdm

from core.data.fetch import fetch, registry


# what Ctrl-C leaves behind (core.cli prints it)
INTERRUPTED = "interrupted: the files fetched so far are kept, each verified and whole; rerun to fetch the rest"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", nargs="?", default="", help="only files whose path starts with this (e.g. catalogs/)")


def run(args: argparse.Namespace) -> int:
    names = [n for n in sorted(registry()) if n.startswith(args.prefix)]
    for name in tqdm(names, desc="data files", unit="file"):
        path = fetch(name)
        tqdm.write(f"{name} -> {path}")
    return 0
