"""RMF reader: the variable-length redistribution matrix read into a sparse matrix over the channels EBOUNDS
defines (never a dense DETCHANS-wide allocation), every group checked against those channels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import sparse

from core.errors import SpectrumError
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
    n_grp = column(path, hdu, data, "N_GRP", integer=True).astype(np.int64)
    if np.any(n_grp < 0):
        raise SpectrumError(path, f"{hdu.name}: N_GRP has negative values")
    f_chan, n_ch, values = data["F_CHAN"], data["N_CHAN"], data["MATRIX"]
    rows, cols, vals = [], [], []
    for i in range(len(n_grp)):  # variable-length rows: N_GRP groups of N_CHAN channels from F_CHAN
        try:
            fc = np.atleast_1d(np.asarray(f_chan[i], dtype=np.float64))
            nc = np.atleast_1d(np.asarray(n_ch[i], dtype=np.float64))
            row = np.atleast_1d(np.asarray(values[i], dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise SpectrumError(path, f"{hdu.name}: row {i} holds values that are not numbers ({exc})") from exc
        if n_grp[i] > min(fc.size, nc.size):
            raise SpectrumError(path, f"{hdu.name}: row {i} has N_GRP={n_grp[i]} but {fc.size} F_CHAN and "
                                      f"{nc.size} N_CHAN values")
        fc, nc = fc[:n_grp[i]], nc[:n_grp[i]]
        if not (np.all(np.isfinite(fc)) and np.all(np.isfinite(nc)) and np.all(fc == np.round(fc))
                and np.all(nc == np.round(nc))):
            raise SpectrumError(path, f"{hdu.name}: row {i}: F_CHAN/N_CHAN are not whole numbers")
        start, length = fc.astype(np.int64) - first, nc.astype(np.int64)
        if np.any(start < 0) or np.any(length < 0) or np.any(start + length > n_chan) or length.sum() > row.size:
            raise SpectrumError(path, f"{hdu.name}: row {i}: a channel group points outside the {n_chan} channels "
                                      f"or beyond the row's {row.size} MATRIX values")
        if length.sum():
            rows.append(np.full(length.sum(), i))
            cols.append(np.concatenate([np.arange(s, s + n) for s, n in zip(start, length)]))
            vals.append(row[:length.sum()])
    r, c, v = (np.concatenate(x) if x else np.zeros(0) for x in (rows, cols, vals))
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise SpectrumError(path, f"{hdu.name}: MATRIX has NaN, infinite or negative probabilities")
    return sparse.csr_matrix((v, (r.astype(np.int64), c.astype(np.int64))), shape=(len(n_grp), n_chan))


def read_rmf(path: Path) -> Rmf:
    path = Path(path)
    with open_fits(path) as hdul:
        mhdu, ehdu = _matrix_hdu(hdul), _ebounds_hdu(hdul)
        if mhdu is None or ehdu is None:
            raise SpectrumError(path, "not an RMF: needs a response matrix (HDUCLAS2=RSP_MATRIX) and an "
                                      "EBOUNDS extension")
        mdata, edata = read_table(path, mhdu), read_table(path, ehdu)
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
