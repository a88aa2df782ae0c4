"""Energy columns of responses, checked: ENERG_LO/ENERG_HI bins (ARF, RMF) and the RMF's EBOUNDS channels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from core.errors import SpectrumError
from core.io.keywords import column, column_limits

MAX_RESPONSE_KEV = 100.0
ACIS_CHANNEL_KEV = 0.0146
ACIS_MAX_KEV = 16.0


def check_unit(path: Path, hdu: fits.BinTableHDU, name: str, unit: str) -> None:
    """Refuse a column whose TUNIT says another unit (energies in eV, say); a missing TUNIT is taken as ``unit``."""
    given = hdu.columns[name].unit
    if given and str(given).strip().lower() != unit.lower():
        raise SpectrumError(path, f"{hdu.name}: {name} is in {str(given).strip()[:20]!r}; the readers need {unit}")


def _require(path: Path, hdu: fits.BinTableHDU, names: tuple[str, ...]) -> None:
    have = [c.upper() for c in hdu.columns.names]
    for name in names:
        if name not in have:
            raise SpectrumError(path, f"{hdu.name}: lacks the {name} column")


def energy_grid(path: Path, hdu: fits.BinTableHDU, data) -> tuple[np.ndarray, np.ndarray]:
    """ENERG_LO/ENERG_HI in keV: finite, increasing, each bin of positive width, within 0-100 keV."""
    _require(path, hdu, ("ENERG_LO", "ENERG_HI"))
    for col in ("ENERG_LO", "ENERG_HI"):
        check_unit(path, hdu, col, "keV")
    lo, hi = column(path, hdu, data, "ENERG_LO"), column(path, hdu, data, "ENERG_HI")
    if np.any(lo < 0) or np.any(hi <= lo) or np.any(np.diff(lo) <= 0) or hi[-1] > MAX_RESPONSE_KEV:
        raise SpectrumError(path, f"{hdu.name}: ENERG_LO/ENERG_HI are not increasing energy bins within "
                                  f"0-{MAX_RESPONSE_KEV:g} keV")
    return lo, hi


def ebounds(path: Path, hdu: fits.BinTableHDU, data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(channel, E_MIN, E_MAX) in channel order, checked to be ACIS PI channels: keV, finite, increasing, about
    14.6 eV wide, below 16 keV.

    Channels are numbered from TLMIN1 in row order when the CHANNEL column is not itself one run of channels
    (9774.rmf, written by an old tool, holds damaged 16-bit values there while its energies are in order)."""
    _require(path, hdu, ("CHANNEL", "E_MIN", "E_MAX"))
    for col in ("E_MIN", "E_MAX"):
        check_unit(path, hdu, col, "keV")
    e_min, e_max = column(path, hdu, data, "E_MIN"), column(path, hdu, data, "E_MAX")
    tlmin, _ = column_limits(hdu, "CHANNEL")
    first = int(tlmin) if isinstance(tlmin, (int, float)) and not isinstance(tlmin, bool) and tlmin in (0, 1) else 1
    channel = np.asarray(data["CHANNEL"])
    run = np.arange(first, first + len(e_min))
    if channel.dtype.kind in "iuf" and channel.ndim == 1 and np.array_equal(np.sort(channel), run):
        order = np.argsort(channel, kind="stable")
        e_min, e_max = e_min[order], e_max[order]
    if np.any(e_max <= e_min) or np.any(np.diff(e_min) <= 0) or e_min[0] < 0 or e_max[-1] > ACIS_MAX_KEV:
        raise SpectrumError(path, f"{hdu.name}: E_MIN/E_MAX are not increasing ACIS channel energies within "
                                  f"0-{ACIS_MAX_KEV:g} keV (reversed, overlapping, or not in keV?)")
    width = float(np.median(e_max - e_min))
    if abs(width / ACIS_CHANNEL_KEV - 1) > 0.05:
        raise SpectrumError(path, f"{hdu.name}: channels are {width * 1000:.4g} eV wide; ACIS PI channels are "
                                  f"{ACIS_CHANNEL_KEV * 1000:.1f} eV (not an ACIS response, or not in keV)")
    return run, e_min, e_max
