"""``RunFolder``: every file of a run folder is named here, and read or written (atomically) only through it.

A run folder (docs/formats.md) holds what ``train`` writes (config, weights, checkpoint, history), what
``encode`` writes (latents, maps, placement, reconstruction errors, reconstructions) and what ``evaluate``
writes (metrics.json, reconstruction.csv). ``evaluate --out DIR`` writes those two files into DIR instead,
through a ``RunFolder(DIR)`` used only for writing (the same file names), and never touches the run folder. The dataset of a run is resolved one way (``dataset_path``): the one it was encoded on,
else the one it was trained on; relative paths are tried against the working directory, then the project
root of the usual ``runs/<name>`` layout, then the run folder.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from core.atomic import write_bytes_atomic, write_json_atomic
from core.data.dataset import Dataset
from core.errors import ConfigError, DatasetError
from core.maps.projector import MAP_NAMES as MAPS
from core.maps.projector import MapProjector

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CHECKPOINT = "checkpoint.pt"
HISTORY = "history.csv"
LATENTS = "latents.npy"
ENCODED = "encoded.json"
PLACEMENT = "map_placement.npz"
RECON_ERROR = "recon_error.npy"
RECONSTRUCTIONS = "reconstructions.npy"
METRICS = "metrics.json"
RECONSTRUCTION_CSV = "reconstruction.csv"  # evaluate: id, counts, deviance_per_bin of every spectrum
RECONSTRUCTION_COLUMNS = ("id", "counts", "deviance_per_bin")
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "seconds")
FILES = (CONFIG, WEIGHTS, CHECKPOINT, HISTORY, LATENTS, ENCODED, *(f"map_{m}.npy" for m in MAPS), PLACEMENT,
         RECON_ERROR, RECONSTRUCTIONS, METRICS, RECONSTRUCTION_CSV)


def ids_checksum(ids: Iterable[Any]) -> str:
    """sha256 of the dataset's ids in order: which rows, in which order, a file of the run describes."""
    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


