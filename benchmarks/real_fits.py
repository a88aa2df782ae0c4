"""Standard X-ray models fitted directly to real spectra through their own responses: what a spectral fit reaches.

Issue 8 asks the demo model to encode real spectra of >= 500 counts to a deviance per bin <= 1.5. This prints,
for each such spectrum of an ingested dataset, the deviance per bin of maximum-likelihood fits of the models an
X-ray astronomer would try first (the demo's own components, ``core.simulate``: tbabs absorption, power law,
blackbody, multicolour disk, the simplified collisional plasma), each folded through the spectrum's stored
response (``responses.npz``) with its background, Poisson likelihood, the same deviance as ``evaluate``. It says
which physical shape a spectrum needs and whether the demo's families contain it.

Fit: the non-linear parameters (log N_H, Gamma, kT) by L-BFGS-B from the given start and ``--starts - 1`` random
ones; at each point the non-negative component amplitudes by maximum likelihood (multiplicative EM updates with the
background fixed). Two absorbers: "gal" is a fixed 3e20 cm-2 (``core.simulate.families.SCATTER_NH``).

    .venv/bin/python benchmarks/real_fits.py --data DATASET [--min-counts 500] [--starts 6]

One core, about a minute for three spectra. Figures in docs/autoencoder.md (issue 8's fifth pass).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.dataset import load_dataset  # noqa: E402
from core.evaluation.measures import deviance_per_bin, good_weights  # noqa: E402
from core.simulate.families import SCATTER_NH, bbody_photons, diskbb_photons  # noqa: E402
from core.simulate.models import absorption, thermal  # noqa: E402

Components = Callable[[np.ndarray], list[np.ndarray]]


def photon_models(edges: np.ndarray) -> dict[str, tuple[Components, list[float], list[tuple[float, float]]]]:
    """name -> (x -> component photon arrays (E,), start, bounds); x[0] is log10 N_H / 1e22 cm-2."""
    lo, hi = edges[:-1], edges[1:]
    mid, width = 0.5 * (lo + hi), hi - lo
    gal = absorption(np.array([SCATTER_NH]), mid)[0]

    def ab(x):
        return absorption(np.array([10 ** x[0]]), mid)[0]

    def po(g):
        return mid ** (-g) * width

    def bb(kt):
        return bbody_photons(np.array([kt]), mid, width)[0]

    def disk(kt):
        return diskbb_photons(np.array([kt]), mid, width)[0]

    def plasma(kt):
        return thermal(np.array([kt]), lo, hi)[0]

    nh, gamma, hard_gamma = (-3.0, 2.0), (0.0, 4.0), (-1.0, 4.0)
    return {
        "tbabs*po": (lambda x: [ab(x) * po(x[1])], [0.0, 1.8], [nh, gamma]),
        "tbabs*(po+bb)": (lambda x: [ab(x) * po(x[1]), ab(x) * bb(x[2])], [0.0, 1.8, 0.5], [nh, gamma, (0.05, 3.0)]),
        "tbabs*(po+diskbb)": (lambda x: [ab(x) * po(x[1]), ab(x) * disk(x[2])], [0.0, 1.8, 1.0],
                              [nh, gamma, (0.2, 3.0)]),
        "tbabs*(po+plasma)": (lambda x: [ab(x) * po(x[1]), ab(x) * plasma(x[2])], [0.0, 1.8, 0.6],
                              [nh, gamma, (0.1, 10.0)]),
        "tbabs*(plasma+plasma)": (lambda x: [ab(x) * plasma(x[1]), ab(x) * plasma(x[2])], [0.0, 0.6, 5.0],
                                  [nh, (0.1, 3.0), (1.0, 60.0)]),
        "tbabs*po+gal*po (scattered)": (lambda x: [ab(x) * po(x[1]), gal * po(x[1])], [1.0, 1.8], [nh, gamma]),
        "tbabs*po+gal*plasma": (lambda x: [ab(x) * po(x[1]), gal * plasma(x[2])], [1.0, 1.8, 0.6],
                                [nh, gamma, (0.1, 3.0)]),
        "tbabs*(po+bb), Gamma >= -1": (lambda x: [ab(x) * po(x[1]), ab(x) * bb(x[2])], [0.0, 1.0, 0.5],
                                       [nh, hard_gamma, (0.05, 3.0)]),
    }


def ml_amplitudes(folded: np.ndarray, counts: np.ndarray, background: np.ndarray, w: np.ndarray,
                  iterations: int = 300) -> np.ndarray:
    """Non-negative amplitudes a (K,) maximising the Poisson likelihood of counts ~ a @ folded + background."""
    f = folded * w
    a = np.full(len(f), counts.sum() / max(f.sum(), 1e-30))
    for _ in range(iterations):
        mu = a @ f + background * w + 1e-12
        a *= (f @ (counts * w / mu)) / np.maximum(f.sum(axis=1), 1e-30)
    return a


def fit(components: Components, start: list[float], bounds: list[tuple[float, float]], matrix: np.ndarray,
        counts: np.ndarray, background: np.ndarray, w: np.ndarray, starts: int,
        rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray]:
    """(deviance per bin, best x, amplitude-weighted counts share of each component)."""
    def mu_of(x):
        folded = np.stack([c @ matrix for c in components(x)])
        a = ml_amplitudes(folded, counts, background, w)
        return a @ folded + background, a[:, None] * folded

    def cost(x):
        return float(deviance_per_bin(counts[None], mu_of(x)[0][None], w[None])[0])

    best = None
    for k in range(starts):
        x0 = np.array(start) if k == 0 else np.array([rng.uniform(lo, hi) for lo, hi in bounds])
        r = minimize(cost, x0, bounds=bounds, method="L-BFGS-B")
        if best is None or r.fun < best.fun:
            best = r
    share = mu_of(best.x)[1].sum(axis=1)
    return best.fun, best.x, share / max(share.sum(), 1e-30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="dataset folder with responses.npz (ingest's output)")
    ap.add_argument("--min-counts", type=float, default=500.0)
    ap.add_argument("--starts", type=int, default=6, help="optimiser starts per model (the first at its default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ds = load_dataset(args.data)
    if ds.responses is None:
        sys.exit(f"{args.data}: no responses.npz; re-ingest it with this version")
    rs = ds.responses
    matrix = rs.matrix().astype(np.float64)
    models = photon_models(rs.photon_edges)
    weights = good_weights(ds.weights, ds.spectra)
    rows = [i for i in range(len(ds.catalog)) if float(np.asarray(ds.spectra[i]) @ weights[i]) >= args.min_counts]
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    print(f"{args.data}: {len(rows)} spectra with >= {args.min_counts:g} counts; deviance per bin of ML fits")
    for i in rows:
        c, b = np.asarray(ds.spectra[i], np.float64), np.asarray(ds.background[i], np.float64)
        print(f"\n{ds.catalog['id'].iloc[i]} ({int(c @ weights[i]):,} counts)")
        for name, (components, start, bounds) in models.items():
            d, x, share = fit(components, start, bounds, matrix[rs.index[i]], c, b, weights[i], args.starts, rng)
            print(f"  {name:28s} {d:6.3f}   x = {np.array2string(x, precision=3)}   counts share = "
                  f"{np.array2string(share, precision=3)}")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
