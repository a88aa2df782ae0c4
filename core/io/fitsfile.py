"""Opening FITS files with errors that name the file; shared by every reader."""
from __future__ import annotations

import contextlib
import gzip
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

from astropy.io import fits

from core.errors import SpectrumError

FITS_BLOCK = 2880


@contextlib.contextmanager
def open_fits(path: Path) -> Iterator[fits.HDUList]:
    """Open ``path`` read-only (gzip handled by astropy); turn every failure into a SpectrumError."""
    path = Path(path)
    if not path.is_file():
        raise SpectrumError(path, "file not found")
    if path.stat().st_size == 0:
        raise SpectrumError(path, "file is empty")
    size = check_complete(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
    except (OSError, EOFError, ValueError, TypeError, IndexError, zlib.error) as exc:
        raise SpectrumError(path, f"not a readable FITS file (truncated or another format): {exc}") from exc
    info = hdul.fileinfo(len(hdul) - 1) if len(hdul) else None
    end = info["datLoc"] + info["datSpan"] if info else 0
    if end != size:  # astropy drops (or keeps, without its data) an HDU cut short, without an error
        hdul.close()
        what = (f"{size - end} bytes after the last complete HDU cannot be read" if end < size
                else f"the last HDU needs {end - size} bytes more than the file holds")
        raise SpectrumError(path, f"{what}: the file is truncated (an interrupted download?) or damaged")
    try:
        yield hdul
    finally:
        hdul.close()


def check_complete(path: Path) -> int:
    """Refuse a file cut short: astropy reads the HDUs it finds and silently drops a truncated tail (a GTI, or
    the rest of a gzip stream), so a partial download would otherwise pass. A FITS file is a whole number of
    2880-byte blocks; a gzip stream must decompress to its end with a matching CRC."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        size = 0
        try:
            with gzip.open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    size += len(block)
        except (OSError, EOFError, zlib.error) as exc:
            raise SpectrumError(path, f"gzip stream is truncated or damaged: {exc}") from exc
    else:
        size = path.stat().st_size
    if magic == b"SI" and size % FITS_BLOCK:  # only FITS files (others are refused by astropy, saying so)
        raise SpectrumError(path, f"{size} bytes is not a whole number of {FITS_BLOCK}-byte FITS blocks: the file "
                                  f"is truncated (an interrupted download?) or damaged")
    return size


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