class RunFolder:
    """One run folder on disk. Paths are ``run.file(NAME)`` with the module's file-name constants."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        return self.file(name).is_file()

    def state(self) -> dict[str, bool]:
        """Which steps the run has been through."""
        return {"exists": self.path.is_dir(), "trained": self.has(WEIGHTS) and self.has(CONFIG),
                "encoded": self.has(LATENTS) and self.has(ENCODED),
                "maps": all(self.has(f"map_{m}.npy") for m in MAPS), "evaluated": self.has(METRICS)}

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        """Remove the files a run writes (and nothing else a user may keep in the folder)."""
        for name in FILES:
            self.file(name).unlink(missing_ok=True)

    # ---- reading ------------------------------------------------------------------------------------------
    def read_json(self, name: str) -> dict[str, Any]:
        """A JSON file of the run, {} when it is not there."""
        p = self.file(name)
        return json.loads(p.read_text()) if p.is_file() else {}

    def config(self) -> dict[str, Any]:
        if not self.has(CONFIG):
            raise ConfigError(f"{self.file(CONFIG)} is missing: {self.path} is not a run folder (train one with "
                              f"`python -m core train`)")
        return self.read_json(CONFIG)

    def metrics(self) -> dict[str, Any]:
        return self.read_json(METRICS)

    def encoded(self) -> dict[str, Any]:
        return self.read_json(ENCODED)

    def history(self):
        import pandas as pd

        return pd.read_csv(self.file(HISTORY)) if self.has(HISTORY) else None

    def dataset_path(self) -> Path:
        """The dataset this run describes: the one it was encoded on, else the one it was trained on."""
        raw = self.encoded().get("dataset") or self.read_json(CONFIG).get("dataset")
        if not raw:
            raise DatasetError(f"{self.path}: neither {ENCODED} nor {CONFIG} names the dataset of this run")
        p = Path(raw)
        if p.is_absolute() or p.is_dir():
            return p
        here = self.path.resolve()
        for base in (here.parent.parent, here.parent, here):
            if (base / p).is_dir():
                return base / p
        return p

    def load_model(self, device: str = "cpu"):
        """The best model of the run (``model.safetensors``), in eval mode on ``device``."""
        from core.model.checkpoint import load_model

        return load_model(self.file(WEIGHTS), device=device)

    def load_latents(self, ds: Dataset) -> np.ndarray:
        """The saved latents (N, D), only if they encode exactly this dataset's rows, in its order.

        ``encoded.json`` records the dataset's fingerprint (ids and counts; older runs: the ids only); a run
        encoded on another dataset (the demo with another seed has the same sources) would otherwise pair
        latents with the wrong spectra.
        """
        if not self.has(ENCODED) or not self.has(LATENTS):
            raise DatasetError(f"{self.path}: not encoded yet; run `python -m core encode --run {self.path} "
                               f"--data <dataset>`")
        enc = self.encoded()
        same = (enc.get("dataset_sha256") == ds.fingerprint if "dataset_sha256" in enc
                else enc.get("ids_sha256") == ids_checksum(ds.catalog["id"]))
        if not same:
            raise DatasetError(f"{self.path}: its latents encode another dataset than {ds.path}; run `python -m "
                               f"core encode --run {self.path} --data {ds.path}`")
        latents = np.load(self.file(LATENTS), allow_pickle=False)
        if latents.ndim != 2 or latents.shape[0] != len(ds.catalog):
            raise DatasetError(f"{self.file(LATENTS)} has shape {latents.shape} but {ds.path} has "
                               f"{len(ds.catalog)} rows (a damaged file?); re-run encode on this dataset")
        return latents

    def load_array(self, name: str, shape: tuple[int, ...], notes: list[str], mmap: bool = False) -> np.ndarray | None:
        """An optional array of the run, or None (and a note) when it is missing or of another shape."""
        if not self.has(name):
            return None
        arr = np.load(self.file(name), mmap_mode="r" if mmap else None, allow_pickle=False)
        if arr.shape != shape:
            notes.append(f"{name} has shape {arr.shape}, expected {shape}; ignored")
            return None
        return arr

    def load_maps(self, n: int, notes: list[str]) -> dict[str, np.ndarray]:
        maps = {m: self.load_array(f"map_{m}.npy", (n, 2), notes) for m in MAPS}
        return {m: a for m, a in maps.items() if a is not None}

    def load_projector(self) -> MapProjector:
        return MapProjector.load(self.file(PLACEMENT))

    # ---- writing (atomic) ---------------------------------------------------------------------------------
    def write_array(self, name: str, arr: np.ndarray) -> None:
        write_bytes_atomic(self.file(name), npy_bytes(arr))

    def write_json(self, name: str, obj: Any) -> None:
        write_json_atomic(self.file(name), obj)

    def write_bytes(self, name: str, data: bytes) -> None:
        write_bytes_atomic(self.file(name), data)

    def remove(self, name: str) -> None:
        self.file(name).unlink(missing_ok=True)

    def write_history(self, history: list[dict[str, float]]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        self.write_bytes(HISTORY, buf.getvalue().encode())

    def write_reconstruction_csv(self, ids: Iterable[Any], counts: np.ndarray, deviance: np.ndarray) -> None:
        """``reconstruction.csv``: one row per spectrum, columns ``RECONSTRUCTION_COLUMNS``."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(RECONSTRUCTION_COLUMNS)
        for i, c, d in zip(ids, np.asarray(counts), np.asarray(deviance, dtype=np.float64)):
            writer.writerow([str(i), int(c), f"{d:.6g}"])
        self.write_bytes(RECONSTRUCTION_CSV, buf.getvalue().encode())

    def check_dataset(self, ds: Dataset) -> None:
        """Refuse to resume training on another dataset than the one the run started on."""
        cfg = self.read_json(CONFIG)
        want = cfg.get("dataset_sha256")
        if want is not None and want != ds.fingerprint:
            raise ConfigError(f"{self.path}: this run was started on the dataset {cfg.get('dataset')}, not on "
                              f"{ds.path} (its spectra differ); resume it on that dataset, or pass --overwrite "
                              f"to start again")
