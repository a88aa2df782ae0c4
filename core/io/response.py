"""ARF reader (OGIP, gzipped or not; CSC's 900-bin ARFs), and the check that an ARF and an RMF belong together."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from core.errors import SpectrumError
from core.io.fitsfile import open_fits, read_table
from core.io.energies import energy_grid
from core.io.keywords import column
from core.io.rmf import Rmf, read_rmf  # noqa: F401  (re-exported for the readers and the simulation)


@dataclass
class Arf:
    path: Path
    energ_lo: np.ndarray  # (E,) keV
    energ_hi: np.ndarray  # (E,) keV
    specresp: np.ndarray  # (E,) cm2
    header: dict


def read_arf(path: Path) -> Arf:
    path = Path(path)
    with open_fits(path) as hdul:
        if "SPECRESP" not in [h.name for h in hdul] or not isinstance(hdul["SPECRESP"], fits.BinTableHDU):
            raise SpectrumError(path, "not an ARF: no SPECRESP table")
        hdu = hdul["SPECRESP"]
        data = read_table(path, hdu)
        if "SPECRESP" not in [c.upper() for c in hdu.columns.names]:
            raise SpectrumError(path, "ARF lacks the SPECRESP column")
        lo, hi = energy_grid(path, hdu, data)
        area = column(path, hdu, data, "SPECRESP")
        arf = Arf(path, lo, hi, area, dict(hdu.header))
    if np.any(arf.specresp < 0):
        raise SpectrumError(path, "ARF effective area has negative values")
    if not np.any(arf.specresp > 0):
        raise SpectrumError(path, "ARF effective area is zero at every energy: no photon could be detected")
    return arf


def check_pair(arf: Arf, rmf: Rmf, path: Path | None = None) -> None:
    """An ARF and RMF belong together only on the same energy grid (refusal against ``path``, default the ARF)."""
    if len(arf.energ_lo) != len(rmf.energ_lo) or not np.allclose(arf.energ_lo, rmf.energ_lo, rtol=1e-4, atol=1e-6):
        raise SpectrumError(path or arf.path, f"ARF {arf.path.name}: its energy grid ({len(arf.energ_lo)} bins, "
                                      f"{arf.energ_lo[0]:.3f}-{arf.energ_hi[-1]:.3f} keV) does not match the RMF "
                                      f"{rmf.path.name} ({len(rmf.energ_lo)} bins, {rmf.energ_lo[0]:.3f}-"
                                      f"{rmf.energ_hi[-1]:.3f} keV)")
