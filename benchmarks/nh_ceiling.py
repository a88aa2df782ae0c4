"""The most any function of a demo spectrum's counts can tell about log N_H, Γ and kT: the posterior-mean ceiling
(issue 8's target, R² of log N_H >= 0.6 from the latent, against what the spectra hold).

Under squared error the best estimator of a parameter from the counts is its posterior mean under the prior the
spectra were drawn from; its R² on a split is the ceiling for every feature and regressor, the latent included (up
to the finite prior sample). It is given more than a latent ever sees: each spectrum's true response and its
expected (noiseless) background. The prior is the demo's own: the training split's parameter sets (the demo's
draws), plus ``--extra-seeds`` re-draws of those sources (``core.simulate.prior``); each draw's noiseless shape is
folded through the scored spectrum's response (``core.simulate.prior.folded_shapes``, the demo's own folding;
checked against ``truth.npy``). Posterior weights are the Poisson likelihoods of the counts with the source counts S
marginalised (``core.evaluation.ceiling``):
- ``marginal`` (headline): S's prior from the significances of all draws, independent of the parameters;
- ``joint``: S's prior from each draw's own significance (the joint prior of S and the parameters);
- ``profile``: S at its maximum likelihood, no prior.
Convergence in the prior sample: the same with a random half of the training split's draws (``half``), all of
them (``train``) and with the re-draws (``all``). ``noiseless``: the same estimator on the expected counts times
``--noiseless-scale`` (the shape known almost exactly; profile likelihood), the sanity check.

    .venv/bin/python benchmarks/nh_ceiling.py [--data datasets/demo] [--split test] [--extra-seeds 3] [--quick]
        [--out ceiling.json]

One core (torch and BLAS on one thread): the default run took 349 s of CPU (21 min wall on the shared 2-core
machine at load 2-9); figures in docs/autoencoder.md, "The N_H ceiling (issue 8)". Needs a demo built with the
per-source background level (catalog column ``expected_background_counts``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.dataset import load_dataset  # noqa: E402
from core.evaluation.ceiling import evidence, posterior  # noqa: E402
from core.evaluation.comparison import regression_targets  # noqa: E402
from core.simulate.prior import (DRAW_COLUMNS, SourceCountsPrior, expected_background,  # noqa: E402
                                 folded_shapes, redraw_parameters)
from core.simulate.responses import load_csc_responses  # noqa: E402
from core.spectra.energy import EnergyGrid  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nh_ceiling_report import report, score  # noqa: E402

SUBSETS = ("half", "train", "all")


def prior_sample(ds, extra_seeds: int, seed: int = 0):
    """(draws table, {subset: bool mask}): the training split's own draws, then ``extra_seeds`` re-draws."""
    cat = ds.catalog
    own = cat.loc[cat["split"] == "train", ["name", *DRAW_COLUMNS]].reset_index(drop=True)
    own["seed"] = int(ds.info.get("seed", 0))
    half = np.zeros(len(own), dtype=bool)
    half[np.random.default_rng(seed).permutation(len(own))[:len(own) // 2]] = True
    parts = [own]
    if extra_seeds:
        seeds = [int(ds.info.get("seed", 0)) + 1000 + k for k in range(extra_seeds)]
        parts.append(redraw_parameters("train", seeds, ds.info.get("mixtures", "default"))[own.columns])
    import pandas as pd

    draws = pd.concat(parts, ignore_index=True)
    masks = {"half": np.r_[half, np.zeros(len(draws) - len(own), dtype=bool)],
             "train": np.arange(len(draws)) < len(own), "all": np.ones(len(draws), dtype=bool)}
    return draws, {k: v for k, v in masks.items() if k != "all" or extra_seeds}


def estimate(counts: np.ndarray, background: np.ndarray, level: np.ndarray, resp: np.ndarray, shapes: list,
             targets: dict, masks: dict, s_prior: SourceCountsPrior | None) -> tuple[dict, np.ndarray]:
    """Posterior summaries per (variant, subset) for every spectrum, and each spectrum's largest Newton residual
    among the draws that carry weight (> 1e-6, ``marginal`` or ``profile``, widest subset)."""
    variants = ("marginal", "joint", "profile") if s_prior is not None else ("profile",)
    out = {(v, m): [] for v in variants for m in masks}
    residual = np.empty(len(counts))
    groups = [torch.from_numpy(m) for m in masks.values()]
    for i in range(len(counts)):
        ev = evidence(torch.from_numpy(counts[i]), torch.from_numpy(background[i]), shapes[resp[i]], groups=groups)
        u = ev.u.numpy()
        logs = {"profile": ev.profile()}
        if s_prior is not None:
            logs["marginal"] = ev.marginal(torch.from_numpy(s_prior.log_density(u, level[i]).astype(np.float32)))
            logs["joint"] = ev.marginal(torch.from_numpy(
                s_prior.log_density_joint(u, ev.index.numpy(), level[i]).astype(np.float32)))
        for v in variants:
            le = logs[v].numpy()
            for m, mask in masks.items():
                out[(v, m)].append(posterior(le[mask], {k: y[mask] for k, y in targets.items()}))
        w = torch.softmax(logs[variants[0]], 0)[ev.index]
        residual[i] = float(ev.score.abs()[w > 1e-6].max())
        if (i + 1) % 200 == 0:
            print(f"  {i + 1}/{len(counts)} spectra", file=sys.stderr, flush=True)
    return out, residual


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="datasets/demo", help="a simulated demo dataset folder (default datasets/demo)")
    ap.add_argument("--split", default="test", help="split scored (default test)")
    ap.add_argument("--extra-seeds", type=int, default=3, help="re-draws of the training sources added to the prior")
    ap.add_argument("--noiseless-scale", type=float, default=1e4, help="expected counts x this for the noiseless case")
    ap.add_argument("--limit", type=int, default=0, help="score a random subsample of this many spectra")
    ap.add_argument("--quick", action="store_true", help="150 spectra, no re-draws, 300 bootstrap resamples")
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples for the intervals")
    ap.add_argument("--observed-background", action="store_true",
                    help="give the estimator the dataset's background.npy (what a latent sees) instead of the "
                         "expected background")
    ap.add_argument("--run", default=None, help="also a run's latent, its random forest trained on the training "
                                                "split (benchmarks/nh_ceiling_latent.py)")
    ap.add_argument("--out", default=None, help="write every figure to this JSON file")
    args = ap.parse_args()
    if args.quick:
        args.limit, args.extra_seeds, args.boot = args.limit or 150, 0, min(args.boot, 300)
    torch.set_num_threads(1)
    t0 = time.time()
    ds = load_dataset(Path(args.data))
    cat = ds.catalog
    if not ds.simulated or ds.truth is None or "true_nh" not in cat.columns:
        sys.exit(f"{args.data}: not a simulated demo dataset with its truth")
    if "expected_background_counts" not in cat.columns:
        sys.exit(f"{args.data}: built before the background level was drawn per source; rebuild it (build-demo)")
    responses = load_csc_responses(EnergyGrid(**ds.info["grid"]))
    names = [r.name for r in responses]
    rows = ds.split_index(args.split)
    if args.limit and args.limit < len(rows):
        rows = np.sort(np.random.default_rng(0).choice(rows, args.limit, replace=False))
    resp = np.array([names.index(r) for r in cat["response"].iloc[rows]])
    level = cat["expected_background_counts"].to_numpy(float)[rows]
    bkg = expected_background(responses, resp, level)
    truth = np.asarray(ds.truth[rows], dtype=np.float64)

    draws, masks = prior_sample(ds, args.extra_seeds)
    t_prior = time.time() - t0
    shapes = [torch.from_numpy(s) for s in folded_shapes(draws, responses)]
    mine = folded_shapes(cat.iloc[rows], responses, np.float64)
    folded = np.stack([mine[r][i] for i, r in enumerate(resp)]) * cat["expected_source_counts"].to_numpy()[rows, None]
    fold_error = float(np.abs(folded - truth).max() / truth.max())
    if fold_error > 1e-5:
        sys.exit(f"the prior's folding does not reproduce truth.npy (max relative error {fold_error:.2e})")
    targets = regression_targets(draws)
    s_prior = SourceCountsPrior().fit(draws["significance"].to_numpy(float))
    sizes = ", ".join(f"{k} {v.sum()}" for k, v in masks.items())
    print(f"{len(rows)} {args.split} spectra; prior: {len(draws)} draws ({sizes}); "
          f"S-prior bandwidth {s_prior.bandwidth_:.3f} in ln S/N; prior built in {t_prior:.0f} s", flush=True)

    counts = np.asarray(ds.spectra[rows], dtype=np.float32)
    seen_bkg, seen_level = bkg, level
    if args.observed_background:  # the noisy background estimate, and the level it implies
        seen_bkg = np.asarray(ds.background[rows], dtype=np.float64)
        seen_level = seen_bkg.sum(1)
    t1 = time.time()
    noisy, residual = estimate(counts, seen_bkg.astype(np.float32), seen_level, resp, shapes, targets, masks, s_prior)
    t_noisy = time.time() - t1
    scale = args.noiseless_scale
    clean, _ = estimate((scale * (truth + bkg)).astype(np.float32), (scale * bkg).astype(np.float32), scale * level,
                        resp, shapes, targets, masks, None)
    t_clean = time.time() - t1 - t_noisy
    truth_targets = {k: v[rows] for k, v in regression_targets(cat).items()}
    prior_mean = {k: float(np.nanmean(y)) for k, y in targets.items()}
    result = score(noisy, clean, truth_targets, prior_mean, cat["counts"].to_numpy()[rows], args.boot)
    if args.run:
        from nh_ceiling_latent import latent_r2

        result["latent"] = {"run": args.run, **latent_r2(args.run, ds, rows, args.boot)}
    result["conditions"] = {
        "data": str(args.data), "fingerprint": ds.fingerprint, "split": args.split, "n_spectra": int(len(rows)),
        "prior_draws": {k: int(v.sum()) for k, v in masks.items()}, "extra_seeds": args.extra_seeds,
        "background": "observed (background.npy)" if args.observed_background else "expected",
        "noiseless_scale": scale, "s_prior_bandwidth": s_prior.bandwidth_, "fold_max_relative_error": fold_error,
        "newton_residual_max": float(residual.max()), "bootstrap": args.boot,
        "seconds": {"prior": t_prior, "noisy": t_noisy, "noiseless": t_clean, "total": time.time() - t0}}
    report(result)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
