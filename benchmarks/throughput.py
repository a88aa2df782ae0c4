"""Training and encoding throughput of the default autoencoder on this machine, and how close the encoder comes
to the machine's plain matrix-multiply speed (both measured in the same run).

    .venv/bin/python benchmarks/throughput.py [--data datasets/demo] [--seconds 5] [--json out.json]

Throughput is spectra per second (training: forward + backward + AdamW step at the default batch size;
encoding: forward of the encoder only, large batches, no gradients). The encoder's FLOPs per spectrum are
counted by torch.utils.flop_counter (matrix multiplies and attention; element-wise work is not counted, so the
achieved GFLOP/s is a lower bound on what the hardware does). The load average is printed because the CPU may
be shared: numbers taken while other jobs run are lower, and vary.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.model import ModelConfig, SpectrumAutoencoder  # noqa: E402
from core.run.train import TrainConfig  # noqa: E402


def spectra(data: str | None, n: int, n_bins: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(counts, background) (n, B): from a dataset folder when given, else Poisson draws of ~300 counts."""
    if data:
        from core.data.dataset import load_dataset

        ds = load_dataset(Path(data))
        idx = np.random.default_rng(seed).choice(len(ds.catalog), size=n, replace=n > len(ds.catalog))
        return torch.tensor(np.array(ds.spectra[idx])), torch.tensor(np.array(ds.background[idx]))
    g = torch.Generator().manual_seed(seed)
    shape = torch.rand(n, n_bins, generator=g) ** 2
    shape /= shape.sum(dim=1, keepdim=True)
    bkg = torch.full((n, n_bins), 0.2)
    return torch.poisson(shape * 300 + bkg, generator=g), bkg


def timed(fn, seconds: float) -> tuple[int, float]:
    """Call fn() (returning the number of spectra it handled) repeatedly for about ``seconds``."""
    fn()  # warm-up
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        done += fn()
    return done, time.perf_counter() - t0


def matmul_gflops(seconds: float, n: int = 1024) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    calls, dt = timed(lambda: (a @ b, 1)[1], seconds)
    return 2 * n ** 3 * calls / dt / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="dataset folder to draw spectra from (default: synthetic)")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    ap.add_argument("--threads", type=int, default=TrainConfig().threads,
                    help="torch CPU threads (default: training's default; 0 = torch's default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    mc, tc = ModelConfig(), TrainConfig()
    model = SpectrumAutoencoder(mc)
    counts, bkg = spectra(args.data, 8192, mc.n_bins)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr)
    pos = [0]

    def train_step() -> int:
        i = pos[0] = (pos[0] + tc.batch_size) % (len(counts) - tc.batch_size)
        loss = model.loss(counts[i:i + tc.batch_size], bkg[i:i + tc.batch_size])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return tc.batch_size

    load_before = os.getloadavg()[0]
    n_train, t_train = timed(train_step, args.seconds)
    model.eval()
    batch = 2048

    @torch.no_grad()
    def encode_step() -> int:
        model.encode(counts[:batch], bkg[:batch])
        return batch

    n_enc, t_enc = timed(encode_step, args.seconds)
    # torch's fused inference path for transformer layers is invisible to the FLOP counter: count with it off
    torch.backends.mha.set_fastpath_enabled(False)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model.encode(counts[:batch], bkg[:batch])
    torch.backends.mha.set_fastpath_enabled(True)
    flops_per_spectrum = fc.get_total_flops() / batch
    mm = matmul_gflops(args.seconds)
    enc_rate = n_enc / t_enc
    out = {
        "device": "cpu", "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
        "model_config": mc.to_dict(), "train_batch_size": tc.batch_size,
        "train_spectra_per_s": n_train / t_train, "encode_spectra_per_s": enc_rate,
        "encoder_mflop_per_spectrum": flops_per_spectrum / 1e6,
        "encoder_gflop_per_s": flops_per_spectrum * enc_rate / 1e9, "matmul_gflop_per_s": mm,
    }
    print(f"torch threads {out['torch_threads']} of {out['cpu_count']} CPUs; load average "
          f"{load_before:.2f} before, {out['load_average_after']:.2f} after (a shared CPU gives lower numbers)")
    print(f"training   {out['train_spectra_per_s']:>10.0f} spectra/s  (batch {tc.batch_size}, forward+backward+step)")
    print(f"encoding   {enc_rate:>10.0f} spectra/s  (batch {batch}, no gradients)")
    print(f"encoder    {out['encoder_mflop_per_spectrum']:>10.2f} MFLOP/spectrum -> "
          f"{out['encoder_gflop_per_s']:.1f} GFLOP/s achieved")
    print(f"matmul     {mm:>10.1f} GFLOP/s (1024 x 1024 float32), encoder at "
          f"{100 * out['encoder_gflop_per_s'] / mm:.0f}% of it")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
