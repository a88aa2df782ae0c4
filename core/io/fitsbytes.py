"""A FITS file as bytes, before astropy sees it: decompressed once with a size cap, its HDU layout walked from the
header cards (so a truncated file, a header of millions of cards or trailing garbage is refused cheaply), and
each HDU's DATASUM verified as the FITS standard defines it (ones'-complement sum of the data's 32-bit words).
"""
from __future__ import annotations

import bz2
import gzip
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from core.errors import SpectrumError

FITS_BLOCK = 2880
CARD = 80
MAX_FILE_MB = 100  # decompressed size of one FITS file (the largest real ACIS RMF is under 3 MB)
MAX_HEADER_CARDS = 10_000  # real Chandra headers hold a few hundred
MAX_HDUS = 1_000
CHUNK = 1 << 20


@dataclass(frozen=True)
class HduSpan:
    header_start: int
    data_start: int
    data_size: int  # bytes of data proper (without the padding to a whole block)
    datasum: str | None  # the DATASUM card's value, None when absent or empty


def read_decompressed(path: Path, max_mb: float = MAX_FILE_MB) -> bytes:
    """The file's bytes, gunzipped / bunzipped / unzipped (one member) once, refusing more than ``max_mb``."""
    limit = int(max_mb * 2**20)
    # opened without blocking, then checked: opening a FIFO for reading would otherwise wait for a writer forever
    with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise SpectrumError(path, "not a regular file (a folder, FIFO, device or socket): nothing to read")
        magic = fh.read(4)
        fh.seek(0)
        if magic[:2] == b"\x1f\x8b":
            return _capped(path, gzip.GzipFile(fileobj=fh), limit, "gzip", (OSError, EOFError, zlib.error))
        if magic[:3] == b"BZh":
            return _capped(path, bz2.BZ2File(fh), limit, "bzip2", (OSError, EOFError, ValueError))
        if magic == b"PK\x03\x04":
            return _unzip(path, fh, limit)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise SpectrumError(path, f"the file is larger than {max_mb:g} MB, far more than any ACIS spectrum or "
                                  f"response needs")
    return data


def _capped(path: Path, stream, limit: int, kind: str, errors: tuple[type[BaseException], ...]) -> bytes:
    buf = bytearray()
    try:
        with stream:
            while block := stream.read(CHUNK):
                buf += block
                if len(buf) > limit:
                    raise SpectrumError(path, f"the {kind} file expands beyond {limit / 2**20:g} MB, far more than "
                                              f"any ACIS spectrum or response needs (a decompression bomb?)")
    except errors as exc:
        raise SpectrumError(path, f"{kind} stream is truncated or damaged: {exc}") from exc
    return bytes(buf)


def _unzip(path: Path, fh, limit: int) -> bytes:
    try:
        with zipfile.ZipFile(fh) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise SpectrumError(path, f"zip archive holds {len(members)} files; it must hold exactly one FITS "
                                          f"file")
            return _capped(path, zf.open(members[0]), limit, "zip", (OSError, EOFError, zlib.error,
                                                                     zipfile.BadZipFile))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise SpectrumError(path, f"zip archive is truncated or damaged: {exc}") from exc


def _card_int(path: Path, cards: dict[str, str], key: str, default: int | None = None) -> int:
    raw = cards.get(key)
    if raw is None:
        if default is None:
            raise SpectrumError(path, f"a header lacks the mandatory {key} keyword: not a valid FITS file")
        return default
    try:
        return int(raw.split("/")[0].strip())
    except ValueError:
        raise SpectrumError(path, f"header keyword {key} = {raw.strip()[:30]!r} is not a whole number: the file "
                                  f"is damaged") from None


def _header(path: Path, data: bytes, start: int) -> tuple[dict[str, str], int]:
    """The header's structural cards (keyword -> raw value text) and the offset of its data."""
    cards: dict[str, str] = {}
    pos, n = start, 0
    while True:
        if pos + FITS_BLOCK > len(data):
            raise SpectrumError(path, "a header is cut short: the file is truncated (an interrupted download?) "
                                      "or damaged")
        for i in range(pos, pos + FITS_BLOCK, CARD):
            card = data[i:i + CARD]
            key = card[:8].decode("ascii", "replace").strip()
            if key == "END":
                return cards, pos + FITS_BLOCK
            n += 1
            if card[8:10] == b"= " and (key in ("BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "DATASUM", "XTENSION")
                                        or key.startswith("NAXIS")):
                cards.setdefault(key, card[10:].decode("ascii", "replace"))
        pos += FITS_BLOCK
        if n > MAX_HEADER_CARDS:
            raise SpectrumError(path, f"a header has more than {MAX_HEADER_CARDS} cards: not a spectrum header "
                                      f"(damaged or hostile)")


def header_cards(data: bytes, start: int, end: int, keys: frozenset[str]) -> dict[str, object]:
    """The values of the cards named ``keys`` in the header at ``data[start:end]`` (the span ``hdu_spans`` gives:
    ``header_start`` to ``data_start``), parsed by astropy card by card; the first card of each name wins.
    Cheap: the rest of the header and the data are not parsed."""
    out: dict[str, object] = {}
    for i in range(start, end, CARD):
        key = data[i:i + 8].decode("ascii", "replace").strip()
        if key == "END":
            break
        if key in keys and key not in out:
            try:
                out[key] = fits.Card.fromstring(data[i:i + CARD].decode("ascii", "replace")).value
            except Exception:  # a damaged card: left out, as if absent
                continue
    return out


COMPRESSED_SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".zip": "zip"}  # read_decompressed knows them by content


