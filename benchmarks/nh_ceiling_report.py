"""Scores and tables of ``nh_ceiling.py``: R² of the posterior means with bootstrap intervals, per estimator
variant and prior size, and where the information about log N_H is (by counts and by N_H)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.evaluation.ceiling import Posterior, r2_interval  # noqa: E402

COUNT_BINS = ((0, 100), (100, 300), (300, 1000), (1000, np.inf))
NH_BINS = ((-np.inf, -1.0), (-1.0, -0.5), (-0.5, 0.0), (0.0, np.inf))  # log10 N_H / 1e22 cm-2


def _predictions(posts: list[Posterior], target: str, fallback: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means; where no weight falls on draws that have the target, the prior mean (marked True)."""
    pred = np.array([p.mean[target] for p in posts], dtype=np.float64)
    missing = ~np.isfinite(pred)
    return np.where(missing, fallback, pred), missing


def _r2_table(results: dict, truth: dict, prior_mean: dict, boot: int) -> dict:
    out = {}
    for (variant, subset), posts in results.items():
        for target, y in truth.items():
            ok = np.isfinite(y)
            pred, missing = _predictions(posts, target, prior_mean[target])
            r2, lo, hi = r2_interval(y[ok], pred[ok], boot)
            out.setdefault(variant, {}).setdefault(subset, {})[target] = {
                "r2": r2, "ci95": [lo, hi], "n": int(ok.sum()), "prior_mean_used": int(missing[ok].sum())}
    return out


def _bins(y: np.ndarray, pred: np.ndarray, key: np.ndarray, edges, boot: int) -> list[dict]:
    sse = ((y - pred) ** 2).sum()
    out = []
    for lo, hi in edges:
        sel = (key >= lo) & (key < hi)
        if sel.sum() < 3:
            continue
        r2, a, b = r2_interval(y[sel], pred[sel], boot)
        out.append({"range": [lo, hi], "n": int(sel.sum()), "r2": r2, "ci95": [a, b],
                    "rmse": float(np.sqrt(((y[sel] - pred[sel]) ** 2).mean())),
                    "bias": float((pred[sel] - y[sel]).mean()),
                    "sse_share": float(((y[sel] - pred[sel]) ** 2).sum() / sse), "std_truth": float(y[sel].std())})
    return out


def score(noisy: dict, clean: dict, truth: dict, prior_mean: dict, counts: np.ndarray, boot: int) -> dict:
    subsets = sorted({s for _, s in noisy}, key=("half", "train", "all").index)
    widest = subsets[-1]
    head, head_clean = noisy[("marginal", widest)], clean[("profile", widest)]
    y = truth["log_nh"]
    pred, _ = _predictions(head, "log_nh", prior_mean["log_nh"])
    pred_clean, _ = _predictions(head_clean, "log_nh", prior_mean["log_nh"])
    var = np.array([p.var["log_nh"] for p in head])
    ess = {s: np.array([p.ess for p in noisy[("marginal", s)]]) for s in subsets}
    return {
        "headline": {"estimator": "marginal", "prior": widest},
        "r2": _r2_table(noisy, truth, prior_mean, boot),
        "r2_noiseless": _r2_table(clean, truth, prior_mean, boot),
        "log_nh_by_counts": _bins(y, pred, counts, COUNT_BINS, boot),
        "log_nh_by_nh": _bins(y, pred, y, NH_BINS, boot),
        "log_nh_noiseless_by_counts": _bins(y, pred_clean, counts, COUNT_BINS, boot),
        "log_nh_noiseless_by_nh": _bins(y, pred_clean, y, NH_BINS, boot),
        "calibration": {"mse": float(((y - pred) ** 2).mean()), "mean_posterior_variance": float(var.mean()),
                        "r2_expected_from_posterior": float(1 - var.mean() / y.var())},
        "ess": {s: {"median": float(np.median(e)), "p5": float(np.percentile(e, 5)),
                    "share_below_20": float((e < 20).mean())} for s, e in ess.items()},
    }


def _interval(r: dict) -> str:
    return f"{r['r2']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"


def report(res: dict) -> None:
    c = res["conditions"]
    print(f"\nR² of the posterior mean, {c['split']} split ({c['n_spectra']} spectra), 95% bootstrap intervals; "
          f"prior draws {c['prior_draws']}")
    for label, table in (("noisy counts", res["r2"]), (f"noiseless (expected counts x {c['noiseless_scale']:g})",
                                                       res["r2_noiseless"])):
        print(f"{label}:")
        for variant, by_subset in table.items():
            for subset, by_target in by_subset.items():
                cells = "  ".join(f"{t} {_interval(r)} (n {r['n']})" for t, r in by_target.items())
                print(f"  {variant:8s} {subset:5s}  {cells}")
    if "latent" in res:
        cells = "  ".join(f"{t} {_interval(r)} (n {r['n']})" for t, r in res["latent"].items() if t != "run")
        print(f"the latent of {res['latent']['run']}, random forest trained on the training split:\n  {cells}")
    h = res["headline"]
    for key, label in (("log_nh_by_counts", "counts"), ("log_nh_by_nh", "log10 N_H/1e22")):
        print(f"log N_H by {label} ({h['estimator']}, prior {h['prior']}; noiseless beside):")
        for b, bc in zip(res[key], res[key.replace("log_nh_", "log_nh_noiseless_")]):
            print(f"  {b['range'][0]:>7g} - {b['range'][1]:<7g} n {b['n']:5d}  R² {_interval(b)}  "
                  f"RMSE {b['rmse']:.3f}  bias {b['bias']:+.3f}  share of squared error {b['sse_share']:.2f}  "
                  f"truth std {b['std_truth']:.3f}  noiseless: R² {bc['r2']:.3f} RMSE {bc['rmse']:.3f}")
    cal = res["calibration"]
    print(f"calibration: MSE {cal['mse']:.4f}, mean posterior variance {cal['mean_posterior_variance']:.4f} "
          f"(R² expected from the posterior {cal['r2_expected_from_posterior']:.3f})")
    print("effective draws per spectrum: " + "; ".join(
        f"{s}: median {e['median']:.0f}, 5% {e['p5']:.1f}, share < 20 {e['share_below_20']:.3f}"
        for s, e in res["ess"].items()))
    print(f"folding against truth.npy: max relative error {c['fold_max_relative_error']:.1e}; Newton residual "
          f"(score x sd of S, draws with weight > 1e-6) max {c['newton_residual_max']:.1e}; seconds "
          + ", ".join(f"{k} {v:.0f}" for k, v in c["seconds"].items()))
