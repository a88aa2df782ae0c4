"""How much of the response (which of a dataset's responses a spectrum went through) a feature set tells, beside
the floors that carry no spectral shape, and how much of it a latent holds beyond what `evaluate` measures.

Prints balanced accuracy of predicting the response (chance 1 / number of responses) on a split:
- floors, random forest over 5x5 repeated folds grouped by source (as `evaluate`'s instrument leakage): the
  count level (log total counts, with and without the background fraction), hardness ratios of the counts,
  ARF-corrected hardness ratios, and, for simulated data, the true parameters and family;
- with ``--run``: the run's latent under the same folds (`metrics.json` `instrument.response_balanced_accuracy`
  on the test split), then classifiers trained on the *training split's* latents (7,762 spectra on the demo,
  against ~1,350 per fold) and scored on the split: a random forest of 200 trees and a fresh MLP of the response
  adversary's shape (``core.model.adversary``) trained to convergence; and the run's own in-training classifier
  (``checkpoint.pt``), when it has one. A latent that fools its in-training classifier can still hold the
  response: the fresh MLP says how much.
- with ``--posterior``: a floor for an encoder that is told the response: gradient boosting trained with labels
  on the training split, from counts, background and response one-hot, predicts the catalog photon-flux hardness
  ratios and log N_H; its predictions are scored as a feature set (slow: ~1-2 min of CPU).

    .venv/bin/python benchmarks/response_leakage.py --data datasets/demo [--run runs/demo] [--split test]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.dataset import load_dataset  # noqa: E402
from core.evaluation import features as feature_sets  # noqa: E402
from core.evaluation.classification import supervised_cv  # noqa: E402
from core.evaluation.comparison import groups_of  # noqa: E402
from core.evaluation.repeated import repeated_folds  # noqa: E402
from core.spectra.hardness import hardness_matrix  # noqa: E402


def line(name: str, r: dict) -> None:
    lo, hi = r["ci95"]
    print(f"  {name:58s} {r['balanced_accuracy']:.3f} [{lo:.3f}, {hi:.3f}]", flush=True)


def plain(name: str, score: float) -> None:
    print(f"  {name:58s} {score:.3f}", flush=True)


def fresh_mlp(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n_classes: int, hidden: int = 64,
              epochs: int = 200) -> np.ndarray:
    """The adversary's classifier shape, trained from scratch to convergence (Adam, standardised inputs)."""
    from core.model.adversary import ResponseAdversary

    torch.manual_seed(0)
    net = ResponseAdversary(x_train.shape[1], n_classes, hidden)
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-9
    x = torch.as_tensor((x_train - mu) / sd, dtype=torch.float32)
    y = torch.as_tensor(y_train)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 256):
            j = perm[i:i + 256]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[j]), y[j]).backward()
            opt.step()
    with torch.no_grad():
        return net(torch.as_tensor((x_test - mu) / sd, dtype=torch.float32)).argmax(1).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder with a 'response' column")
    ap.add_argument("--run", default=None, help="run folder whose latent to score (encoded fresh, encoder alone)")
    ap.add_argument("--split", default="test", help="split scored (default test; choose settings on val)")
    ap.add_argument("--repeats", type=int, default=5, help="repeats of the 5 folds (default 5)")
    ap.add_argument("--posterior", action="store_true", help="also the posterior-mean floor (slow)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
    from sklearn.metrics import balanced_accuracy_score

    ds = load_dataset(Path(args.data))
    cat = ds.catalog
    resp = cat["response"].astype(str).to_numpy()
    rows, train = ds.split_index(args.split), ds.split_index("train")
    y = resp[rows]
    folds = repeated_folds(y, groups_of(cat, rows), 5, args.repeats, 0)
    cv = lambda X: supervised_cv(np.asarray(X, dtype=np.float64), y, "random_forest", folds, 0, 50)  # noqa: E731
    w = ds.bin_weights()
    counts = (np.asarray(ds.spectra[rows], float) * w[rows]).sum(1)
    bkg = (np.asarray(ds.background[rows], float) * w[rows]).sum(1)
    log_n = np.log10(counts + 1)[:, None]
    bfrac = (bkg / np.maximum(counts, 1))[:, None]
    print(f"response from features, {args.split} split ({len(rows)} spectra, {len(np.unique(y))} responses, chance "
          f"{1 / len(np.unique(y)):.3f}); random forest, 5x{args.repeats} folds, mean [95% interval]:")
    line("log total counts", cv(log_n))
    line("log total counts + background fraction", cv(np.c_[log_n, bfrac]))
    hr = hardness_matrix(ds.spectra, ds.energy_edges, ds.background, ds.weights)[rows]
    line("hardness ratios of the counts (no ARF)", cv(hr))
    ref = feature_sets.catalog_hardness(cat, "")
    if ref is not None:
        line("ARF-corrected hardness ratios (hard_*)", cv(ref[rows]))
        line("log counts + background fraction + ARF-corrected hardness", cv(np.c_[log_n, bfrac, ref[rows]]))
    family = feature_sets.true_family_onehot(cat)
    if family is not None and "true_nh" in cat.columns:
        t = {k: cat[k].to_numpy(float)[rows] for k in ("true_nh", "true_gamma", "true_kt")}
        truth = np.c_[np.log10(t["true_nh"]), np.nan_to_num(t["true_gamma"], nan=-9),
                      np.log10(np.nan_to_num(t["true_kt"], nan=1e-3)), family[rows]]
        line("true parameters (log N_H, Gamma, log kT) + family", cv(truth))
    codes = {r: i for i, r in enumerate(np.unique(resp))}
    yi = np.array([codes[r] for r in resp])
    if args.posterior:
        onehot = (resp[:, None] == np.unique(resp)[None]).astype(float)

        def spectra_features(idx: np.ndarray) -> np.ndarray:
            c, b = np.asarray(ds.spectra[idx], float), np.asarray(ds.background[idx], float)
            n = c.sum(1, keepdims=True).clip(1)
            return np.c_[np.sqrt(c / n * c.shape[1]), np.sqrt(b / n * c.shape[1]), np.log10(n), onehot[idx]]

        xtr, xte = spectra_features(train), spectra_features(rows)
        targets = [cat[k].to_numpy(float) for k in ("catalog_hard_hm", "catalog_hard_hs", "catalog_hard_ms")]
        targets.append(np.log10(cat["true_nh"].to_numpy(float)))
        pred = []
        for target in targets:
            ok = np.isfinite(target[train])
            m = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=0)
            pred.append(m.fit(xtr[ok], target[train][ok]).predict(xte))
        line("posterior mean of catalog HRs + log N_H, told the response", cv(np.column_stack(pred)))
    if args.run is None:
        return
    from core.model.adversary import ResponseAdversary
    from core.run.encode import dataset_instrument, encode_spectra
    from core.run.folder import CHECKPOINT, RunFolder

    run = RunFolder(Path(args.run))
    model = run.load_model("cpu")
    inst, index = dataset_instrument(model, ds)

    def latents(idx: np.ndarray) -> np.ndarray:
        return encode_spectra(model, ds.spectra[idx], ds.background[idx],
                              None if ds.weights is None else ds.weights[idx], instrument=inst,
                              index=None if index is None else index[idx]).astype(np.float64)

    lat, lat_train = latents(rows), latents(train)
    print(f"the latent of {args.run}:")
    line("random forest, 5x folds on the split (as evaluate)", cv(lat))
    rf = RandomForestClassifier(200, n_jobs=1, random_state=0).fit(lat_train, yi[train])
    plain("random forest (200 trees) trained on the training split", balanced_accuracy_score(yi[rows], rf.predict(lat)))
    n_resp = len(codes)
    plain("fresh MLP (adversary's shape) trained on the training split",
          balanced_accuracy_score(yi[rows], fresh_mlp(lat_train, yi[train], lat, n_resp)))
    if run.has(CHECKPOINT) and index is not None:
        ckpt = torch.load(run.file(CHECKPOINT), map_location="cpu", weights_only=True)
        if "adversary" in ckpt:
            state = ckpt["adversary"]
            adv = ResponseAdversary(lat.shape[1], int(index.max()) + 1, state["net.0.weight"].shape[0])
            adv.load_state_dict(state)
            with torch.no_grad():
                p = adv(torch.as_tensor(lat, dtype=torch.float32)).argmax(1).numpy()
            plain("the run's own in-training classifier (checkpoint.pt)", balanced_accuracy_score(index[rows], p))


if __name__ == "__main__":
    main()
