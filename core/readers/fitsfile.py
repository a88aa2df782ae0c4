"""Opening FITS files with errors that name the file; shared by every reader."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

from astropy.io import fits

from core.errors import SpectrumError


@contextlib.contextmanager
def open_fits(path: Path) -> Iterator[fits.HDUList]:
    """Open ``path`` read-only (gzip handled by astropy); turn every failure into a SpectrumError."""
    path = Path(path)
    if not path.is_file():
        raise SpectrumError(path, "file not found")
    if path.stat().st_size == 0:
        raise SpectrumError(path, "file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise SpectrumError(path, f"not a readable FITS file (truncated or another format): {exc}") from exc
    try:
        yield hdul
    finally:
        hdul.close()


def read_table(path: Path, hdu: fits.BinTableHDU) -> fits.FITS_rec:
    """The table's data, failing with a SpectrumError if the file is cut short inside it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = hdu.data
            if data is not None:
                _ = data[len(data) - 1] if len(data) else None  # touch the last row: truncation shows here
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise SpectrumError(path, f"HDU {hdu.name} cannot be read (file truncated?): {exc}") from exc
    if data is None:
        raise SpectrumError(path, f"HDU {hdu.name} has no data")
    return data


def find_hdus(hdul: fits.HDUList, hduclas1: str, extname: str) -> list[fits.BinTableHDU]:
    """Binary-table HDUs whose HDUCLAS1 (or, failing that, EXTNAME) matches."""
    found = [h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)
             and str(h.header.get("HDUCLAS1", "")).upper() == hduclas1]
    if not found:
        found = [h for h in hdul[1:] if isinstance(h, fits.BinTableHDU) and h.name.upper() == extname]
    return found


def header_value(header: fits.Header, key: str, default=None):
    value = header.get(key, default)
    if isinstance(value, str):
        value = value.strip()
    return value


def is_none_name(value) -> bool:
    """OGIP's ways of saying 'no file' in RESPFILE/ANCRFILE/BACKFILE."""
    return value is None or str(value).strip().lower() in ("", "none", "null", "nan")
