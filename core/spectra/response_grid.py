"""The model's photon energy grid and the folding of a response (ARF x RMF) onto it.

The autoencoder decodes a source's photon spectrum on one fixed grid (``PhotonGrid``) and folds it through each
spectrum's own response into expected counts on the dataset's channel grid, as XSPEC and Sherpa fold a model:
expected counts in channel-grid bin b = exposure * sum_e photons_e * arf_e * rmf[e, b], with photons_e in
photons cm-2 s-1 in photon-grid bin e, arf_e in cm2 and rmf[e, b] the probability that a photon of bin e lands
in channel-grid bin b (channels are assigned to grid bins by their EBOUNDS centre, as the readers do).

The grid: 240 log-spaced bins from 0.3 to 10 keV (E / dE = 68 everywhere). That is finer than the ACIS
resolution at every energy (E / FWHM 5-50), wider than the channel grid (0.5-7 keV) so that photons redistributed
into it from outside are modelled, and log spacing gives steep low-energy absorption and the Fe K region the same
relative resolution. Below 0.68 keV its bins are narrower than the responses' own 10 eV bins (harmless: a bin's
response is the average over the part of each response bin it covers). A photon spectrum is taken as flat in
energy inside each photon-grid bin; when the photon grid is the response's own grid the fold is exact.

Nothing here builds a matrix sized from a header: the RMF is taken as the triplets (energy row, channel,
probability) of its non-zero elements (from a scipy sparse matrix or the non-zeros of a dense one), and
accumulated onto the (E, B) grid.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.errors import ConfigError, SpectrumError
from core.spectra.energy import check_energy_range


@dataclass(frozen=True)
class PhotonGrid:
    """Log-spaced photon energy grid of the decoder: ``n_bins`` bins from ``e_min`` to ``e_max`` keV."""

    e_min: float = 0.3  # keV
    e_max: float = 10.0  # keV
    n_bins: int = 240

    def __post_init__(self) -> None:
        check_energy_range("photon grid", self.e_min, self.e_max, 100.0)
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, (int, np.integer)) or not 2 <= self.n_bins <= 8192:
            raise ConfigError(f"photon grid n_bins={self.n_bins!r}: must be a whole number in [2, 8192]")

    @property
    def edges(self) -> np.ndarray:
        return np.geomspace(self.e_min, self.e_max, self.n_bins + 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def overlap_weights(src_lo: np.ndarray, src_hi: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """(J, E): the fraction of destination bin e's width that source bin j covers (photons flat inside e)."""
    lo = np.maximum(src_lo[:, None], dst_edges[None, :-1])
    hi = np.minimum(src_hi[:, None], dst_edges[None, 1:])
    return np.clip(hi - lo, 0.0, None) / np.diff(dst_edges)[None, :]


def channel_grid_bins(e_min: np.ndarray, e_max: np.ndarray, channel_edges: np.ndarray) -> np.ndarray:
    """Channel-grid bin of each detector channel by its EBOUNDS centre; -1 outside the grid."""
    centre = 0.5 * (np.asarray(e_min, float) + np.asarray(e_max, float))
    idx = np.searchsorted(channel_edges, centre, side="right") - 1
    idx[(idx < 0) | (idx >= len(channel_edges) - 1)] = -1
    return idx


def rmf_triplets(rmf: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(energy row, channel index, probability) of the RMF's non-zero elements: the readers' sparse
    ``rmf.redistribution``, else ``rmf.matrix`` (a scipy sparse matrix or a dense array)."""
    m = rmf.redistribution if hasattr(rmf, "redistribution") else rmf.matrix
    if hasattr(m, "tocoo"):
        coo = m.tocoo()
        return np.asarray(coo.row), np.asarray(coo.col), np.asarray(coo.data, dtype=np.float64)
    m = np.asarray(m)
    rows, cols = np.nonzero(m)
    return rows, cols, m[rows, cols].astype(np.float64)


def fold_response(arf: Any, rmf: Any, photon_edges: np.ndarray, channel_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An ARF and RMF (the readers' ``Arf``/``Rmf``) on the photon grid and channel grid.

    Returns ``(arf_grid (E,) cm2, rmf_grid (E, B))`` with arf_grid[e] * rmf_grid[e, b] the expected counts in
    channel-grid bin b per photon cm-2 in photon bin e (flat in energy inside e).
    """
    a_lo, a_hi = np.asarray(arf.energ_lo, float), np.asarray(arf.energ_hi, float)
    r_lo = np.asarray(rmf.energ_lo, float)
    if len(a_lo) != len(r_lo) or not np.allclose(a_lo, r_lo, rtol=1e-4, atol=1e-6):
        raise SpectrumError(getattr(arf, "path", "ARF"), f"ARF and RMF energy grids differ ({len(a_lo)} and "
                                                        f"{len(r_lo)} bins); they do not belong together")
    photon_edges, channel_edges = np.asarray(photon_edges, float), np.asarray(channel_edges, float)
    n_b = len(channel_edges) - 1
    rows, cols, vals = rmf_triplets(rmf)
    if len(rows) and (rows.max() >= len(r_lo) or cols.max() >= len(rmf.e_min)):
        raise SpectrumError(getattr(rmf, "path", "RMF"), "RMF elements point outside its energy rows or channels")
    cbin = channel_grid_bins(rmf.e_min, rmf.e_max, channel_edges)[cols]
    keep = cbin >= 0
    native = np.bincount(rows[keep] * n_b + cbin[keep], weights=vals[keep],
                         minlength=len(r_lo) * n_b).reshape(len(r_lo), n_b)  # (J, B) redistribution
    area = np.asarray(arf.specresp, float)  # (J,)
    w = overlap_weights(a_lo, a_hi, photon_edges)  # (J, E)
    response = w.T @ (area[:, None] * native)  # (E, B): counts per photon cm-2 in photon bin e
    arf_grid = w.T @ area  # (E,) cm2
    with np.errstate(invalid="ignore", divide="ignore"):
        rmf_grid = np.where(arf_grid[:, None] > 0, response / np.where(arf_grid > 0, arf_grid, 1.0)[:, None], 0.0)
    return arf_grid, rmf_grid
