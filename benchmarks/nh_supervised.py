"""The autoencoder's own encoder trained **with labels**: how much of log N_H an 8-number summary from this
architecture can carry when it is asked for it, beside the unsupervised latent and the ceiling of nh_ceiling.py.

    .venv/bin/python benchmarks/nh_supervised.py --data datasets/demo [--epochs 60] [--seeds 0,1] [--fresh-noise]
        [--extra-train DIR,...] [--json out.json]

The encoder (``SpectrumAutoencoder.encode``: the default ModelConfig, the same token inputs, the response shape it
is told, dropout) feeds its 8 latent numbers to a linear layer predicting the standardised log N_H (and, as a
second output, Γ where the spectrum has a power law: a shared summary, as the latent is). Trained on the training
split's spectra (every count level: the targets exist for faint spectra too) with AdamW and the default learning
rate schedule's peak rate, mean squared error, early stopping on the validation split's R² of log N_H (patience
8); R² reported on the test split with a 95% bootstrap interval over its spectra (``r2_interval``, as
nh_ceiling.py reports the ceiling). Simulated data: the labels are the demo's true parameters.
``--fresh-noise``: every epoch the training spectra are drawn anew from the simulator's noiseless counts
(``truth.npy``) and expected background (the response's background template at the row's
``expected_background_counts``), source and background region both, as ``build-demo`` draws them: the same
sources, new Poisson noise (needs the demo's responses: ``$XLE_DATA_MIRROR`` or the network).
``--extra-train``: the training splits of other demos (``build-demo --seed N``: the same sources and splits, the
families and parameters drawn anew from the class mixtures) join the training spectra; validation and test stay
``--data``'s. Test sources are test sources in every seed (the split is keyed by name), so none leaks.

What it says: if the supervised encoder reaches the ceiling (~0.58), the architecture and its inputs can carry
what the counts hold and the unsupervised latent's shortfall (0.41-0.44) is the reconstruction objective's; if it
stops near the latent, the encoder (its inputs, size or training) is the limit.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.dataset import load_dataset  # noqa: E402
from core.evaluation.ceiling import r2_interval  # noqa: E402
from core.evaluation.comparison import regression_targets  # noqa: E402
from core.model import ModelConfig, SpectrumAutoencoder  # noqa: E402
from core.model.instrument import instrument_for  # noqa: E402
from core.run.train import TrainConfig  # noqa: E402

TARGETS = ("log_nh", "gamma")


def split_arrays(ds, split: str, response_index: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, ...]:
    """(counts, background, weights, response index, targets (n, 2), target mask (n, 2)) of one split; rows
    without log N_H left out."""
    idx = ds.split_index(split)
    idx = idx[np.isfinite(y[idx, 0])]
    w = ds.bin_weights()
    arrays = (np.asarray(ds.spectra[idx], np.float32), np.asarray(ds.background[idx], np.float32),
              np.asarray(w[idx], np.float32), response_index[idx].astype(np.int64))
    mask = np.isfinite(y[idx])
    return (*(torch.from_numpy(a) for a in arrays), torch.from_numpy(np.nan_to_num(y[idx]).astype(np.float32)),
            torch.from_numpy(mask))


class Supervised(nn.Module):
    """The autoencoder's encoder (8 latent numbers) and a linear read-out of the standardised targets."""

    def __init__(self, mc: ModelConfig, energy_edges: np.ndarray) -> None:
        super().__init__()
        self.ae = SpectrumAutoencoder(mc, energy_edges=energy_edges)
        self.head = nn.Linear(mc.latent_dim, len(TARGETS))

    def forward(self, counts, background, weights, instrument, index) -> torch.Tensor:
        return self.head(self.ae.encode(counts, background, weights, instrument, index))


def predict(model: Supervised, data: tuple[torch.Tensor, ...], instrument, batch: int = 1024) -> np.ndarray:
    """Standardised predictions (n, 2) in eval mode."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(data[0][i:i + batch], data[1][i:i + batch], data[2][i:i + batch], instrument,
                                data[3][i:i + batch]) for i in range(0, len(data[0]), batch)]).numpy()


class FreshNoise:
    """New Poisson draws of the training split's counts and background, as build-demo makes them."""

    def __init__(self, ds, rows: np.ndarray, seed: int) -> None:
        from core.simulate.responses import load_csc_responses
        from core.spectra.energy import EnergyGrid

        grid = EnergyGrid()
        if not np.allclose(grid.edges, ds.energy_edges):
            raise SystemExit(f"--fresh-noise: {ds.path} is not on build-demo's default grid")
        responses = load_csc_responses(grid)
        names = [r.name for r in responses]
        which = np.array([names.index(n) for n in ds.catalog["response"].to_numpy()[rows]])
        template = np.stack([r.background / r.background.sum() for r in responses])
        self.ratio = np.array([r.background_ratio for r in responses])[which][:, None]
        self.background = template[which] * ds.catalog["expected_background_counts"].to_numpy()[rows, None]
        self.truth = np.asarray(ds.truth[rows], dtype=np.float64)
        self.rng = np.random.default_rng([seed, 7])

    def draw(self, counts: torch.Tensor, background: torch.Tensor) -> None:
        counts.copy_(torch.from_numpy(self.rng.poisson(self.truth + self.background).astype(np.float32)))
        region = self.rng.poisson(self.background / self.ratio) * self.ratio
        background.copy_(torch.from_numpy(region.astype(np.float32)))


