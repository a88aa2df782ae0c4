"""Physical spectral models, vectorised over sources: photons per cm2 per s in each energy bin (arbitrary norm).

- absorbed power law (accreting sources): E^-Gamma, optionally with a 6.4 keV Fe K-alpha line (AGN);
- absorbed thermal plasma (stars, YSOs, CVs): a simplified collisional plasma, thermal bremsstrahlung with an
  approximate free-free Gaunt factor plus the strongest emission lines, each with an equivalent width that peaks
  at its ion's formation temperature. It is an approximation for simulation, not APEC: line strengths follow
  solar-abundance coronal spectra only roughly.
Absorption is photoelectric, exp(-N_H sigma(E)), with the tbabs cross-sections of ``catalogs/tbabs.data``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from core.data.fetch import fetch

# (line energy keV, peak equivalent width keV, temperature of peak keV)
THERMAL_LINES: tuple[tuple[float, float, float], ...] = (
    (0.574, 0.05, 0.18),  # O VII
    (0.654, 0.08, 0.30),  # O VIII
    (0.826, 0.12, 0.45),  # Fe XVII
    (0.92, 0.20, 0.80),  # Fe L complex / Ne IX
    (1.022, 0.06, 0.60),  # Ne X
    (1.352, 0.04, 0.70),  # Mg XI
    (1.865, 0.05, 1.00),  # Si XIII
    (2.006, 0.03, 1.60),  # Si XIV
    (2.461, 0.04, 1.50),  # S XV
    (3.140, 0.02, 2.50),  # Ar XVII
    (3.902, 0.015, 3.00),  # Ca XIX
    (6.700, 0.35, 6.00),  # Fe XXV
    (6.966, 0.15, 15.0),  # Fe XXVI
)
LINE_WIDTH_DEX = 0.3
FE_KALPHA = (6.4, 0.10)  # keV, equivalent width for AGN


@lru_cache(maxsize=1)
def _tbabs() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(fetch("catalogs/tbabs.data"))
    return table[0], table[1]  # keV, 1e-22 cm2 per H atom


def cross_section(energy_kev: np.ndarray) -> np.ndarray:
    """tbabs photoelectric cross-section (1e-22 cm2 per H), log-log interpolated."""
    e, sigma = _tbabs()
    return np.exp(np.interp(np.log(energy_kev), np.log(e), np.log(sigma)))


def absorption(nh22: np.ndarray, energy_kev: np.ndarray) -> np.ndarray:
    """exp(-N_H sigma): (n,) column densities in 1e22 cm-2 -> (n, E)."""
    return np.exp(-np.outer(nh22, cross_section(energy_kev)))


def _add_line(flux: np.ndarray, energy_lo: np.ndarray, energy_hi: np.ndarray, line_kev: float,
              photons: np.ndarray) -> None:
    """Add an unresolved line (the RMF supplies the instrument's broadening) to the bin holding it."""
    i = np.searchsorted(energy_hi, line_kev)
    if 0 <= i < len(energy_lo) and energy_lo[i] <= line_kev:
        flux[:, i] += photons


def powerlaw(gamma: np.ndarray, energy_lo: np.ndarray, energy_hi: np.ndarray,
             fe_line: np.ndarray | None = None) -> np.ndarray:
    """Unabsorbed power-law photons per bin, (n, E); ``fe_line`` (n,) bool adds the 6.4 keV line."""
    mid, width = 0.5 * (energy_lo + energy_hi), energy_hi - energy_lo
    flux = mid[None, :] ** (-np.asarray(gamma)[:, None]) * width[None, :]
    if fe_line is not None and np.any(fe_line):
        line_e, ew = FE_KALPHA
        continuum = line_e ** (-np.asarray(gamma))
        _add_line(flux, energy_lo, energy_hi, line_e, np.where(fe_line, ew * continuum, 0.0))
    return flux


def _gaunt(energy: np.ndarray, kt: np.ndarray) -> np.ndarray:
    """Approximate free-free Gaunt factor (order-unity, slowly varying): sqrt(3)/pi ln(1 + 2.25 kT/E) + 0.3."""
    return np.sqrt(3) / np.pi * np.log1p(2.25 * kt / energy) + 0.3


def thermal(kt: np.ndarray, energy_lo: np.ndarray, energy_hi: np.ndarray) -> np.ndarray:
    """Unabsorbed simplified collisional-plasma photons per bin, (n, E)."""
    kt = np.asarray(kt, dtype=float)[:, None]
    mid, width = 0.5 * (energy_lo + energy_hi), energy_hi - energy_lo

    def continuum(e: np.ndarray) -> np.ndarray:
        return _gaunt(e, kt) * np.exp(-e / kt) / e / np.sqrt(kt)

    flux = continuum(mid[None, :]) * width[None, :]
    for line_e, ew0, kt_peak in THERMAL_LINES:
        ew = ew0 * np.exp(-0.5 * (np.log10(kt[:, 0] / kt_peak) / LINE_WIDTH_DEX) ** 2)
        _add_line(flux, energy_lo, energy_hi, line_e, ew * continuum(np.full((1, 1), line_e))[:, 0])
    return flux


def model_photons(family: np.ndarray, nh22: np.ndarray, gamma: np.ndarray, kt: np.ndarray,
                  fe_line: np.ndarray, energy_lo: np.ndarray, energy_hi: np.ndarray) -> np.ndarray:
    """Absorbed photons per bin (n, E) for a mix of families ('powerlaw' or 'thermal')."""
    out = np.empty((len(family), len(energy_lo)))
    pl = family == "powerlaw"
    if np.any(pl):
        out[pl] = powerlaw(gamma[pl], energy_lo, energy_hi, fe_line[pl])
    if np.any(~pl):
        out[~pl] = thermal(kt[~pl], energy_lo, energy_hi)
    mid = 0.5 * (energy_lo + energy_hi)
    return out * absorption(nh22, mid)
