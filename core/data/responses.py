"""Responses as data: ``responses.npz`` in a dataset folder (docs/formats.md).

Each distinct response (ARF x RMF) is stored once, on the model's photon grid (``core.spectra.response_grid``)
and the dataset's channel grid; every row names its response by index. Arrays (``np.load(allow_pickle=False)``):
- ``photon_edges`` float64 (E + 1,) keV; ``channel_edges`` float64 (B + 1,) keV (the dataset's energy grid)
- ``arf``   float32 (R, E) cm2; ``rmf`` float32 (R, E, B): expected counts in channel-grid bin b of row i =
  exposure_i * sum_e photons_e * arf[r_i, e] * rmf[r_i, e, b] (photons cm-2 s-1 per photon bin)
- ``names`` str (R,): where each response came from; ``response_index`` int32 (N,): r_i of each catalog row
Identical responses (same float32 bytes after folding) share one index.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DatasetError
from core.spectra.response_grid import PhotonGrid, fold_response

RESPONSES_FILE = "responses.npz"


@dataclass
class ResponseSet:
    photon_edges: np.ndarray  # (E + 1,)
    channel_edges: np.ndarray  # (B + 1,)
    arf: np.ndarray  # (R, E) cm2
    rmf: np.ndarray  # (R, E, B)
    names: np.ndarray  # (R,) str
    index: np.ndarray  # (N,) int32

    @property
    def n_responses(self) -> int:
        return len(self.arf)

    def matrix(self) -> np.ndarray:
        """(R, E, B) float32: arf * rmf, expected counts per photon cm-2 in each photon bin."""
        return (self.arf[:, :, None] * self.rmf).astype(np.float32)

    def subset(self, rows: np.ndarray) -> "ResponseSet":
        """The same responses for some rows only."""
        return ResponseSet(self.photon_edges, self.channel_edges, self.arf, self.rmf, self.names, self.index[rows])

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, photon_edges=self.photon_edges, channel_edges=self.channel_edges,
                 arf=self.arf.astype(np.float32), rmf=self.rmf.astype(np.float32),
                 names=np.asarray(self.names, dtype=str), response_index=self.index.astype(np.int32))
        return buf.getvalue()


class ResponseCollector:
    """Gathers folded responses, storing identical ones once (keyed by the sha256 of their float32 bytes)."""

    def __init__(self, channel_edges: np.ndarray, photon_grid: PhotonGrid | None = None) -> None:
        self.channel_edges = np.asarray(channel_edges, dtype=np.float64)
        self.photon_edges = (photon_grid or PhotonGrid()).edges
        self._arf: list[np.ndarray] = []
        self._rmf: list[np.ndarray] = []
        self._names: list[str] = []
        self._by_hash: dict[str, int] = {}

    def add_folded(self, name: str, arf_grid: np.ndarray, rmf_grid: np.ndarray) -> int:
        a, r = np.asarray(arf_grid, np.float32), np.asarray(rmf_grid, np.float32)
        key = hashlib.sha256(a.tobytes() + r.tobytes()).hexdigest()
        if key not in self._by_hash:
            self._by_hash[key] = len(self._arf)
            self._arf.append(a)
            self._rmf.append(r)
            self._names.append(name)
        return self._by_hash[key]

    def add(self, name: str, arf: Any, rmf: Any) -> int:
        """Fold the readers' Arf/Rmf onto the grids and return its response index."""
        return self.add_folded(name, *fold_response(arf, rmf, self.photon_edges, self.channel_edges))

    def build(self, index: np.ndarray) -> ResponseSet:
        if not self._arf:
            raise DatasetError("no responses were collected")
        return ResponseSet(self.photon_edges, self.channel_edges, np.stack(self._arf), np.stack(self._rmf),
                           np.asarray(self._names, dtype=str), np.asarray(index, dtype=np.int32))


def check_responses(rs: ResponseSet, n_rows: int, channel_edges: np.ndarray, where: str) -> None:
    r, e, b = rs.rmf.shape
    if rs.arf.shape != (r, e) or len(rs.photon_edges) != e + 1 or len(rs.names) != r:
        raise DatasetError(f"{where}: {RESPONSES_FILE} arrays disagree in shape (arf {rs.arf.shape}, rmf "
                           f"{rs.rmf.shape}, {len(rs.photon_edges)} photon edges, {len(rs.names)} names)")
    if len(rs.channel_edges) != len(channel_edges) or not np.allclose(rs.channel_edges, channel_edges, atol=1e-9):
        raise DatasetError(f"{where}: {RESPONSES_FILE} is on another channel grid than energy_edges.npy")
    if rs.index.shape != (n_rows,):
        raise DatasetError(f"{where}: {RESPONSES_FILE} has {len(rs.index)} response indices for {n_rows} rows")
    if n_rows and (rs.index.min() < 0 or rs.index.max() >= r):
        raise DatasetError(f"{where}: {RESPONSES_FILE} response_index outside 0..{r - 1}")
    if not (np.all(np.isfinite(rs.arf)) and np.all(np.isfinite(rs.rmf)) and rs.arf.min() >= 0 and rs.rmf.min() >= 0):
        raise DatasetError(f"{where}: {RESPONSES_FILE} has NaN or negative values")


def read_responses(path: Path, n_rows: int, channel_edges: np.ndarray) -> ResponseSet | None:
    """A dataset folder's responses, or None for folders written before responses were stored."""
    f = Path(path) / RESPONSES_FILE
    if not f.is_file():
        return None
    with np.load(f, allow_pickle=False) as z:
        rs = ResponseSet(z["photon_edges"], z["channel_edges"], z["arf"], z["rmf"], z["names"], z["response_index"])
    check_responses(rs, n_rows, channel_edges, str(path))
    return rs


def spectrum_response(spectrum: Any, photon_grid: PhotonGrid | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The (arf_grid, rmf_grid) of a spectrum read by ``core.io.read_spectrum``: its kept ``response``, else its
    ARF/RMF files (from meta)."""
    from core.io.response import read_arf, read_rmf

    arf, rmf = spectrum.response or (read_arf(Path(spectrum.meta["arf_file"])),
                                     read_rmf(Path(spectrum.meta["rmf_file"])))
    return fold_response(arf, rmf, (photon_grid or PhotonGrid()).edges, spectrum.grid.edges)
