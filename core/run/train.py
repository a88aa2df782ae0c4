"""Training: ``train(data_dir, run_dir)`` fills a run folder (config.json, model.safetensors, checkpoint.pt,
history.csv; named in ``core.run.folder``, described in docs/formats.md).

- Deterministic for a seed: the shuffling and dropout randomness of epoch e come from generators seeded with
  (seed, e), so a run resumed after a crash continues exactly as if it had never stopped.
- Resumable: ``checkpoint.pt`` (model, optimiser, counters, history; tensors and plain values only, read with
  ``weights_only=True``) is written atomically after every epoch; calling ``train`` again on the same run folder
  with the same configuration, on the same dataset, picks up after the last finished epoch (another dataset is
  refused: ``config.json`` records the checksum of the dataset's ids).
- Count thinning (``count_split``, on by default; not to be confused with the train/val/test split): each
  spectrum's counts c are thinned at random into two independent Poisson parts, a ~ Binomial(c, f) and c - a, with f drawn in [split_min, split_max] and the
  background split in the same proportion. The encoder sees a, the loss scores the decoded shape against c - a.
  The two parts' noise is independent, so the model cannot learn to reproduce the noise of what it is scored
  on: the loss stays an unbiased estimate of KL(true shape || decoded shape) + const however long one trains,
  and it doubles as a fainter-spectrum augmentation (faint spectra are the norm). Validation uses one fixed
  thinning, so the validation loss measures that same quantity. Without it the model overfits the training noise
  within ~10 epochs on the demo.
- One CPU thread by default: the model's matrices are small, so a second thread gains at most ~1.5x on an idle
  2-core machine, while on a shared one (other jobs running) torch's threads wait on each other at every
  operation and a training step measured 5 s instead of 0.15 s. ``threads=0`` uses torch's default.
- Early stopping: training ends after ``patience`` epochs without a better validation loss;
  ``model.safetensors`` always holds the best weights so far.
"""
from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from core.data.dataset import Dataset, load_dataset
from core.errors import ConfigError, DatasetError
from core.model.adversary import ResponseAdversary, ramp
from core.model.autoencoder import SpectrumAutoencoder
from core.model.checkpoint import save_model
from core.model.config import ModelConfig
from core.model.instrument import Instrument, instrument_for
from core.run.folder import CHECKPOINT, CONFIG, WEIGHTS, RunFolder
from core.run.losses import batch_loss, evaluate_loss, thin_counts  # noqa: F401 (thin_counts: tests)
from core.run.train_config import TrainConfig

RESUME_IGNORES = ("device", "threads")  # training settings that may change between a crash and its resume


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r}: CUDA is not available on this machine; use 'auto' or 'cpu'")
    return torch.device(name)


