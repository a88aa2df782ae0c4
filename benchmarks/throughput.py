"""Training and encoding throughput of the default autoencoder on this machine, and how close the encoder comes
to the machine's plain matrix-multiply speed (both measured in the same run).

    .venv/bin/python benchmarks/throughput.py [--data datasets/demo] [--seconds 5] [--json out.json]

Throughput is spectra per second (training: ``core.run.train.training_step`` as ``train`` takes it with the
default TrainConfig: count thinning, response perturbation, the loss with its MMD and response-adversary terms,
backward, clipping and the AdamW step, at the default batch size;
encoding: forward of the encoder only, in encode's batches of 8192, no gradients). The encoder is measured at
1 and 2 torch threads (``--encode-threads``), by the model's torch layers (``model.encode``), by the inference
path that ``encode`` uses (``core.model.inference.EncoderInference``) and by that path with every token through
the last layer too (the kernels' efficiency on the model's full computation), both with the fused C kernels
(``core.model.kernels``) and with torch's operators in their place, each beside a 1024 x 1024 float32 matrix
multiply timed at the same thread count in the same run. The encoder's FLOPs per spectrum are counted by
torch.utils.flop_counter (matrix products and attention; element-wise work is not counted, so the achieved
GFLOP/s is a lower bound on what the hardware does), for each path as it computes: the inference path runs its
last layer for the pooling token alone (the latent reads nothing else), so it does fewer products per spectrum
than the torch layers; its spectra/s is the speed, its GFLOP/s the hardware's use. The load average is printed because the CPU may be shared:
numbers taken while other jobs run are lower, and vary.

The folding cost (issue 8): the instrument-aware model decodes a photon spectrum and folds it through each
spectrum's response (``core.model.instrument``), then fits the source counts by maximum likelihood
(``core.model.likelihood.ml_source_counts``). Both are timed alone on training-size batches spread over four
responses (the dataset's own when ``--data`` has responses.npz), and as a share of a training step.
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
from torch.utils.flop_counter import FlopCounterMode, mm_flop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.model import ModelConfig, SpectrumAutoencoder  # noqa: E402
from core.model.inference import EncoderInference  # noqa: E402
from core.model.kernels import kernels_summary  # noqa: E402
from core.model.instrument import Instrument  # noqa: E402
from core.model.likelihood import ml_source_counts  # noqa: E402
from core.run.encode import ENCODE_BATCH  # noqa: E402
from core.run.train import TrainConfig, optimisers, training_step  # noqa: E402


def spectra(data: str | None, n: int, model: SpectrumAutoencoder,
            seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Instrument, torch.Tensor]:
    """(counts, background, channel weights) (n, B), an Instrument and each spectrum's response index: from a
    dataset folder when given (its responses.npz), else Poisson draws of ~300 counts and four random responses."""
    n_bins, pe, ce = model.config.n_bins, model.photon_edges.numpy(), model.energy_edges.numpy()
    rng = np.random.default_rng(seed)
    if data:
        from core.data.dataset import load_dataset

        ds = load_dataset(Path(data))
        idx = rng.choice(len(ds.catalog), size=n, replace=n > len(ds.catalog))
        counts, bkg = torch.tensor(np.array(ds.spectra[idx])), torch.tensor(np.array(ds.background[idx]))
        weights = torch.tensor(np.asarray(ds.bin_weights()[idx], dtype=np.float32))
        if ds.responses is not None:
            return (counts, bkg, weights, Instrument.from_responses(ds.responses),
                    torch.as_tensor(ds.responses.index[idx], dtype=torch.long))
    else:
        g = torch.Generator().manual_seed(seed)
        shape = torch.rand(n, n_bins, generator=g) ** 2
        shape /= shape.sum(dim=1, keepdim=True)
        bkg = torch.full((n, n_bins), 0.2)
        counts = torch.poisson(shape * 300 + bkg, generator=g)
        weights = torch.ones(n, n_bins)
    inst = Instrument(rng.random((4, len(pe) - 1, len(ce) - 1)).astype(np.float32) / n_bins, pe, ce)
    return counts, bkg, weights, inst, torch.as_tensor(rng.integers(0, 4, n), dtype=torch.long)


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
                    help="torch CPU threads for training (default: training's default; 0 = torch's default)")
    ap.add_argument("--encode-threads", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2],
                    help="torch thread counts the encoder is measured at, comma-separated (default 1,2)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    mc, tc = ModelConfig(), TrainConfig()
    model = SpectrumAutoencoder(mc)
    counts, bkg, weights, inst, index = spectra(args.data, 8192, model)
    opt, adversary, adversary_opt = optimisers(model, tc, inst)
    gen = np.random.default_rng(0)
    pos = [0]

    def train_step() -> int:
        """train's own step, the adversary at its full strength (as after the ramp)."""
        i = pos[0] = (pos[0] + tc.batch_size) % (len(counts) - tc.batch_size)
        sl = slice(i, i + tc.batch_size)
        training_step(model, opt, (counts[sl], bkg[sl], weights[sl], index[sl]), tc, gen, inst, adversary,
                      tc.adversary_weight, adversary_opt)
        return tc.batch_size

    load_before = os.getloadavg()[0]
    n_train, t_train = timed(train_step, args.seconds)
    photons = torch.softmax(torch.randn(tc.batch_size, mc.n_decoded), dim=1)
    ones = torch.ones(tc.batch_size, mc.n_bins)

    @torch.no_grad()
    def fold_step() -> int:
        folded = inst.fold(photons, index[:tc.batch_size])
        ml_source_counts(folded, counts[:tc.batch_size], bkg[:tc.batch_size], ones)
        return tc.batch_size

    n_fold, t_fold = timed(fold_step, args.seconds)
    model.eval()
    train_threads = torch.get_num_threads()
    enc = [encoder_speed(model, counts, bkg, inst, index, threads, args.seconds) for threads in args.encode_threads]
    out = {
        "device": "cpu", "torch_threads_training": train_threads, "cpu_count": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
        "model_config": mc.to_dict(), "train_batch_size": tc.batch_size,
        "train_spectra_per_s": n_train / t_train,
        "fold_and_normalise_spectra_per_s": n_fold / t_fold, "responses": inst.n_responses,
        "fold_share_of_training_step": (t_fold / n_fold) / (t_train / n_train),
        "encoder": enc,
    }
    print(f"load average {load_before:.2f} before, {out['load_average_after']:.2f} after, {out['cpu_count']} CPUs "
          f"(a shared CPU gives lower numbers)")
    print(f"training   {out['train_spectra_per_s']:>10.0f} spectra/s  (batch {tc.batch_size}, train's step: thinning, "
          f"response perturbation, loss with MMD and adversary, backward, AdamW; "
          f"{out['torch_threads_training']} torch thread(s))")
    print(f"folding    {out['fold_and_normalise_spectra_per_s']:>10.0f} spectra/s  (fold through {inst.n_responses} "
          f"responses + ML source counts, forward only): {100 * out['fold_share_of_training_step']:.1f}% of a "
          f"training step's time per spectrum")
    print(f"encoder    {enc[0]['mflop_per_spectrum']:.2f} MFLOP/spectrum in the model's layers, "
          f"{enc[0]['inference_mflop_per_spectrum']:.2f} in the inference path (its last layer for the pooling "
          f"token alone); matrix products, attention included")
    print(f"encoder kernels: {kernels_summary()}")
    for e in enc:
        print(f"{e['threads']} thread(s), matmul {e['matmul_gflop_per_s']:.1f} GFLOP/s:")
        for key, label in PATHS:
            print(f"  {label:<58} {e[f'{key}_spectra_per_s']:>7.0f} spectra/s {e[f'{key}_gflop_per_s']:>6.1f} GFLOP/s "
                  f"{e[f'{key}_share_of_matmul']:>6.1%} of the matmul")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


