"""The dataset folder: the contract between data building, training and the explorer.

Files (names are stable; other tools read them):
- ``catalog.parquet``   one row per spectrum, in the order of the arrays (columns: see ``REQUIRED_COLUMNS``)
- ``spectra.npy``       float32 (N, B) observed counts on the grid (whole numbers), memory-mappable
- ``background.npy``    float32 (N, B) expected background counts in the source region (background spectrum
                        times the BACKSCAL and exposure ratio); zeros when a spectrum has no background
- ``truth.npy``         float32 (N, B) noiseless expected source counts; only for simulated datasets
- ``weights.npy``       float32 (N, B) per-bin weight, 0 for bad channels (QUALITY != 0); absent = all ones
- ``energy_edges.npy``  float64 (B + 1,) grid edges in keV
- ``responses.npz``     each distinct response (ARF x RMF) on the model's photon grid and this channel grid, and
                        every row's response index (``core.data.responses``); absent in older folders
- ``dataset.json``      how it was built (command, grid, seed, sources, counts, software versions) and its
                        ``fingerprint``: sha256 of the ids and the counts, what identifies it to a run folder
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.atomic import atomic_dir, write_json_atomic
from core.data.responses import RESPONSES_FILE, ResponseSet, check_responses, read_responses
from core.errors import DatasetError

REQUIRED_COLUMNS = (
    "id", "name", "class", "split", "counts",
    "hard_hm", "hard_hs", "hard_ms",
    "catalog_hard_hm", "catalog_hard_hs", "catalog_hard_ms",
    "exposure", "simulated",
)
SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    path: Path
    catalog: pd.DataFrame
    spectra: np.ndarray  # (N, B) float32 counts
    background: np.ndarray  # (N, B) float32 expected background counts
    energy_edges: np.ndarray  # (B + 1,) keV
    info: dict[str, Any]
    truth: np.ndarray | None = None  # (N, B) noiseless source counts (simulated only)
    weights: np.ndarray | None = None  # (N, B) 0 = bad bin
    responses: ResponseSet | None = None  # every row's response (responses.npz); None in older folders

    @property
    def n_bins(self) -> int:
        return len(self.energy_edges) - 1

    @property
    def simulated(self) -> bool:
        return bool(self.info.get("simulated", False))

    def split_index(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.catalog["split"].to_numpy() == split)

    @property
    def fingerprint(self) -> str:
        """sha256 of the ids (in order) and the counts: two datasets with the same sources but other counts (the
        demo with another seed) differ. Stored in dataset.json when written; computed for older folders."""
        return str(self.info.get("fingerprint") or content_fingerprint(self.catalog["id"], self.spectra))

    def bin_weights(self) -> np.ndarray:
        """Per-bin weights (N, B); all ones when the dataset has no bad channels."""
        return self.weights if self.weights is not None else np.ones(self.spectra.shape, dtype=np.float32)


def content_fingerprint(ids, spectra: np.ndarray, chunk: int = 65536) -> str:
    h = hashlib.sha256("\n".join(map(str, ids)).encode())
    for i in range(0, len(spectra), chunk):
        h.update(np.ascontiguousarray(spectra[i:i + chunk], dtype=np.float32).tobytes())
    return h.hexdigest()


def validate_catalog(catalog: pd.DataFrame, n_rows: int, where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in catalog.columns]
    if missing:
        raise DatasetError(f"{where}: catalog lacks columns {missing}")
    if len(catalog) != n_rows:
        raise DatasetError(f"{where}: catalog has {len(catalog)} rows but spectra has {n_rows}")
    if catalog["id"].duplicated().any():
        dup = catalog.loc[catalog["id"].duplicated(), "id"].iloc[0]
        raise DatasetError(f"{where}: id {dup!r} appears more than once")
    bad = set(catalog["split"].unique()) - set(SPLITS)
    if bad:
        raise DatasetError(f"{where}: unknown split values {sorted(bad)}; expected {SPLITS}")


def write_dataset(
    out: Path,
    catalog: pd.DataFrame,
    spectra: np.ndarray,
    background: np.ndarray,
    energy_edges: np.ndarray,
    info: dict[str, Any],
    truth: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    overwrite: bool = False,
    responses: ResponseSet | None = None,
) -> Path:
    """Write a whole dataset atomically from in-memory arrays (small datasets; see ``DatasetFolderWriter``)."""
    expected = (len(catalog), len(energy_edges) - 1)
    for name, arr in (("spectra", spectra), ("background", background), ("truth", truth), ("weights", weights)):
        if arr is not None and np.shape(arr) != expected:
            raise DatasetError(f"{out}: {name} has shape {np.shape(arr)}; the catalog rows and energy edges "
                               f"need {expected}")
    with DatasetFolderWriter(out, len(catalog), len(energy_edges) - 1, with_truth=truth is not None,
                             with_weights=weights is not None, overwrite=overwrite) as w:
        w.spectra[:] = spectra
        w.background[:] = background
        if truth is not None:
            w.truth[:] = truth
        if weights is not None:
            w.weights[:] = weights
        w.finish(catalog, energy_edges, info, responses)
    return Path(out)


class DatasetFolderWriter:
    """Fill memory-mapped arrays chunk by chunk, then ``finish``; the folder appears only when the block ends
    without an error. Only one copy of each array exists: the memory map on disk."""

    def __init__(self, out: Path, n: int, n_bins: int, *, with_truth: bool = False,
                 with_weights: bool = False, overwrite: bool = False) -> None:
        self.out = Path(out)
        self.n, self.n_bins = n, n_bins
        self.with_truth, self.with_weights = with_truth, with_weights
        self.overwrite = overwrite
        self._finished = False

    def __enter__(self) -> "DatasetFolderWriter":
        self._ctx = atomic_dir(self.out, overwrite=self.overwrite)
        self.tmp = self._ctx.__enter__()
        mm = np.lib.format.open_memmap
        shape = (self.n, self.n_bins)
        self.spectra = mm(self.tmp / "spectra.npy", mode="w+", dtype=np.float32, shape=shape)
        self.background = mm(self.tmp / "background.npy", mode="w+", dtype=np.float32, shape=shape)
        self.truth = mm(self.tmp / "truth.npy", mode="w+", dtype=np.float32, shape=shape) if self.with_truth else None
        self.weights = (mm(self.tmp / "weights.npy", mode="w+", dtype=np.float32, shape=shape)
                        if self.with_weights else None)
        return self

    def finish(self, catalog: pd.DataFrame, energy_edges: np.ndarray, info: dict[str, Any],
               responses: ResponseSet | None = None) -> None:
        validate_catalog(catalog, self.n, str(self.out))
        if responses is not None:
            check_responses(responses, self.n, np.asarray(energy_edges, dtype=np.float64), str(self.out))
            (self.tmp / RESPONSES_FILE).write_bytes(responses.to_bytes())
        if len(energy_edges) != self.n_bins + 1:
            raise DatasetError(f"{self.out}: {len(energy_edges)} energy edges for {self.n_bins} bins")
        for arr in (self.spectra, self.background, self.truth, self.weights):
            if arr is not None:
                arr.flush()
        catalog.reset_index(drop=True).to_parquet(self.tmp / "catalog.parquet", index=False)
        np.save(self.tmp / "energy_edges.npy", np.asarray(energy_edges, dtype=np.float64))
        info = {**info, "fingerprint": content_fingerprint(catalog["id"], self.spectra)}
        write_json_atomic(self.tmp / "dataset.json", info)
        self._finished = True

    def __exit__(self, exc_type, exc, tb) -> bool:
        for name in ("spectra", "background", "truth", "weights"):
            setattr(self, name, None)  # release the memory maps before the rename
        if exc_type is None and not self._finished:
            err = DatasetError(f"{self.out}: writer closed without finish(); nothing was written")
            self._ctx.__exit__(DatasetError, err, None)  # removes the temporary folder
            raise err
        return bool(self._ctx.__exit__(exc_type, exc, tb))


def load_dataset(path: Path, mmap: bool = True) -> Dataset:
    """Open a dataset folder; arrays are memory-mapped read-only unless ``mmap`` is False."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: no dataset folder here (build one with `python -m core build-demo` "
                           f"or `python -m core ingest`)")
    for name in ("catalog.parquet", "spectra.npy", "background.npy", "energy_edges.npy", "dataset.json"):
        if not (path / name).is_file():
            raise DatasetError(f"{path}: incomplete dataset, {name} is missing")
    mode = "r" if mmap else None
    load = lambda name: np.load(path / name, mmap_mode=mode, allow_pickle=False)  # noqa: E731
    spectra = load("spectra.npy")
    catalog = pd.read_parquet(path / "catalog.parquet")
    validate_catalog(catalog, spectra.shape[0], str(path))
    edges = np.load(path / "energy_edges.npy", allow_pickle=False)
    if spectra.shape[1] != len(edges) - 1:
        raise DatasetError(f"{path}: spectra have {spectra.shape[1]} bins but energy_edges.npy has {len(edges)} edges")
    info = json.loads((path / "dataset.json").read_text())
    truth = load("truth.npy") if (path / "truth.npy").is_file() else None
    weights = load("weights.npy") if (path / "weights.npy").is_file() else None
    responses = read_responses(path, len(catalog), edges)
    return Dataset(path, catalog, spectra, load("background.npy"), edges, info, truth, weights, responses)
