"""Opening FITS files with errors that name the file; shared by every reader.

Each file is read from disk once: decompressed in memory with a size cap, its HDU layout and DATASUMs checked
(``core.io.fitsbytes``), then parsed by astropy from those bytes.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from astropy.io import fits

from core.errors import SpectrumError
from core.io.fitsbytes import MAX_FILE_MB, hdu_spans, read_decompressed, verify_datasums


@contextlib.contextmanager
def open_fits(path: Path, max_mb: float = MAX_FILE_MB) -> Iterator[fits.HDUList]:
    """Open ``path`` read-only (gzip, bzip2 or a one-file zip); turn every failure into a SpectrumError."""
    path = Path(path)
    try:
        if not path.exists():
            raise SpectrumError(path, "file not found")
        if path.is_file() and path.stat().st_size == 0:
            raise SpectrumError(path, "file is empty")
        data = read_decompressed(path, max_mb)
    except OSError as exc:
        raise SpectrumError(path, f"the file cannot be read: {exc.strerror or exc}") from exc
    spans = hdu_spans(path, data)
    verify_datasums(path, data, spans)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdul = fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=False)
    except Exception as exc:  # astropy raises many types for damaged headers: each one is a refusal
        raise SpectrumError(path, f"not a readable FITS file ({type(exc).__name__}: {exc})") from exc
    try:
        if len(hdul) != len(spans):
            raise SpectrumError(path, f"astropy finds {len(hdul)} HDUs where the FITS layout has {len(spans)}: "
                                      f"the file is damaged")
        yield hdul
    finally:
        hdul.close()


def read_table(path: Path, hdu: fits.BinTableHDU, raw: tuple[str, ...] = ()) -> fits.FITS_rec:
    """The table's data, failing with a SpectrumError (not astropy's own error) if its columns are damaged.

    Columns named in ``raw`` are left undecoded: their reader checks them from the raw bytes (``core.io.cells``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = hdu.data
            if data is not None:
                _ = [data[name] for name in data.names if name.upper() not in raw]  # decode now: damage shows here
    except Exception as exc:
        raise SpectrumError(path, f"HDU {hdu.name}: the table cannot be decoded ({type(exc).__name__}: {exc}); "
                                  f"its TFORM/TFIELDS/NAXIS keywords are damaged") from exc
    if data is None or len(data) == 0:
        raise SpectrumError(path, f"HDU {hdu.name} has no rows")
    return data


def matching_tables(headers: Sequence[Mapping[str, Any]], hduclas1: str, extname: str) -> list[int]:
    """Which of these binary tables' headers have HDUCLAS1 ``hduclas1`` (or, when none has, EXTNAME ``extname``):
    their positions. The one rule for both the readers (``find_hdus``) and ingest's header-only sorting."""
    def card(h: Mapping[str, Any], key: str) -> str:
        return str(h.get(key, "")).strip().upper()

    found = [i for i, h in enumerate(headers) if card(h, "HDUCLAS1") == hduclas1]
    return found or [i for i, h in enumerate(headers) if card(h, "EXTNAME") == extname]


def find_hdus(hdul: fits.HDUList, hduclas1: str, extname: str) -> list[fits.BinTableHDU]:
    """Binary-table HDUs whose HDUCLAS1 (or, failing that, EXTNAME) matches."""
    tables = [h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)]
    return [tables[i] for i in matching_tables([h.header for h in tables], hduclas1, extname)]


def header_value(header: fits.Header, key: str, default=None):
    value = header.get(key, default)
    if isinstance(value, str):
        value = value.strip()
    return value


def is_none_name(value) -> bool:
    """OGIP's ways of saying 'no file' in RESPFILE/ANCRFILE/BACKFILE."""
    return value is None or str(value).strip().lower() in ("", "none", "null", "nan")
