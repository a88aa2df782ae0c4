"""Choose model parameters that reproduce a source's catalog hardness ratios.

For each model variant (core.simulate.families: a family with its secondary parameters fixed) a grid of
(N_H, Gamma) or (N_H, kT) is computed once (``make_grid``): band photon fluxes and band energy
fluxes in the CSC s, m, h bands of the absorbed source spectrum (before the instrument, as the catalog's ratios
are). Each source takes the grid point minimising the squared hardness-ratio mismatch plus weak priors:
N_H not below the Galactic column, and Gamma, N_H or kT near the CSC fit (or a class-typical value).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.spectra.hardness import HARDNESS_COLUMNS, band_sums, hardness_ratios

LOG_NH = np.linspace(-2.5, 1.7, 43)  # log10 N_H / 1e22 cm-2: 3e19 to 5e23
GAMMA = np.linspace(-1.0, 4.5, 56)
LOG_KT = np.linspace(np.log10(0.08), np.log10(64.0), 60)
FINE_E = np.linspace(0.3, 9.3, 1801)  # 5 eV integration bins for band fluxes


@dataclass(frozen=True)
class FamilyGrid:
    log_nh: np.ndarray  # (G,)
    shape_param: np.ndarray  # (G,) Gamma or log10 kT
    photon_hr: np.ndarray  # (G, 3) hard_hm, hard_hs, hard_ms from photon fluxes
    energy_hr: np.ndarray  # (G, 3) from energy fluxes


def make_grid(photons: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
              second: np.ndarray) -> FamilyGrid:
    """Hardness ratios of ``photons(nh22, shape_param, energy_lo, energy_hi) -> (G, E)`` (absorbed photons per
    bin) over the grid LOG_NH x ``second`` (Gamma, or log10 kT)."""
    nh, p = (a.ravel() for a in np.meshgrid(LOG_NH, second, indexing="ij"))
    lo, hi = FINE_E[:-1], FINE_E[1:]
    phot = photons(10 ** nh, p, lo, hi)  # (G, E)
    mid = 0.5 * (lo + hi)

    def ratios(bands: dict[str, np.ndarray]) -> np.ndarray:  # (G, 3)
        hr = hardness_ratios(bands)
        return np.stack([hr[name] for name in HARDNESS_COLUMNS], 1)

    return FamilyGrid(nh, p, ratios(band_sums(phot, lo, hi)), ratios(band_sums(phot * mid, lo, hi)))


def invert(g: FamilyGrid, scale: float, targets: np.ndarray, energy_flux: np.ndarray, log_nh_gal: np.ndarray,
           prior_shape: np.ndarray, prior_log_nh: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Best (log10 N_H, shape parameter) per source.

    targets (n, 3) hardness ratios (NaN = unknown, ignored); energy_flux (n,) bool: targets are energy-flux
    ratios; log_nh_gal, prior_shape, prior_log_nh (n,) NaN = no prior; ``scale``: width of the shape prior
    (0.5 in Gamma, 0.3 in log10 kT). A uniform jitter within a grid cell keeps parameters continuous.
    """
    n = len(targets)
    best = np.empty(n, dtype=int)
    for start in range(0, n, 512):
        sl = slice(start, start + 512)
        model = np.where(energy_flux[sl, None, None], g.energy_hr[None], g.photon_hr[None])  # (c, G, 3)
        diff = np.nan_to_num(model - targets[sl, None, :], nan=0.0)
        cost = (diff ** 2).sum(-1)
        gal = np.nan_to_num(log_nh_gal[sl, None] - g.log_nh[None], nan=-1.0)
        cost += 0.05 * np.clip(gal, 0, None) ** 2
        cost += 0.002 * np.nan_to_num(((g.shape_param[None] - prior_shape[sl, None]) / scale) ** 2)
        cost += 0.002 * np.nan_to_num((g.log_nh[None] - prior_log_nh[sl, None]) ** 2)
        best[sl] = cost.argmin(1)
    d_nh = LOG_NH[1] - LOG_NH[0]
    second = np.unique(g.shape_param)
    d_p = second[1] - second[0]
    return (g.log_nh[best] + rng.uniform(-0.5, 0.5, n) * d_nh,
            g.shape_param[best] + rng.uniform(-0.5, 0.5, n) * d_p)
