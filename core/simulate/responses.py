"""The four real CSC responses (ARF x RMF) folded onto the energy grid, with each observation's real background."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.spectra.energy import EnergyGrid
from core.data.fetch import fetch
from core.io import read_spectrum
from core.io.assemble import channel_bins, rebin
from core.io.response import read_arf, read_rmf
from core.spectra.response_grid import PhotonGrid, fold_response

CSC_RESPONSES = (  # (name, stem) in the data registry's responses/ folder
    ("1575 ACIS-S 2001", "acisf01575_001N001_r0085", ".fits.gz"),
    ("4938 ACIS-I 2005", "acisf04938_000N002_r0043", ".fits"),
    ("7867 ACIS-S3 2007", "acisf07867_000N001_r0002", ".fits"),
    ("23022 ACIS-S 2020", "acisf23022_000N027_r0122", ".fits.gz"),
)


@dataclass
class FoldedResponse:
    name: str
    energy_lo: np.ndarray  # (E,) keV
    energy_hi: np.ndarray  # (E,) keV
    matrix: np.ndarray  # (E, B): expected counts in grid bin b per photon/cm2 at energy e per second (ARF x RMF)
    exposure: float  # s, of the real observation
    background: np.ndarray  # (B,) expected background counts in the source region over ``exposure``
    background_ratio: float  # source-region / background-region area (BACKSCAL ratio)
    band_area: dict[str, float]  # mean ARF (cm2) in the CSC s, m, h bands
    photon_arf: np.ndarray  # (E',) cm2 on the model's photon grid (core.spectra.response_grid.PhotonGrid)
    photon_rmf: np.ndarray  # (E', B) redistribution from the photon grid onto the energy grid


@lru_cache(maxsize=4)
def load_csc_responses(grid: EnergyGrid) -> tuple[FoldedResponse, ...]:
    out = []
    for name, stem, ext in CSC_RESPONSES:
        arf = read_arf(fetch(f"responses/{stem}_arf3{ext}"))
        rmf = read_rmf(fetch(f"responses/{stem}_rmf3{ext}"))
        pha = fetch(f"responses/{stem}_pha3{ext}")
        spec = read_spectrum(pha, arf=arf.path, rmf=rmf.path, grid=grid)
        matrix = rebin(rmf.matrix, channel_bins(rmf, grid), grid.n_bins) * arf.specresp[:, None]
        # The real background spectrum is sparse; smooth it (5-bin running mean) into a template.
        kernel = np.ones(5) / 5
        smooth = np.convolve(np.pad(spec.background, 2, mode="edge"), kernel, mode="valid")
        smooth *= spec.background.sum() / max(smooth.sum(), 1e-12)
        out.append(FoldedResponse(name, arf.energ_lo, arf.energ_hi, matrix, spec.exposure, smooth,
                                  spec.meta["background_scale"], spec.band_area,
                                  *fold_response(arf, rmf, PhotonGrid().edges, grid.edges)))
    lo = out[0].energy_lo
    for r in out[1:]:
        assert np.allclose(r.energy_lo, lo), "CSC responses must share one energy grid"
    return tuple(out)