PATHS = (  # the encoder's ways of computing, as the benchmark names them in its output and JSON
    ("layers", "torch layers (model.encode)"),
    ("inference", "inference path as encode runs it (its kernels)"),
    ("every_token", "the same, every token in the last layer"),
    ("inference_torch_ops", "inference path, torch operators instead of the C kernels"),
    ("every_token_torch_ops", "the same, every token in the last layer"),
)


def _addmm_inplace_flop(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return mm_flop(a_shape, b_shape)  # torch's counter has no entry for the in-place addmm_ the inference path uses


def encoder_speed(model: SpectrumAutoencoder, counts: torch.Tensor, bkg: torch.Tensor, inst: Instrument,
                  index: torch.Tensor, threads: int, seconds: float, batch: int = ENCODE_BATCH) -> dict:
    """Encoder throughput on ``threads`` threads, by the model's torch layers (``model.encode``, torch's fused
    inference "fastpath" on, each operator on ``threads`` torch threads) and by the inference path (its chunks on
    ``threads`` threads of one torch thread each, as ``EncoderInference(threads=...)`` runs them), beside the
    1024 x 1024 matrix multiply on ``threads`` torch threads of the same moment.
    FLOPs per spectrum are those of the encoder's matrix products (attention included), counted on the inference
    path: for the torch layers with every token through every layer, as they compute it (torch's counter misses
    the fastpath's and CPU flash attention's products), for the inference path as it runs (its last layer for
    the pooling token alone, the only output the latent reads): each path's GFLOP/s counts the products it does."""
    fast = EncoderInference(model, threads=threads)  # encode's own kernels: C where they build
    args = (counts[:batch], bkg[:batch], None, inst, index[:batch])

    def counted(pool_only_last: bool) -> float:
        """FLOPs per spectrum of the inference path's products (on this thread: the counter does not see other
        threads' operators)."""
        enc = EncoderInference(model, pool_only_last=pool_only_last, kernels="torch")  # the counter sees torch's
        with FlopCounterMode(display=False, custom_mapping={torch.ops.aten.addmm_: _addmm_inplace_flop}) as fc:
            enc(*args)
        return fc.get_total_flops() / batch

    every_flops = counted(False)
    pool_flops = counted(True)
    flops = {"layers": every_flops, "inference": pool_flops, "every_token": every_flops,
             "inference_torch_ops": pool_flops, "every_token_torch_ops": every_flops}
    torch.set_num_threads(threads)  # torch's layers: each operator split over the threads
    with torch.no_grad():
        n_layers, t_layers = timed(lambda: (model.encode(*args), batch)[1], seconds)
    mm = matmul_gflops(seconds)
    n_fast, t_fast = timed(lambda: (fast(*args), batch)[1], seconds)
    every = EncoderInference(model, threads=threads, pool_only_last=False)  # every token, as the torch layers
    n_every, t_every = timed(lambda: (every(*args), batch)[1], seconds)
    rates = {"layers": n_layers / t_layers, "inference": n_fast / t_fast, "every_token": n_every / t_every}
    for name, pool_only in (("inference_torch_ops", True), ("every_token_torch_ops", False)):  # no C kernels
        plain = EncoderInference(model, threads=threads, pool_only_last=pool_only, kernels="torch")
        n_plain, t_plain = timed(lambda: (plain(*args), batch)[1], seconds)
        rates[name] = n_plain / t_plain
    out = {"threads": threads, "kernels": fast.kernels, "kernels_note": fast.kernels_note,
           "mflop_per_spectrum": flops["layers"] / 1e6,
           "inference_mflop_per_spectrum": flops["inference"] / 1e6, "matmul_gflop_per_s": mm}
    for name, rate in rates.items():
        out[f"{name}_spectra_per_s"] = rate
        out[f"{name}_gflop_per_s"] = rate * flops[name] / 1e9
        out[f"{name}_share_of_matmul"] = rate * flops[name] / 1e9 / mm
    return out


if __name__ == "__main__":
    main()
