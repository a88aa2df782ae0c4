"""The Spectrum object every reader returns: counts on a fixed energy grid plus what is known about them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.spectra.energy import CSC_BANDS, EnergyGrid, band_counts, hardness_ratios


@dataclass
class Spectrum:
    """An ACIS imaging spectrum on ``grid``.

    ``counts``      (B,) observed counts per grid bin (whole numbers; data are never edited)
    ``background``  (B,) expected background counts in the source region (background spectrum scaled by the
                    BACKSCAL, AREASCAL and exposure ratios); zeros when there is no background
    ``weights``     (B,) 1 for good bins, 0 for bins holding a channel with QUALITY != 0
    ``sources``     where each value came from (file, HDU, keyword), for provenance
    """

    path: Path
    grid: EnergyGrid
    counts: np.ndarray
    background: np.ndarray
    weights: np.ndarray
    exposure: float
    file_counts: int
    meta: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def edges(self) -> np.ndarray:
        return self.grid.edges

    @property
    def total_counts(self) -> int:
        return int(self.counts.sum())

    @property
    def band_area(self) -> dict[str, float]:
        """Mean ARF effective area (cm2) in each CSC band, from ``meta`` (set by the readers)."""
        return {b: float(self.meta[f"area_{b}"]) for b in ("s", "m", "h") if f"area_{b}" in self.meta}

    @property
    def hardness(self) -> dict[str, float]:
        """CSC hardness ratios of this spectrum's counts (see ``grid_hardness``)."""
        h = grid_hardness(self.counts, self.background, self.grid.edges, self.band_area or None)
        return {k: float(v) for k, v in h.items()}


def grid_band_counts(counts: np.ndarray, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Counts in each CSC band from grid counts (..., B), each bin assigned to a band by its centre energy."""
    return band_counts(counts, edges[:-1], edges[1:])


def band_areas(arf_energy_lo: np.ndarray, arf_energy_hi: np.ndarray, specresp: np.ndarray) -> dict[str, np.ndarray]:
    """Mean effective area (cm2) of an ARF (..., E) over each of the CSC s, m, h bands."""
    centre = 0.5 * (arf_energy_lo + arf_energy_hi)
    return {b: np.asarray(specresp)[..., (centre >= lo) & (centre < hi)].mean(axis=-1)
            for b, (lo, hi) in CSC_BANDS.items() if b in ("s", "m", "h")}


def grid_hardness(counts: np.ndarray, background: np.ndarray | None, edges: np.ndarray,
                  band_area: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Hardness ratios (...) of net counts in the CSC bands (counts - background, band totals clipped at 0).

    With ``band_area`` (mean ARF per band, cm2) each band's net counts are divided by it first, so the ratios are
    of photon fluxes as the CSC's are, and compare across instruments and epochs (ACIS-I against a contaminated
    late ACIS-S, say); without it they are ratios of raw counts.
    """
    net_bands = grid_band_counts(np.asarray(counts, dtype=np.float64), edges)
    if background is not None:
        bkg_bands = grid_band_counts(np.asarray(background, dtype=np.float64), edges)
        net_bands = {b: np.clip(net_bands[b] - bkg_bands[b], 0.0, None) for b in net_bands}
    if band_area is not None:
        net_bands = {b: (v / band_area[b] if b in band_area else v) for b, v in net_bands.items()}
    return hardness_ratios(net_bands)