def train_one(ds, seed: int, epochs: int, patience: int = 8, fresh_noise: bool = False,
              extra: tuple = ()) -> tuple[Supervised, int, list[float]]:
    """Train on the training split, keep the weights of the best validation R² of log N_H."""
    torch.manual_seed(seed)
    mc, tc = ModelConfig(), TrainConfig()
    model = Supervised(mc, ds.energy_edges)
    instrument, index = instrument_for(ds.responses, len(ds.catalog), model.ae.photon_edges.numpy(),
                                       ds.energy_edges)
    model.ae.reference_matrix.copy_(instrument.mean_matrix(torch.as_tensor(index)))
    targets = regression_targets(ds.catalog)
    y = np.stack([targets[t] for t in TARGETS], axis=1)
    train, val = split_arrays(ds, "train", index, y), split_arrays(ds, "val", index, y)
    for other in extra:
        if list(other.responses.names) != list(ds.responses.names) or not np.array_equal(other.catalog["name"],
                                                                                          ds.catalog["name"]):
            raise SystemExit(f"--extra-train {other.path}: not another seed of {ds.path} (responses or sources "
                             "differ)")
        t = regression_targets(other.catalog)
        more = split_arrays(other, "train", other.responses.index, np.stack([t[k] for k in TARGETS], axis=1))
        train = tuple(torch.cat([a, b]) for a, b in zip(train, more))
    idx = ds.split_index("train")
    if fresh_noise and extra:
        raise SystemExit("--fresh-noise redraws --data's training spectra only: not with --extra-train")
    fresh = FreshNoise(ds, idx[np.isfinite(y[idx, 0])], seed) if fresh_noise else None
    mean = np.array([np.nanmean(y[ds.split_index("train"), j]) for j in range(len(TARGETS))], np.float32)
    std = np.array([np.nanstd(y[ds.split_index("train"), j]) for j in range(len(TARGETS))], np.float32)
    mu, sd = torch.from_numpy(mean), torch.from_numpy(std)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    best, best_epoch, best_state, history = -np.inf, -1, None, []
    n = len(train[0])
    for epoch in range(epochs):
        model.train()
        if fresh is not None:
            fresh.draw(train[0], train[1])
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, tc.batch_size):
            b = order[i:i + tc.batch_size]
            out = model(train[0][b], train[1][b], train[2][b], instrument, train[3][b])
            err = ((out - (train[4][b] - mu) / sd) ** 2) * train[5][b]
            loss = err.sum() / train[5][b].sum().clamp(min=1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
        pred = predict(model, val, instrument)[:, 0] * std[0] + mean[0]
        truth = val[4][:, 0].numpy()
        r2 = 1 - ((truth - pred) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()
        history.append(float(r2))
        if r2 > best:
            best, best_epoch = r2, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    model.scale = (mean, std)  # type: ignore[attr-defined]
    model.instrument = instrument  # type: ignore[attr-defined]
    model.index = index  # type: ignore[attr-defined]
    return model, best_epoch + 1, history


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the demo dataset (needs true_nh; responses.npz)")
    ap.add_argument("--epochs", type=int, default=60, help="most epochs (early stopping on validation)")
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds")
    ap.add_argument("--fresh-noise", action="store_true", help="new Poisson draws of the training spectra every "
                    "epoch (the simulator's noiseless counts and expected background)")
    ap.add_argument("--extra-train", default="", help="comma-separated demo folders of other seeds whose training "
                    "splits join the training spectra")
    ap.add_argument("--patience", type=int, default=8, help="epochs without a better validation R² before stopping")
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples for the test intervals")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as training)")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ds = load_dataset(Path(args.data))
    targets = regression_targets(ds.catalog)
    y = np.stack([targets[t] for t in TARGETS], axis=1)
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        extra = tuple(load_dataset(Path(p)) for p in args.extra_train.split(",") if p)
        model, best_epoch, history = train_one(ds, seed, args.epochs, args.patience, args.fresh_noise, extra)
        test = split_arrays(ds, "test", model.index, y)
        mean, std = model.scale
        pred = predict(model, test, model.instrument) * std + mean
        row = {"seed": seed, "best_epoch": best_epoch, "epochs_run": len(history),
               "val_r2_log_nh": history[best_epoch - 1], "seconds": time.perf_counter() - t0}
        for j, name in enumerate(TARGETS):
            ok = test[5][:, j].numpy()
            r2, lo, hi = r2_interval(test[4][:, j].numpy()[ok], pred[ok, j], args.boot)
            row[name] = {"r2": r2, "ci95": [lo, hi], "n": int(ok.sum())}
        results.append(row)
        print(f"seed {seed}: best epoch {best_epoch} of {len(history)} (validation R² of log N_H "
              f"{row['val_r2_log_nh']:.3f}), {row['seconds']:.0f} s; test: "
              + ", ".join(f"{t} R² {row[t]['r2']:.3f} [{row[t]['ci95'][0]:.3f}, {row[t]['ci95'][1]:.3f}] "
                          f"(n = {row[t]['n']})" for t in TARGETS))
    if args.json:
        Path(args.json).write_text(json.dumps({"data": str(args.data), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