def lr_at(step: float, steps_per_epoch: int, tc: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to lr * min_lr_ratio at max_epochs."""
    warm = tc.warmup_epochs * steps_per_epoch
    total = tc.max_epochs * steps_per_epoch
    if step < warm:
        return tc.lr * (step + 1) / warm
    frac = min(1.0, (step - warm) / max(1, total - warm))
    return tc.lr * (tc.min_lr_ratio + (1 - tc.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def split_tensors(ds: Dataset, split: str, min_counts: int, device: torch.device,
                  response_index: np.ndarray) -> tuple[torch.Tensor, ...]:
    """(counts, background, weights) of one split as (n, B) float32 tensors and each row's response index (n,),
    faint-beyond-use spectra left out."""
    idx = ds.split_index(split)
    w_all = ds.bin_weights()
    counts = np.asarray(ds.spectra[idx], dtype=np.float32)
    weights = np.asarray(w_all[idx], dtype=np.float32)
    keep = (counts * weights).sum(axis=1) >= max(min_counts, 1)
    if not keep.any():
        raise DatasetError(f"{ds.path}: no {split} spectra with at least {max(min_counts, 1)} counts")
    arrays = (counts[keep], np.asarray(ds.background[idx], dtype=np.float32)[keep], weights[keep],
              np.asarray(response_index[idx], dtype=np.int64)[keep])
    return tuple(torch.from_numpy(a).to(device) for a in arrays)


def optimisers(model: SpectrumAutoencoder, tc: TrainConfig, instrument: Instrument) -> tuple[
        torch.optim.Optimizer, ResponseAdversary | None, torch.optim.Optimizer | None]:
    """(the model's AdamW, the response adversary or None, the adversary's own optimiser or None) as ``tc`` asks:
    the adversary (core.model.adversary) only for a folding model seeing more than one response; it is trained
    here and never saved with the model."""
    mc = model.config
    device = next(model.parameters()).device
    adversary = None
    if tc.adversary_weight > 0 and mc.folds and instrument.n_responses > 1:
        adversary = ResponseAdversary(mc.latent_dim, instrument.n_responses, tc.adversary_hidden).to(device)
    own_opt = adversary is not None and tc.adversary_steps > 0  # the classifier's own optimiser, constant lr
    adv_opt = torch.optim.Adam(adversary.parameters(), lr=tc.adversary_lr) if own_opt else None
    params = list(model.parameters()) + ([] if adversary is None or own_opt else list(adversary.parameters()))
    return torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay), adversary, adv_opt


def training_step(model: SpectrumAutoencoder, opt: torch.optim.Optimizer, batch: tuple[torch.Tensor, ...],
                  tc: TrainConfig, gen: np.random.Generator, instrument: Instrument,
                  adversary: ResponseAdversary | None, strength: float,
                  adversary_opt: torch.optim.Optimizer | None) -> float:
    """One optimisation step on ``batch`` (counts, background, weights, response index): the batch's loss with
    every term ``tc`` asks for, backward, gradient clipping, the optimiser's step. Returns the loss."""
    loss = batch_loss(model, *batch, tc, gen, instrument, adversary=adversary, strength=strength,
                      adversary_opt=adversary_opt)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if tc.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
    opt.step()
    return float(loss.detach())


def _state_bytes(obj: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _check_resume(run_dir: Path, saved: dict[str, Any], mc: ModelConfig, tc: TrainConfig) -> None:
    for name, want in (("model", mc.to_dict()), ("train", tc.to_dict())):
        # fields a run saved before they existed take the values such runs had (ModelConfig: instrument "none")
        have = (ModelConfig if name == "model" else TrainConfig).from_dict(saved.get(name, {})).to_dict()
        diff = [k for k in want if k not in RESUME_IGNORES and have.get(k) != want[k]]
        if diff:
            k = diff[0]
            raise ConfigError(f"{run_dir}: this run was started with {name} {k}={have.get(k)!r}, not {want[k]!r}; "
                              f"to resume keep the same configuration, or pass --overwrite to start again")


def train(data_dir: Path, run_dir: Path, model_config: ModelConfig | None = None,
          train_config: TrainConfig | None = None, progress: bool = True, overwrite: bool = False,
          on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> Path:
    """Train (or resume training) the autoencoder on a dataset folder; returns the run folder."""
    run = RunFolder(run_dir)
    ds = load_dataset(Path(data_dir))
    mc = model_config or ModelConfig(n_bins=ds.n_bins)
    tc = train_config or TrainConfig()
    if mc.n_bins != ds.n_bins:
        raise ConfigError(f"n_bins={mc.n_bins} but the dataset {ds.path} has {ds.n_bins} bins per spectrum")
    device = resolve_device(tc.device)
    if overwrite:
        run.clear()
    run.create()

    ckpt: dict[str, Any] | None = None
    if run.has(CHECKPOINT):
        ckpt = torch.load(run.file(CHECKPOINT), map_location="cpu", weights_only=True)
        _check_resume(run.path, {"model": ckpt["model_config"], "train": ckpt["train_config"]}, mc, tc)
        run.check_dataset(ds)
        if ckpt["done"]:
            if progress:
                print(f"{run.path}: training already finished (best epoch {ckpt['best_epoch']}); nothing to do")
            return run.path
    torch.manual_seed(tc.seed)
    model = SpectrumAutoencoder(mc, energy_edges=ds.energy_edges).to(device)
    if mc.folds:
        instrument, resp_index = instrument_for(ds.responses, len(ds.catalog), model.photon_edges.cpu().numpy(),
                                                ds.energy_edges)
    else:
        instrument = Instrument(np.eye(ds.n_bins), ds.energy_edges, ds.energy_edges)  # unused by "none" models
        resp_index = np.zeros(len(ds.catalog), dtype=np.int64)
    instrument = instrument.to(device)
    responses_note = (f"{ds.responses.n_responses} responses (responses.npz)" if ds.responses is not None else
                      "none stored: the nominal response (photon spectrum = counts spectrum)")
    run.write_json(CONFIG, {"model": mc.to_dict(), "train": tc.to_dict(), "dataset": str(ds.path.resolve()),
                            "dataset_sha256": ds.fingerprint, "dataset_info": ds.info, "responses": responses_note})

    train_data = split_tensors(ds, "train", tc.min_counts, device, resp_index)
    val_data = split_tensors(ds, "val", tc.min_counts, device, resp_index)
    if mc.folds:  # the response a latent is decoded through when no spectrum gives one (latent traversal)
        model.reference_matrix.copy_(instrument.mean_matrix(train_data[3]))
    opt, adversary, adv_opt = optimisers(model, tc, instrument)
    history: list[dict[str, float]] = []
    start_epoch, best_val, best_epoch = 0, math.inf, -1
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        if adversary is not None:
            adversary.load_state_dict(ckpt["adversary"])
        if adv_opt is not None:
            adv_opt.load_state_dict(ckpt["adversary_optimizer"])
        opt.load_state_dict(ckpt["optimizer"])
        history = [dict(h) for h in ckpt["history"]]
        start_epoch, best_val, best_epoch = ckpt["epoch"], ckpt["best_val"], ckpt["best_epoch"]

    n_train = len(train_data[0])
    steps_per_epoch = -(-n_train // tc.batch_size)
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    bar = tqdm(range(start_epoch, tc.max_epochs), desc="training", unit="epoch", disable=not progress,
               initial=start_epoch, total=tc.max_epochs)
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            if adversary is not None:
                adversary.train()
            gen = torch.Generator().manual_seed(tc.seed * 100003 + epoch)
            torch.manual_seed(tc.seed * 100003 + epoch)  # dropout of this epoch
            order = torch.randperm(n_train, generator=gen).to(device)
            split_gen = np.random.default_rng([tc.seed, 2, epoch])
            total, lr = 0.0, tc.lr
            for step in range(steps_per_epoch):
                lr = lr_at(epoch * steps_per_epoch + step, steps_per_epoch, tc)
                for group in opt.param_groups:
                    group["lr"] = lr
                idx = order[step * tc.batch_size:(step + 1) * tc.batch_size]
                done_frac = (epoch * steps_per_epoch + step) / (tc.max_epochs * steps_per_epoch)
                strength = tc.adversary_weight * ramp(done_frac)
                total += training_step(model, opt, tuple(t[idx] for t in train_data), tc, split_gen, instrument,
                                       adversary, strength, adv_opt) * len(idx)
            val = evaluate_loss(model, val_data, 4 * tc.batch_size, tc, instrument)
            row = {"epoch": epoch + 1, "train_loss": total / n_train, "val_loss": val, "lr": lr,
                   "seconds": time.perf_counter() - t0}
            history.append(row)
            if val < best_val:
                best_val, best_epoch = val, epoch + 1
                save_model(model, run.file(WEIGHTS))
            done = epoch + 1 >= tc.max_epochs or epoch + 1 - best_epoch >= tc.patience
            run.write_history(history)
            run.write_bytes(CHECKPOINT, _state_bytes({
                "model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                "best_val": best_val, "best_epoch": best_epoch, "history": history, "done": done,
                "model_config": mc.to_dict(), "train_config": tc.to_dict(),
                **({} if adversary is None else {"adversary": adversary.state_dict()}),
                **({} if adv_opt is None else {"adversary_optimizer": adv_opt.state_dict()}),
            }))
            bar.set_postfix(train=f"{row['train_loss']:.4f}", val=f"{val:.4f}", best=best_epoch)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, row)
            if done:
                break
    finally:
        bar.close()
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)
    return run.path
