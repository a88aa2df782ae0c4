"""The Spectrum object every reader returns: counts on a fixed energy grid plus what is known about them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.energy import CSC_BANDS, EnergyGrid, hardness_ratios


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
    def hardness(self) -> dict[str, float]:
        """CSC hardness ratios from background-subtracted counts on the grid (NaN when a pair has no counts)."""
        return {k: float(v) for k, v in grid_hardness(self.counts, self.background, self.grid.edges).items()}


def grid_band_counts(counts: np.ndarray, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Counts in each CSC band from grid counts (..., B), each bin assigned to a band by its centre energy."""
    centre = 0.5 * (edges[1:] + edges[:-1])
    return {band: counts[..., (centre >= lo) & (centre < hi)].sum(axis=-1) for band, (lo, hi) in CSC_BANDS.items()}


def grid_hardness(counts: np.ndarray, background: np.ndarray | None, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Hardness ratios of net counts (counts - background, negative band totals clipped to 0), shape (...)."""
    net_bands = grid_band_counts(np.asarray(counts, dtype=np.float64), edges)
    if background is not None:
        bkg_bands = grid_band_counts(np.asarray(background, dtype=np.float64), edges)
        net_bands = {b: np.clip(net_bands[b] - bkg_bands[b], 0.0, None) for b in net_bands}
    return hardness_ratios(net_bands)
