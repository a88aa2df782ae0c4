"""One SPECTRUM extension (OGIP PHA type I, counts or rate) -> channel counts with their keywords, validated."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from core.errors import SpectrumError
from core.io.fitsfile import header_value, read_table
from core.io.keywords import column, column_limits, keyword_or_column, number

ACIS_CHANNELS = 1024
MAX_EXPOSURE_S = 1e8  # three years: beyond any Chandra observation or stack of them
MAX_COUNTS = 1e9  # counts in one spectrum: ACIS saturates (pile-up) long before
MAX_BACKSCAL = 1e10  # a region's area as a fraction of the detector, or in pixels
MAX_AREASCAL = 1e4
HDUCLAS2_KINDS = ("TOTAL", "NET", "BKG")


@dataclass
class PhaHDU:
    path: Path
    hdu_name: str
    channel: np.ndarray  # (C,) int, sorted ascending (rows are put in CHANNEL order)
    counts: np.ndarray  # (C,) float64, whole numbers
    quality: np.ndarray  # (C,) int, 0 = good
    exposure: float
    backscal: float
    areascal: float
    hduclas2: str  # TOTAL, NET or BKG
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


def hduclas2(path: Path, hdu: fits.BinTableHDU) -> str:
    kind = str(header_value(hdu.header, "HDUCLAS2", "TOTAL") or "TOTAL").upper()
    if kind not in HDUCLAS2_KINDS:
        raise SpectrumError(path, f"{hdu.name}: HDUCLAS2={kind[:20]}; a spectrum is TOTAL, NET or BKG")
    return kind


def _counts(path: Path, hdu: fits.BinTableHDU, data, cols: list[str], exposure: float) -> np.ndarray:
    if "COUNTS" in cols:
        counts = column(path, hdu, data, "COUNTS")
    elif "RATE" in cols:
        counts = column(path, hdu, data, "RATE") * exposure
    else:
        raise SpectrumError(path, f"{hdu.name}: neither a COUNTS nor a RATE column")
    if not np.all(np.isfinite(counts)):
        raise SpectrumError(path, f"{hdu.name}: {int((~np.isfinite(counts)).sum())} channels have NaN or "
                                  f"infinite counts")
    if np.any(counts < 0):
        raise SpectrumError(path, f"{hdu.name}: {int((counts < 0).sum())} channels have negative counts "
                                  f"(a background-subtracted spectrum? the reader needs raw counts)")
    if counts.sum() > MAX_COUNTS:
        raise SpectrumError(path, f"{hdu.name}: {counts.sum():.3g} counts, more than the {MAX_COUNTS:.0e} any ACIS "
                                  f"spectrum can hold")
    rounded = np.round(counts)
    if np.max(np.abs(counts - rounded), initial=0) > 1e-3:
        raise SpectrumError(path, f"{hdu.name}: counts are not whole numbers (RATE x EXPOSURE gives fractions), "
                                  f"so they cannot be Poisson counts")
    return rounded


def _channels(path: Path, hdu: fits.BinTableHDU, data) -> np.ndarray:
    """CHANNEL values: whole, unique, within TLMIN/TLMAX and one full run of ACIS channels (0- or 1-based)."""
    channel = column(path, hdu, data, "CHANNEL", integer=True).astype(np.int64)
    tlmin, tlmax = column_limits(hdu, "CHANNEL")
    first = int(channel.min())
    if tlmin is not None:
        if isinstance(tlmin, bool) or not isinstance(tlmin, (int, float)) or tlmin not in (0, 1):
            raise SpectrumError(path, f"{hdu.name}: CHANNEL starts at TLMIN={tlmin!r}; ACIS channels start at 0 or 1")
        first = int(tlmin)
    last = first + ACIS_CHANNELS - 1
    if tlmax is not None and (isinstance(tlmax, bool) or not isinstance(tlmax, (int, float)) or tlmax != last):
        raise SpectrumError(path, f"{hdu.name}: CHANNEL TLMAX={tlmax!r}, expected {last} for {ACIS_CHANNELS} "
                                  f"ACIS channels")
    expected = np.arange(first, last + 1)
    if len(channel) == ACIS_CHANNELS and not np.array_equal(np.sort(channel), expected):
        outside = int(((channel < first) | (channel > last)).sum())
        repeated = len(channel) - len(np.unique(channel))
        raise SpectrumError(path, f"{hdu.name}: the CHANNEL column is not channels {first}-{last} once each "
                                  f"({outside} outside that range, {repeated} repeated)")
    return channel


def parse_spectrum_hdu(path: Path, hdu: fits.BinTableHDU) -> PhaHDU:
    """Channel counts from a PHA type I extension (rows put in CHANNEL order); rates become counts."""
    header = hdu.header
    data = read_table(path, hdu)
    cols = [c.upper() for c in hdu.columns.names]
    if str(header_value(header, "HDUCLAS4", "")).upper() == "TYPE:II" or (
            "COUNTS" in cols and np.ndim(data["COUNTS"]) > 1):
        raise SpectrumError(path, f"{hdu.name}: PHA type II (several spectra in one table) is not supported; "
                                  f"split it into type I files first")
    kind = hduclas2(path, hdu)
    if "EXPOSURE" not in header:
        raise SpectrumError(path, f"{hdu.name}: no EXPOSURE keyword; exposure must be a positive number of seconds")
    if isinstance(header["EXPOSURE"], (int, float)) and not isinstance(header["EXPOSURE"], bool) \
            and header["EXPOSURE"] <= 0:
        raise SpectrumError(path, f"{hdu.name}: EXPOSURE={header['EXPOSURE']}: exposure must be a positive "
                                  f"number of seconds")
    exposure = number(path, hdu, "EXPOSURE", hi=MAX_EXPOSURE_S)
    if "CHANNEL" not in cols:
        raise SpectrumError(path, f"{hdu.name}: no CHANNEL column")
    counts = _counts(path, hdu, data, cols, exposure)
    n_chan = int(number(path, hdu, "DETCHANS", hi=1e9, default=float(len(counts)), integer=True))
    if n_chan != ACIS_CHANNELS or len(counts) != ACIS_CHANNELS:
        raise SpectrumError(path, f"{hdu.name}: {len(counts)} rows and DETCHANS={n_chan}; an ACIS PI spectrum "
                                  f"has {ACIS_CHANNELS} channels (was it grouped or cut?)")
    channel = _channels(path, hdu, data)
    if "QUALITY" in cols:
        quality = column(path, hdu, data, "QUALITY", integer=True)
    else:
        quality = np.full(len(counts), number(path, hdu, "QUALITY", lo=-1, hi=5, default=0.0, integer=True))
    if np.any(quality < 0):
        raise SpectrumError(path, f"{hdu.name}: QUALITY has negative flags")
    order = np.argsort(channel, kind="stable")
    return PhaHDU(path, hdu.name, channel[order], counts[order], quality[order].astype(int), exposure,
                  keyword_or_column(path, hdu, data, "BACKSCAL", hi=MAX_BACKSCAL),
                  keyword_or_column(path, hdu, data, "AREASCAL", hi=MAX_AREASCAL), kind, header)
