"""RMF reader: the variable-length redistribution matrix read into a sparse matrix over the channels EBOUNDS
defines (never a dense DETCHANS-wide allocation), every group checked against those channels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import sparse

from core.errors import SpectrumError
from core.io.cells import cells
from core.io.energies import ebounds, energy_grid
from core.io.fitsfile import open_fits, read_table
from core.io.keywords import column, column_limits, number

MATRIX_COLUMNS = ("N_GRP", "F_CHAN", "N_CHAN", "MATRIX")


@dataclass
class Rmf:
    path: Path
    energ_lo: np.ndarray  # (E,) keV
    energ_hi: np.ndarray  # (E,) keV
    redistribution: sparse.csr_matrix  # (E, C) redistribution probabilities
    channel: np.ndarray  # (C,) channel numbers, ascending
    e_min: np.ndarray  # (C,) keV, from EBOUNDS
    e_max: np.ndarray  # (C,) keV
    header: dict

    @property
    def matrix(self) -> np.ndarray:
        """Dense (E, C) matrix (C is the EBOUNDS channel count, checked to be ACIS's)."""
        return self.redistribution.toarray()


def _matrix_hdu(hdul: fits.HDUList):
    for h in hdul[1:]:
        if isinstance(h, fits.BinTableHDU) and (str(h.header.get("HDUCLAS2", "")).strip().upper() == "RSP_MATRIX"
                                                or h.name in ("MATRIX", "SPECRESP MATRIX")):
            return h
    return None


def _ebounds_hdu(hdul: fits.HDUList):
    for h in hdul[1:]:
        if isinstance(h, fits.BinTableHDU) and (str(h.header.get("HDUCLAS2", "")).strip().upper() == "EBOUNDS"
                                                or h.name == "EBOUNDS"):
            return h
    return None


def _first_channel(path: Path, hdu: fits.BinTableHDU, default: int) -> int:
    """TLMIN of F_CHAN (0 is valid: some RMFs number channels from 0), else EBOUNDS's first channel."""
    tlmin, _ = column_limits(hdu, "F_CHAN")
    if tlmin is None:
        return default
    if isinstance(tlmin, bool) or not isinstance(tlmin, (int, float)) or tlmin not in (0, 1):
        raise SpectrumError(path, f"{hdu.name}: F_CHAN TLMIN={tlmin!r}; channels start at 0 or 1")
    return int(tlmin)


def _groups(path: Path, hdu: fits.BinTableHDU, data, n_chan: int, first: int) -> sparse.csr_matrix:
    """Each row's N_GRP groups of N_CHAN channels from F_CHAN, their MATRIX values in order: built for all rows
    at once (numpy repeat/cumsum, no loop over rows), every group checked against the row and the channels."""
    n_grp = column(path, hdu, data, "N_GRP", integer=True).astype(np.int64)
    if np.any(n_grp < 0):
        raise SpectrumError(path, f"{hdu.name}: N_GRP has negative values")
    f_chan, n_ch, values = (cells(path, hdu, data, name) for name in ("F_CHAN", "N_CHAN", "MATRIX"))
    short = n_grp > np.minimum(f_chan.counts, n_ch.counts)
    if short.any():
        i = int(np.argmax(short))
        raise SpectrumError(path, f"{hdu.name}: row {i} has N_GRP={n_grp[i]} but {f_chan.counts[i]} F_CHAN and "
                                  f"{n_ch.counts[i]} N_CHAN values")
    fc, nc = f_chan.head(n_grp), n_ch.head(n_grp)
    group_row = np.repeat(np.arange(len(n_grp)), n_grp)
    whole = np.isfinite(fc) & np.isfinite(nc) & (fc == np.round(fc)) & (nc == np.round(nc))
    if not whole.all():
        raise SpectrumError(path, f"{hdu.name}: row {group_row[np.argmin(whole)]}: F_CHAN/N_CHAN are not whole "
                                  f"numbers")
    start, length = fc.astype(np.int64) - first, nc.astype(np.int64)
    bad_group = (start < 0) | (length < 0) | (start > n_chan) | (length > n_chan) | (start + length > n_chan)
    sums = np.concatenate(([0], np.cumsum(np.where(bad_group, 0, length))))
    bounds = np.concatenate(([0], np.cumsum(n_grp)))
    per_row = sums[bounds[1:]] - sums[bounds[:-1]]
    bad = (per_row > values.counts) | (np.bincount(group_row, bad_group, len(n_grp)) > 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise SpectrumError(path, f"{hdu.name}: row {i}: a channel group points outside the {n_chan} channels "
                                  f"or beyond the row's {values.counts[i]} MATRIX values")
    v = values.head(per_row)
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise SpectrumError(path, f"{hdu.name}: MATRIX has NaN, infinite or negative probabilities")
    c = np.arange(v.size, dtype=np.int64) + np.repeat(start - (np.cumsum(length) - length), length)
    matrix = sparse.csr_matrix((v, c, np.concatenate(([0], np.cumsum(per_row)))), shape=(len(n_grp), n_chan))
    matrix.sum_duplicates()  # sorted columns, overlapping groups added: what building it from (row, col) gives
    return matrix


def read_rmf(path: Path) -> Rmf:
    path = Path(path)
    with open_fits(path) as hdul:
        mhdu, ehdu = _matrix_hdu(hdul), _ebounds_hdu(hdul)
        if mhdu is None or ehdu is None:
            raise SpectrumError(path, "not an RMF: needs a response matrix (HDUCLAS2=RSP_MATRIX) and an "
                                      "EBOUNDS extension")
        mdata, edata = read_table(path, mhdu, raw=MATRIX_COLUMNS[1:]), read_table(path, ehdu)
        channel, e_min, e_max = ebounds(path, ehdu, edata)
        for hdu in (mhdu, ehdu):
            detchans = number(path, hdu, "DETCHANS", hi=1e9, integer=True, default=float(len(channel)))
            if detchans != len(channel):
                raise SpectrumError(path, f"{hdu.name}: DETCHANS={detchans:.0f} but EBOUNDS has {len(channel)} "
                                          f"channels")
        names = [c.upper() for c in mhdu.columns.names]
        missing = [c for c in MATRIX_COLUMNS if c not in names]
        if missing:
            raise SpectrumError(path, f"{mhdu.name}: lacks the {', '.join(missing)} column(s)")
        lo, hi = energy_grid(path, mhdu, mdata)
        matrix = _groups(path, mhdu, mdata, len(channel), _first_channel(path, mhdu, int(channel[0])))
        return Rmf(path, lo, hi, matrix, channel, e_min, e_max, dict(mhdu.header))
