"""``python -m core encode --run RUN [--data DATASET]``: latents, reconstruction errors and 2-D maps."""
from __future__ import annotations

import argparse

from core.commands.options import add_parallel_args


# what Ctrl-C leaves behind (core.cli prints it)
INTERRUPTED = "interrupted: the run folder's files are each written whole, at the end: none is half-written"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder made by `python -m core train`")
    parser.add_argument("--data", default=None, help="dataset folder (default: the one the run was trained on)")
    parser.add_argument("--reconstructions", action="store_true", help="also write reconstructions.npy (N x bins)")
    parser.add_argument("--seed", type=int, default=0, help="UMAP random seed (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device for encoding (default cpu)")
    add_parallel_args(parser)
    parser.add_argument("--refine-steps", type=int, default=0,
                        help="refine each latent by maximum likelihood through its own response for this many "
                             "steps (core/model/refine.py; default 0: the encoder's latents)")


def run(args: argparse.Namespace) -> int:
    from core.run.encode import encode_run

    encode_run(args.run, args.data, reconstructions=args.reconstructions, seed=args.seed, device=args.device,
               progress=True, workers=args.workers, scheduler=args.scheduler,
               refine_steps=args.refine_steps)
    print(f"wrote latents, maps and reconstruction errors into {args.run}")
    return 0
