"""A binary-table column read as rows of numbers straight from the table's raw bytes: variable-length columns
(TFORM ``P``/``Q``, int32 or int64 descriptors into the heap) or fixed-length ones (``rE``). astropy turns a
variable-length column into one Python object per row, which costs more than the rest of a spectrum's
reading; here the descriptors and the heap are used as numpy arrays, each descriptor checked to lie in the heap.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from core.errors import SpectrumError

NUMBER_TYPES = {"B": ">u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
UNSIGNED_OFFSET = {"B": -128, "I": 2**15, "J": 2**31, "K": 2**63}  # TZERO of FITS's signed bytes / unsigned ints
TFORM = re.compile(r"^(\d*)([PQ]?)([A-Z])(\(\d*\))?$")


@dataclass
class Cells:
    """Column ``name``: ``counts[i]`` numbers in row i; ``head(n)`` the first ``n[i]`` of each row, in row order."""
    name: str
    counts: np.ndarray  # (rows,) int64
    dtype: np.dtype  # big-endian element type
    offset: float  # TZERO of an unsigned integer column, else 0
    fixed: np.ndarray | None = None  # (rows, r) raw values of a fixed-length column
    starts: np.ndarray | None = None  # (rows,) byte offset of each row's array in ``heap``
    heap: np.ndarray | None = None  # uint8

    def head(self, n: np.ndarray) -> np.ndarray:
        """float64 of the first n[i] values of every row (n <= counts, checked by the caller)."""
        if self.fixed is not None:
            values = self.fixed[np.arange(self.fixed.shape[1]) < n[:, None]]
        else:
            values = self._gather(n)
        return values.astype(np.float64) + self.offset if self.offset else values.astype(np.float64)

    def _gather(self, n: np.ndarray) -> np.ndarray:
        size = self.dtype.itemsize
        shift = self.starts % size  # a heap array need not start on a multiple of its element size
        # element k of row i sits at element (starts[i] - shift[i]) // size + k of the heap viewed from shift[i]
        index = np.arange(n.sum()) + np.repeat((self.starts - shift) // size - (np.cumsum(n) - n), n)
        used = np.unique(shift[n > 0])
        if len(used) <= 1:  # the usual heap: every array aligned alike, one view serves all
            return self._view(int(used[0]) if len(used) else 0)[index]
        out = np.empty(index.size, self.dtype)
        for s in used:
            pick = np.repeat(shift == s, n)
            out[pick] = self._view(int(s))[index[pick]]
        return out

    def _view(self, shift: int) -> np.ndarray:
        """The heap as elements starting ``shift`` bytes in."""
        size = self.dtype.itemsize
        return self.heap[shift:shift + (self.heap.size - shift) // size * size].view(self.dtype)


def _heap(path: Path, hdu: fits.BinTableHDU, data: fits.FITS_rec) -> np.ndarray:
    """The heap's bytes: from THEAP (default just after the rows) to the end of PCOUNT's bytes."""
    raw = data._get_raw_data()  # the table as read from the file, rows then heap (astropy's own accessor)
    table = int(hdu.header["NAXIS1"]) * int(hdu.header["NAXIS2"])
    end = table + int(hdu.header.get("PCOUNT", 0))
    theap = hdu.header.get("THEAP", table)
    if raw is None or raw.size < end or isinstance(theap, bool) or not isinstance(theap, int) \
            or not table <= theap <= end:
        raise SpectrumError(path, f"{hdu.name}: THEAP={theap!r} or PCOUNT do not describe a heap inside the table's "
                                  f"data")
    return raw.view(np.uint8)[theap:end]


def cells(path: Path, hdu: fits.BinTableHDU, data: fits.FITS_rec, name: str) -> Cells:
    """Column ``name`` of plain numbers (B/I/J/K/E/D, unscaled), variable- or fixed-length, refusing the rest."""
    index = [c.upper() for c in hdu.columns.names].index(name.upper())
    col = hdu.columns[index]
    label = f"{hdu.name}: the {name} column"
    match = TFORM.match(str(col.format).strip().upper())
    if match is None or match.group(3) not in NUMBER_TYPES:
        raise SpectrumError(path, f"{label} holds values that are not numbers (TFORM {col.format})")
    repeat, vla, code = match.group(1), match.group(2), match.group(3)
    if col.bscale not in (None, 1) or col.bzero not in (None, 0, UNSIGNED_OFFSET.get(code)):
        raise SpectrumError(path, f"{label} is scaled (TSCAL={col.bscale}, TZERO={col.bzero}); stored values must "
                                  f"be the values themselves")
    offset = float(col.bzero or 0)
    rows = data.view(np.ndarray)
    field = rows[rows.dtype.names[index]]
    dtype = np.dtype(NUMBER_TYPES[code])
    if not vla:
        fixed = field.reshape(len(rows), -1)
        if fixed.dtype.kind not in "iuf" or fixed.shape[1] != int(repeat or 1):
            raise SpectrumError(path, f"{label} does not hold the {repeat or 1} numbers per row its TFORM says")
        return Cells(name, np.full(len(rows), fixed.shape[1], np.int64), dtype, offset, fixed=fixed)
    desc = field.reshape(len(rows), -1)
    if desc.shape[1] != 2 or desc.dtype.kind != "i":
        raise SpectrumError(path, f"{label}: TFORM {col.format} but the rows do not hold array descriptors")
    heap = _heap(path, hdu, data)
    counts, starts = desc[:, 0].astype(np.int64), desc[:, 1].astype(np.int64)
    outside = (counts < 0) | (starts < 0) | (counts > heap.size // dtype.itemsize)
    outside |= starts > heap.size - np.where(outside, 0, counts) * dtype.itemsize
    if outside.any():
        i = int(np.argmax(outside))
        raise SpectrumError(path, f"{label}: row {i}'s array ({counts[i]} values from heap byte {starts[i]}) lies "
                                  f"outside the {heap.size}-byte heap: the file is damaged")
    return Cells(name, counts, dtype, offset, starts=starts, heap=heap)
