"""One SPECTRUM extension (OGIP PHA type I, counts or rate) -> channel counts with their keywords."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from core.errors import SpectrumError
from core.io.fitsfile import header_value, read_table

ACIS_CHANNELS = 1024


@dataclass
class PhaHDU:
    path: Path
    hdu_name: str
    channel: np.ndarray  # (C,) int
    counts: np.ndarray  # (C,) float64, whole numbers
    quality: np.ndarray  # (C,) int, 0 = good
    exposure: float
    backscal: float
    areascal: float
    header: fits.Header


def check_instrument(path: Path, header: fits.Header) -> None:
    """Refuse anything that is not a Chandra ACIS imaging spectrum, saying why."""
    telescope = str(header_value(header, "TELESCOP", "")).upper()
    instrument = str(header_value(header, "INSTRUME", "")).upper()
    grating = str(header_value(header, "GRATING", "NONE") or "NONE").upper()
    if telescope and telescope != "CHANDRA":
        raise SpectrumError(path, f"TELESCOP={telescope}: only Chandra ACIS spectra belong in this latent space")
    if instrument.startswith("HRC"):
        extra = f" (with the {grating} grating)" if grating != "NONE" else ""
        raise SpectrumError(path, f"INSTRUME={instrument}{extra}: HRC has no useful energy resolution, so its "
                                  f"spectra do not belong in an ACIS latent space")
    if instrument != "ACIS":
        raise SpectrumError(path, f"INSTRUME={instrument or 'missing'}: not a Chandra ACIS spectrum")
    if grating != "NONE":
        raise SpectrumError(path, f"GRATING={grating}: a grating observation (HETG/LETG, zeroth order included) "
                                  f"is a different product from an ACIS imaging spectrum")


def parse_spectrum_hdu(path: Path, hdu: fits.BinTableHDU, exposure_override: float | None = None) -> PhaHDU:
    """Channel counts from a PHA type I extension; rates are turned into counts with EXPOSURE."""
    header = hdu.header
    data = read_table(path, hdu)
    cols = [c.upper() for c in hdu.columns.names]
    if str(header_value(header, "HDUCLAS4", "")).upper() == "TYPE:II" or (
            "COUNTS" in cols and np.ndim(data["COUNTS"]) > 1):
        raise SpectrumError(path, f"{hdu.name}: PHA type II (several spectra in one table) is not supported; "
                                  f"split it into type I files first")
    exposure = float(exposure_override if exposure_override is not None else header_value(header, "EXPOSURE", 0) or 0)
    if not np.isfinite(exposure) or exposure <= 0:
        raise SpectrumError(path, f"{hdu.name}: EXPOSURE={header_value(header, 'EXPOSURE')}: exposure must be "
                                  f"a positive number of seconds")
    channel_col = "CHANNEL" if "CHANNEL" in cols else None
    if channel_col is None:
        raise SpectrumError(path, f"{hdu.name}: no CHANNEL column")
    if "COUNTS" in cols:
        counts = np.asarray(data["COUNTS"], dtype=np.float64)
    elif "RATE" in cols:
        counts = np.asarray(data["RATE"], dtype=np.float64) * exposure
    else:
        raise SpectrumError(path, f"{hdu.name}: neither a COUNTS nor a RATE column")
    if not np.all(np.isfinite(counts)):
        raise SpectrumError(path, f"{hdu.name}: {int((~np.isfinite(counts)).sum())} channels have NaN or "
                                  f"infinite counts")
    if np.any(counts < 0):
        raise SpectrumError(path, f"{hdu.name}: {int((counts < 0).sum())} channels have negative counts "
                                  f"(a background-subtracted spectrum? the reader needs raw counts)")
    rounded = np.round(counts)
    if np.max(np.abs(counts - rounded), initial=0) > 1e-3:
        raise SpectrumError(path, f"{hdu.name}: counts are not whole numbers (RATE x EXPOSURE gives fractions), "
                                  f"so they cannot be Poisson counts")
    n_chan = int(header_value(header, "DETCHANS", len(counts)) or len(counts))
    if n_chan != ACIS_CHANNELS or len(counts) != ACIS_CHANNELS:
        raise SpectrumError(path, f"{hdu.name}: {len(counts)} rows and DETCHANS={n_chan}; an ACIS PI spectrum "
                                  f"has {ACIS_CHANNELS} channels (was it grouped or cut?)")
    quality = (np.asarray(data["QUALITY"], dtype=int) if "QUALITY" in cols
               else np.full(len(counts), int(header_value(header, "QUALITY", 0) or 0)))
    return PhaHDU(path, hdu.name, np.asarray(data[channel_col], dtype=int), rounded, quality, exposure,
                  float(header_value(header, "BACKSCAL", 1.0) or 1.0),
                  float(header_value(header, "AREASCAL", 1.0) or 1.0), header)
