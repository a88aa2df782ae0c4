"""Command-line options shared by several commands."""
from __future__ import annotations

import argparse


def add_parallel_args(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` (a local Dask cluster when N > 1) and ``--scheduler ADDRESS`` (an existing one)."""
    group = parser.add_argument_group("parallel work (Dask; results are identical to a serial run)")
    group.add_argument("--workers", type=int, default=1,
                       help="worker processes of a local dask.distributed cluster (default 1: no cluster)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786; its workers need this project "
                            "and must read the inputs at the same paths (docs/parallel.md)")
