"""Are the real spectra that no model fits piled up? Fits with and without a pile-up model, on their own channels.

`ingest` flags M33 (`source.pi`) and NGC 4258 (`source_bin10.pi`) for events above 10 keV (core/io/pileup.py).
This fits each file's channels from 0.5 to 10 keV (its own PHA, ARF and RMF, not the dataset grid) with a model
folded through its response (plus its scaled background, where it has one), once as is and once through the
pile-up model of Davis (2001, ApJ 562, 575): per frame, lambda(E) = ARF x photons x frame time in the piled region
(a fraction ``--psf-fraction`` of the source); n photons in one frame are read as one event at their summed
energy with probability alpha^(n-1) of a good grade; observed = exp(-Lambda) [lambda + sum_n alpha^(n-1)
Lambda^n / n! p^{*n}], then the RMF. Our own short
implementation for this check (a 4,096-point grid to 15 keV, convolutions by FFT; piled events above the ARF's
last energy, 11 keV, are dropped, so the fit stops at 10 keV), not a validated product model.

    .venv/bin/python benchmarks/pileup_fits.py [--files source,source_bin10,9774]

About 4.5 minutes on the 2 cores here. Figures in docs/autoencoder.md (issue 8's fifth pass).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy.optimize import minimize
from scipy.signal import fftconvolve

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.fetch import fetch  # noqa: E402
from core.evaluation.measures import deviance_per_bin  # noqa: E402
from core.io.response import read_arf  # noqa: E402
from core.io.rmf import read_rmf  # noqa: E402
from core.simulate.families import SCATTER_NH, bbody_photons, diskbb_photons  # noqa: E402
from core.simulate.models import absorption  # noqa: E402

POINTS, TOP_KEV = 4096, 15.0
DE = TOP_KEV / POINTS
ENERGY = np.arange(POINTS) * DE  # point energies: the sum of two points is a point
FILES = {"source": ("source.pi", "source.arf", "source.rmf", "back.pi"),  # stem: PHA, ARF, RMF, background
         "source_bin10": ("source_bin10.pi", "arf.fits", "rmf.fits", None),  # its background.pi is not published
         "9774": ("9774.pi", "9774.arf", "9774.rmf", "9774_bg.pi")}
BAND = (0.5, 10.0)


def piled(lam: np.ndarray, alpha: float, max_terms: int = 40) -> np.ndarray:
    """Detected events per frame at each point from ``lam`` (incident counts per frame per point)."""
    total = float(lam.sum())
    if total <= 0:
        return lam.copy()
    p = lam / total
    out, pn, weight = lam.copy(), p.copy(), total
    for n in range(2, max_terms + 1):
        pn = np.clip(fftconvolve(pn, p)[:POINTS], 0, None)
        weight *= total / n
        out += alpha ** (n - 1) * weight * pn
        if weight < 1e-7 * total:
            break
    return np.exp(-total) * out


class PiledFit:
    """One file: its channels in BAND, and its response on the point grid."""

    def __init__(self, stem: str) -> None:
        pha, arf, rmf = (fetch(f"spectra/{n}") for n in FILES[stem][:3])
        with fits.open(pha) as hdul:  # these three files: COUNTS, all channels of good quality (checked by ingest)
            h = hdul[1]
            self.counts = np.asarray(h.data["COUNTS"], np.float64)
            channels = np.asarray(h.data["CHANNEL"])
            self.exposure, self.frame = float(h.header["EXPOSURE"]), float(h.header["TIMEDEL"])
            backscal = float(h.header["BACKSCAL"])
        self.background = np.zeros_like(self.counts)  # expected background counts (not piled)
        if FILES[stem][3] is not None:
            with fits.open(fetch(f"spectra/{FILES[stem][3]}")) as hdul:
                b = hdul[1]
                self.background = np.asarray(b.data["COUNTS"], np.float64) * (
                    backscal * self.exposure / (float(b.header["BACKSCAL"]) * float(b.header["EXPOSURE"])))
        self.arf, r = read_arf(Path(arf)), read_rmf(Path(rmf))
        self.rmf = r.redistribution.toarray() if hasattr(r.redistribution, "toarray") else np.asarray(r.redistribution)
        centre = 0.5 * (r.e_min + r.e_max)[np.searchsorted(r.channel, channels)]
        self.channel_index = np.searchsorted(r.channel, channels)
        self.band = (centre >= BAND[0]) & (centre < BAND[1])
        lo, hi = self.arf.energ_lo, self.arf.energ_hi
        self.which = np.searchsorted(hi, ENERGY, side="right")
        self.inside = (ENERGY >= lo[0]) & (self.which < len(lo)) & (ENERGY > 0)
        self.area = np.where(self.inside, self.arf.specresp[np.minimum(self.which, len(lo) - 1)], 0.0)
        mid = np.maximum(ENERGY, 1e-4)
        self.mid, self.width = mid, np.full(POINTS, DE)

    def components(self, kind: str, x: np.ndarray) -> list[np.ndarray]:
        absorbed = absorption(np.array([10 ** x[0]]), self.mid)[0]
        power = self.mid ** (-x[1]) * self.width
        if kind == "tbabs*(po+bb)":
            return [absorbed * power, absorbed * bbody_photons(np.array([x[2]]), self.mid, self.width)[0]]
        if kind == "tbabs*(po+diskbb)":
            return [absorbed * power, absorbed * diskbb_photons(np.array([x[2]]), self.mid, self.width)[0]]
        return [absorbed * power, absorption(np.array([SCATTER_NH]), self.mid)[0] * power]  # scattered

    def expected(self, kind: str, x: np.ndarray, amplitudes: np.ndarray, alpha: float, psf: float) -> np.ndarray:
        photons = sum(a * c for a, c in zip(amplitudes, self.components(kind, x))) * self.inside
        lam = photons * self.area * self.frame
        detected = piled(psf * lam, alpha) + (1 - psf) * lam if psf > 0 else lam
        per_bin = np.bincount(self.which[self.inside], weights=detected[self.inside], minlength=len(self.area))
        source = (per_bin[:len(self.arf.specresp)] @ self.rmf)[self.channel_index] * (self.exposure / self.frame)
        return source + self.background

    def deviance(self, mu: np.ndarray) -> float:
        """Poisson deviance per channel in BAND (evaluate's measure, the band as the good channels)."""
        return float(deviance_per_bin(self.counts[None], mu[None], self.band[None].astype(np.float64))[0])


SPECS = {"tbabs*(po+bb)": ([-1.0, 1.0, 0.5], [(-3, 2), (-1, 4), (0.05, 3)]),
         "tbabs*(po+diskbb)": ([-1.0, 2.0, 1.2], [(-3, 2), (-1, 4), (0.2, 3)]),
         "tbabs*po+gal*po (scattered)": ([0.8, 1.5], [(-3, 2), (-1, 4)])}


def fit(f: PiledFit, kind: str, with_pileup: bool, psf: float):
    start, bounds = SPECS[kind]
    k = len(start)

    def cost(p):
        alpha = p[-1] if with_pileup else 0.0
        return f.deviance(f.expected(kind, p[:k], 10 ** np.asarray(p[k:k + 2]), alpha, psf if with_pileup else 0.0))

    best = None
    for log_amp in (-3.5, -3.0, -2.5):
        for alpha in ((0.0, 0.5, 0.9) if with_pileup else (None,)):
            p0 = [*start, log_amp, log_amp] + ([alpha] if with_pileup else [])
            b = [*bounds, (-7, 0), (-7, 0)] + ([(0, 1)] if with_pileup else [])
            r = minimize(cost, p0, bounds=b, method="L-BFGS-B")
            if best is None or r.fun < best.fun:
                best = r
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", default="source,source_bin10,9774", help=f"comma-separated, of {sorted(FILES)}")
    ap.add_argument("--psf-fraction", type=float, default=0.95, help="share of the source in the piled core")
    args = ap.parse_args()
    print(f"deviance per channel, {BAND[0]}-{BAND[1]} keV, each file's own channels and response")
    for stem in args.files.split(","):
        f = PiledFit(stem)
        print(f"\n{stem}: {int(f.counts[f.band].sum()):,} counts in {int(f.band.sum())} channels, frame {f.frame} s")
        for kind in SPECS:
            plain, pile = fit(f, kind, False, args.psf_fraction), fit(f, kind, True, args.psf_fraction)
            k = len(SPECS[kind][0])
            amps = 10 ** pile.x[k:k + 2]
            incident = float((sum(a * c for a, c in zip(amps, f.components(kind, pile.x[:k]))) * f.inside
                              * f.area * f.frame).sum())
            print(f"  {kind:28s} no pile-up {plain.fun:.3f} (log N_H, Gamma[, kT] = "
                  f"{np.array2string(plain.x[:k], precision=2)}) | piled {pile.fun:.3f} "
                  f"({np.array2string(pile.x[:k], precision=2)}, alpha {pile.x[-1]:.2f}, "
                  f"{incident:.2f} incident counts per frame)")


if __name__ == "__main__":
    main()
