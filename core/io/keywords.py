"""Header keywords and table columns the readers trust, checked: numbers that are numbers (not text, not T/F),
finite and within physical bounds; columns of a plain numeric type, unscaled, one value per row."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from core.errors import SpectrumError

UNSIGNED_TZERO = (0, 2**15, 2**31, 2**63)  # FITS's way of storing unsigned integers; any other offset is a scaling


def number(path: Path, hdu: fits.BinTableHDU, key: str, *, hi: float, lo: float = 0.0, default=None,
           integer: bool = False) -> float:
    """Keyword ``key`` as a float in (lo, hi] (``default`` when absent, or a refusal when that is None)."""
    value = hdu.header.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise SpectrumError(path, f"{hdu.name}: the {key} keyword is missing")
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpectrumError(path, f"{hdu.name}: {key} = {str(value)[:40]!r} is not a number")
    value = float(value)
    if not np.isfinite(value) or not lo < value <= hi:
        raise SpectrumError(path, f"{hdu.name}: {key} = {value:g} is outside the physical range ({lo:g}, {hi:g}]")
    if integer and value != round(value):
        raise SpectrumError(path, f"{hdu.name}: {key} = {value:g} is not a whole number")
    return value


def column(path: Path, hdu: fits.BinTableHDU, data: fits.FITS_rec, name: str, *, integer: bool = False,
           what: str = "") -> np.ndarray:
    """Column ``name`` as finite float64, refusing logical, text, variable-length, scaled or vector columns."""
    col = hdu.columns[name]
    label = f"{hdu.name}: the {name} column{what}"
    fmt = str(col.format).upper()
    if "P" in fmt or "Q" in fmt:
        raise SpectrumError(path, f"{label} is a variable-length array (TFORM {fmt}); one number per row is needed")
    raw = np.asarray(data[name])
    if raw.dtype.kind not in "iuf":
        kind = {"b": "logical (T/F)", "S": "text", "U": "text", "O": "of arrays"}.get(raw.dtype.kind, raw.dtype.kind)
        raise SpectrumError(path, f"{label} is {kind}, not numbers (TFORM {fmt})")
    if raw.ndim != 1:
        raise SpectrumError(path, f"{label} holds {raw.shape[1:]} values per row; one number per row is needed")
    if col.bscale not in (None, 1, 1.0) or col.bzero not in (None, *UNSIGNED_TZERO):
        raise SpectrumError(path, f"{label} is scaled (TSCAL={col.bscale}, TZERO={col.bzero}); stored values must "
                                  f"be the values themselves")
    values = raw.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise SpectrumError(path, f"{label} has {int(bad.sum())} NaN or infinite values")
    if integer and np.any(values != np.round(values)):
        raise SpectrumError(path, f"{label} holds values that are not whole numbers")
    return values


def column_limits(hdu: fits.BinTableHDU, name: str) -> tuple[object, object]:
    """(TLMINn, TLMAXn) of column ``name``, None where absent."""
    n = [c.upper() for c in hdu.columns.names].index(name.upper()) + 1
    return hdu.header.get(f"TLMIN{n}"), hdu.header.get(f"TLMAX{n}")


def keyword_or_column(path: Path, hdu: fits.BinTableHDU, data: fits.FITS_rec, key: str, *, hi: float) -> float:
    """An OGIP scale (BACKSCAL, AREASCAL) given as a keyword or as a constant column; positive and finite."""
    if key in [c.upper() for c in hdu.columns.names]:
        values = column(path, hdu, data, key)
        if np.any(values <= 0) or np.any(values > hi):
            raise SpectrumError(path, f"{hdu.name}: the {key} column has values outside (0, {hi:g}]")
        if np.ptp(values) > 1e-9 * np.max(values):
            raise SpectrumError(path, f"{hdu.name}: {key} varies from channel to channel; only a single {key} is "
                                      f"supported")
        return float(values[0])
    return number(path, hdu, key, hi=hi)


def as_float_or_nan(value) -> float:
    """A cosmetic keyword (RA_TARG, DEC_TARG) as a float, NaN when it is text or absent."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return float("nan")
    return float(value)