def hdu_spans(path: Path, data: bytes) -> list[HduSpan]:
    """Walk the HDUs as the FITS standard lays them out; refuse a truncated file or bytes after the last HDU."""
    if not data.startswith(b"SIMPLE  ="):
        suffix = Path(path).suffix.lower()
        named = (f" (named {suffix}, but its bytes are not {COMPRESSED_SUFFIXES[suffix]}-compressed either)"
                 if suffix in COMPRESSED_SUFFIXES else "")
        raise SpectrumError(path, "not a readable FITS file (no SIMPLE card at the start): another format, or "
                                  f"damaged{named}")
    if len(data) % FITS_BLOCK:
        raise SpectrumError(path, f"{len(data)} bytes is not a whole number of {FITS_BLOCK}-byte FITS blocks: the "
                                  f"file is truncated (an interrupted download?) or damaged")
    spans, pos = [], 0
    while pos < len(data):
        if len(spans) >= MAX_HDUS:
            raise SpectrumError(path, f"more than {MAX_HDUS} HDUs: not a spectrum file")
        cards, data_start = _header(path, data, pos)
        naxis = _card_int(path, cards, "NAXIS")
        if not 0 <= naxis <= 999:
            raise SpectrumError(path, f"NAXIS = {naxis} is not allowed by the FITS standard: the file is damaged")
        dims = [_card_int(path, cards, f"NAXIS{i}") for i in range(1, naxis + 1)]
        bitpix = _card_int(path, cards, "BITPIX")
        pcount, gcount = _card_int(path, cards, "PCOUNT", 0), _card_int(path, cards, "GCOUNT", 1)
        if bitpix not in (8, 16, 32, 64, -32, -64) or min([pcount, gcount, *dims], default=0) < 0:
            raise SpectrumError(path, f"BITPIX/NAXISn/PCOUNT/GCOUNT of HDU {len(spans)} are not valid FITS values")
        size = abs(bitpix) // 8 * gcount * (pcount + int(np.prod(dims, dtype=object))) if naxis else 0
        end = data_start + -(-size // FITS_BLOCK) * FITS_BLOCK
        if end > len(data):
            raise SpectrumError(path, f"HDU {len(spans)} needs {end - len(data)} bytes more than the file holds: "
                                      f"the file is truncated (an interrupted download?) or damaged")
        raw_sum = cards.get("DATASUM", "").split("/")[0].strip().strip("'").strip()
        spans.append(HduSpan(pos, data_start, size, raw_sum or None))
        pos = end
    return spans


def datasum(block: bytes) -> int:
    """FITS DATASUM: 32-bit ones'-complement sum of the big-endian words (zero padding changes nothing)."""
    if len(block) % 4:
        block = block + b"\0" * (4 - len(block) % 4)
    total = int(np.frombuffer(block, dtype=">u4").sum(dtype=np.uint64))
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def verify_datasums(path: Path, data: bytes, spans: list[HduSpan]) -> None:
    """Refuse an HDU whose data no longer add up to the DATASUM its header records (a bit flip, an edit)."""
    for i, span in enumerate(spans):
        if span.datasum is None:
            continue
        try:
            expected = int(span.datasum)
        except ValueError:
            raise SpectrumError(path, f"HDU {i} has DATASUM = {span.datasum[:20]!r}, not a number") from None
        padded = -(-span.data_size // FITS_BLOCK) * FITS_BLOCK  # the standard sums the fill bytes too
        found = datasum(data[span.data_start:span.data_start + padded])
        if found != expected:
            raise SpectrumError(path, f"HDU {i}: its data do not match the DATASUM in its header ({found} instead of "
                                      f"{expected}): the file was damaged or edited after it was written")

