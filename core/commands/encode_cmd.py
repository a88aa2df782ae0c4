"""``python -m core encode --run RUN [--data DATASET]``: latents, reconstruction errors and 2-D maps."""
from __future__ import annotations

import argparse

from core.commands.options import add_parallel_args


# what Ctrl-C leaves behind (core.cli prints it)
INTERRUPTED = "interrupted: the run folder's files are each written whole, at the end: none is half-written"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder made by `python -m core train`")
    parser.add_argument("--data", default=None, help="dataset folder (default: the one the run was trained on)")
    parser.add_argument("--out", default=None, metavar="NEW_RUN",
                        help="write into a new run folder (the model's config, weights and history copied; --run "
                             "is not touched), e.g. runs/demo-on-real: the app lists it beside the others")
    parser.add_argument("--overwrite", action="store_true", help="with --out: replace an existing NEW_RUN")
    parser.add_argument("--reconstructions", action="store_true", help="also write reconstructions.npy (N x bins)")
    parser.add_argument("--seed", type=int, default=0, help="UMAP random seed (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device for encoding (default cpu)")
    add_parallel_args(parser)
    parser.add_argument("--refine-steps", type=int, default=0,
                        help="refine each latent by maximum likelihood through its own response for this many "
                             "steps (core/model/refine.py; default 0: the encoder's latents)")


def run(args: argparse.Namespace) -> int:
    from core.model.kernels import kernels_summary
    from core.run.encode import encode_into, encode_run

    print(f"encoder: {kernels_summary(args.device.split(':')[0])}")

    options = dict(reconstructions=args.reconstructions, seed=args.seed, device=args.device, progress=True,
                   workers=args.workers, scheduler=args.scheduler, refine_steps=args.refine_steps)
    if args.out is not None:
        encode_into(args.run, args.out, args.data, overwrite=args.overwrite, **options)
        print(f"wrote a new run folder {args.out}: {args.run}'s model, with the latents, maps and reconstruction "
              f"errors of {args.data or 'its dataset'} (evaluate it with `python -m core evaluate --run {args.out}`)")
        return 0
    if args.overwrite:
        print("note: --overwrite applies to --out only; ignored")
    encode_run(args.run, args.data, **options)
    print(f"wrote latents, maps and reconstruction errors into {args.run}")
    return 0
