"""ARF and RMF readers (OGIP, gzipped or not; the RMF's variable-length matrix; CSC's 900-bin ARFs)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import SpectrumError
from core.io.fitsfile import header_value, open_fits, read_table


@dataclass
class Arf:
    path: Path
    energ_lo: np.ndarray  # (E,) keV
    energ_hi: np.ndarray  # (E,) keV
    specresp: np.ndarray  # (E,) cm2
    header: dict


@dataclass
class Rmf:
    path: Path
    energ_lo: np.ndarray  # (E,) keV
    energ_hi: np.ndarray  # (E,) keV
    matrix: np.ndarray  # (E, C) dense redistribution probabilities
    channel: np.ndarray  # (C,) channel numbers
    e_min: np.ndarray  # (C,) keV, from EBOUNDS
    e_max: np.ndarray  # (C,) keV
    header: dict


def _matrix_hdu(hdul):
    for h in hdul[1:]:
        if str(h.header.get("HDUCLAS2", "")).upper() == "RSP_MATRIX" or h.name in ("MATRIX", "SPECRESP MATRIX"):
            return h
    return None


def _ebounds_hdu(hdul):
    for h in hdul[1:]:
        if str(h.header.get("HDUCLAS2", "")).upper() == "EBOUNDS" or h.name == "EBOUNDS":
            return h
    return None


def read_arf(path: Path) -> Arf:
    path = Path(path)
    with open_fits(path) as hdul:
        if "SPECRESP" not in [h.name for h in hdul]:
            raise SpectrumError(path, "not an ARF: no SPECRESP extension")
        hdu = hdul["SPECRESP"]
        data = read_table(path, hdu)
        for col in ("ENERG_LO", "ENERG_HI", "SPECRESP"):
            if col not in hdu.columns.names:
                raise SpectrumError(path, f"ARF lacks the {col} column")
        arf = Arf(path, np.asarray(data["ENERG_LO"], float), np.asarray(data["ENERG_HI"], float),
                  np.asarray(data["SPECRESP"], float), dict(hdu.header))
    if not np.all(np.isfinite(arf.specresp)) or np.any(arf.specresp < 0):
        raise SpectrumError(path, "ARF effective area has NaN or negative values")
    return arf


def read_rmf(path: Path) -> Rmf:
    path = Path(path)
    with open_fits(path) as hdul:
        mhdu, ehdu = _matrix_hdu(hdul), _ebounds_hdu(hdul)
        if mhdu is None or ehdu is None:
            raise SpectrumError(path, "not an RMF: needs a response matrix (HDUCLAS2=RSP_MATRIX) and an "
                                      "EBOUNDS extension")
        mdata, edata = read_table(path, mhdu), read_table(path, ehdu)
        n_chan = int(header_value(mhdu.header, "DETCHANS", len(edata)))
        first_chan = int(header_value(mhdu.header, "TLMIN4", header_value(ehdu.header, "TLMIN1", 1)) or 1)
        n_e = len(mdata)
        matrix = np.zeros((n_e, n_chan), dtype=np.float64)
        n_grp = np.asarray(mdata["N_GRP"]).astype(int)
        f_chan, n_ch, rows = mdata["F_CHAN"], mdata["N_CHAN"], mdata["MATRIX"]
        for i in range(n_e):  # variable-length rows: each has N_GRP groups of N_CHAN channels from F_CHAN
            fc, nc = np.atleast_1d(f_chan[i]), np.atleast_1d(n_ch[i])
            row = np.atleast_1d(np.asarray(rows[i], float))  # a one-element MATRIX column reads as a scalar
            pos = 0
            for g in range(n_grp[i]):
                start, length = int(fc[g]) - first_chan, int(nc[g])
                if start < 0 or start + length > n_chan or pos + length > row.size:
                    raise SpectrumError(path, f"RMF row {i} group {g} points outside the {n_chan} channels")
                matrix[i, start:start + length] = row[pos:pos + length]
                pos += length
        rmf = Rmf(path, np.asarray(mdata["ENERG_LO"], float), np.asarray(mdata["ENERG_HI"], float), matrix,
                  np.asarray(edata["CHANNEL"], int), np.asarray(edata["E_MIN"], float),
                  np.asarray(edata["E_MAX"], float), dict(mhdu.header))
    if len(rmf.channel) != n_chan:
        raise SpectrumError(path, f"EBOUNDS has {len(rmf.channel)} channels but the matrix has DETCHANS={n_chan}")
    return rmf


def check_pair(arf: Arf, rmf: Rmf) -> None:
    """An ARF and RMF belong together only on the same energy grid."""
    if len(arf.energ_lo) != len(rmf.energ_lo) or not np.allclose(arf.energ_lo, rmf.energ_lo, rtol=1e-4, atol=1e-6):
        raise SpectrumError(arf.path, f"ARF {arf.path.name}: its energy grid ({len(arf.energ_lo)} bins, "
                                      f"{arf.energ_lo[0]:.3f}-{arf.energ_hi[-1]:.3f} keV) does not match the RMF {rmf.path.name} "
                                      f"({len(rmf.energ_lo)} bins, {rmf.energ_lo[0]:.3f}-{rmf.energ_hi[-1]:.3f} keV)")
