"""CSC hardness ratios, computed in one place (docs/design.md, "Facts and conventions").

hard_hm = (h - m)/(h + m), hard_hs = (h - s)/(h + s), hard_ms = (m - s)/(m + s) over the CSC bands
s 0.5-1.2, m 1.2-2.0, h 2.0-7.0 keV. Every hardness ratio of the project comes from here:
- ``band_sums``: values summed into the CSC bands, each channel (or grid bin) assigned by its centre energy;
- ``net_band_counts``: background-subtracted counts per band, bad bins (weight 0) left out, clipped at 0;
- ``band_areas``: the mean ARF effective area of each band, to turn band counts into photon fluxes;
- ``hardness``: the three ratios of a spectrum's (or many spectra's) net counts, divided by the band areas
  when given (ratios of photon fluxes, as the CSC's are, comparable across instruments and epochs) or not
  (ratios of counts, what a model that is not told the response sees).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.spectra.energy import CSC_BANDS

HARDNESS_RATIOS: dict[str, tuple[str, str]] = {
    "hard_hm": ("h", "m"),
    "hard_hs": ("h", "s"),
    "hard_ms": ("m", "s"),
}
HARDNESS_COLUMNS: tuple[str, ...] = tuple(HARDNESS_RATIOS)
RATIO_BANDS = ("s", "m", "h")


def band_sums(values: np.ndarray, energy_lo: np.ndarray, energy_hi: np.ndarray) -> dict[str, np.ndarray]:
    """``values`` (..., C) summed over the channels of each CSC band, by centre energy: band -> (...)."""
    centre = 0.5 * (np.asarray(energy_lo) + np.asarray(energy_hi))
    return {band: np.asarray(values)[..., (centre >= lo) & (centre < hi)].sum(axis=-1)
            for band, (lo, hi) in CSC_BANDS.items()}


def band_areas(arf_energy_lo: np.ndarray, arf_energy_hi: np.ndarray, specresp: np.ndarray) -> dict[str, np.ndarray]:
    """Mean effective area (cm2) of an ARF (..., E) over each of the s, m, h bands."""
    centre = 0.5 * (np.asarray(arf_energy_lo) + np.asarray(arf_energy_hi))
    return {b: np.asarray(specresp)[..., (centre >= lo) & (centre < hi)].mean(axis=-1)
            for b, (lo, hi) in CSC_BANDS.items() if b in RATIO_BANDS}


def hardness_ratio(hard: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """(hard - soft) / (hard + soft); NaN where both are zero (undefined, not 0)."""
    hard = np.asarray(hard, dtype=float)
    soft = np.asarray(soft, dtype=float)
    total = hard + soft
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (hard - soft) / np.where(total > 0, total, 1.0), np.nan)


def hardness_ratios(bands: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The three CSC hardness ratios from band counts (or band fluxes)."""
    return {name: hardness_ratio(bands[h], bands[s]) for name, (h, s) in HARDNESS_RATIOS.items()}


def net_band_counts(counts: np.ndarray, edges: np.ndarray, background: np.ndarray | None = None,
                    weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Background-subtracted counts (..., B) on a grid with ``edges`` summed per band, good bins only, >= 0."""
    net = np.asarray(counts, dtype=np.float64)
    if background is not None:
        net = net - np.asarray(background, dtype=np.float64)
    if weights is not None:
        net = net * np.asarray(weights, dtype=np.float64)
    edges = np.asarray(edges)
    return {b: np.maximum(v, 0.0) for b, v in band_sums(net, edges[:-1], edges[1:]).items()}


def hardness(counts: np.ndarray, edges: np.ndarray, background: np.ndarray | None = None,
             weights: np.ndarray | None = None,
             band_area: Mapping[str, np.ndarray | float] | None = None) -> dict[str, np.ndarray]:
    """hard_hm, hard_hs, hard_ms (...) of net counts (..., B); photon-flux ratios when ``band_area`` is given."""
    bands = net_band_counts(counts, edges, background, weights)
    if band_area is not None:
        bands = {b: (v / band_area[b] if b in band_area else v) for b, v in bands.items()}
    return hardness_ratios(bands)


def hardness_matrix(counts: np.ndarray, edges: np.ndarray, background: np.ndarray | None = None,
                    weights: np.ndarray | None = None,
                    band_area: Mapping[str, np.ndarray | float] | None = None) -> np.ndarray:
    """``hardness`` as an (N, 3) array in ``HARDNESS_COLUMNS`` order; NaN where a ratio is undefined."""
    hr = hardness(counts, edges, background, weights, band_area)
    return np.stack([hr[name] for name in HARDNESS_COLUMNS], axis=-1)
