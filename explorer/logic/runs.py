"""Run folders as the explorer sees them: find them, check what they hold, load one into a single table.

A run folder (docs/formats.md) holds the model and, after ``python -m core encode``, the latents, the 2-D maps
and the reconstruction errors, all in the catalog order of the dataset that was encoded (``encoded.json``).
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.dataset import Dataset, load_dataset
from core.run.encode import load_latents
from core.errors import DatasetError

RUNS_ROOT = Path("runs")
DEFAULT_RUN = RUNS_ROOT / "demo"
RUN_ENV = "XLE_RUN"
MAPS = ("umap", "pca")  # map_<name>.npy


def default_run_dir(env: Mapping[str, str] | None = None) -> Path:
    """The run the app opens first: ``$XLE_RUN`` when set, else ``runs/demo``."""
    env = os.environ if env is None else env
    return Path(env[RUN_ENV]) if env.get(RUN_ENV) else DEFAULT_RUN


def run_state(run_dir: Path) -> dict[str, bool]:
    """Which steps a run folder has been through."""
    run_dir = Path(run_dir)
    has = lambda name: (run_dir / name).is_file()  # noqa: E731
    return {
        "exists": run_dir.is_dir(),
        "trained": has("model.safetensors") and has("config.json"),
        "encoded": has("latents.npy") and has("encoded.json"),
        "maps": all(has(f"map_{m}.npy") for m in MAPS),
        "evaluated": has("metrics.json"),
    }


def is_explorable(run_dir: Path) -> bool:
    s = run_state(run_dir)
    return s["trained"] and s["encoded"]


def discover_runs(root: Path = RUNS_ROOT, extra: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
    """Explorable run folders: the sub-folders of ``root`` plus ``extra`` ones (e.g. ``$XLE_RUN``), sorted,
    without duplicates."""
    found: dict[Path, None] = {}
    candidates = list(extra)
    if Path(root).is_dir():
        candidates += sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
    for p in candidates:
        p = Path(p)
        if is_explorable(p):
            found.setdefault(p.resolve(), None)
    return sorted(found, key=lambda p: (p.name != "demo", str(p)))


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def dataset_path_of(run_dir: Path) -> Path:
    """The dataset a run was encoded on (``encoded.json``), else the one it was trained on (``config.json``).

    Relative paths are tried against the working directory, then against the run folder's parent's parent
    (the project root in the usual ``runs/<name>`` layout).
    """
    run_dir = Path(run_dir)
    enc = _read_json(run_dir / "encoded.json")
    raw = enc.get("dataset") or enc.get("path") or _read_json(run_dir / "config.json").get("dataset")
    if not raw:
        raise DatasetError(f"{run_dir}: neither encoded.json nor config.json names the dataset of this run")
    p = Path(raw)
    if p.is_absolute() or p.is_dir():
        return p
    for base in (run_dir.resolve().parent.parent, run_dir.resolve().parent, run_dir.resolve()):
        if (base / p).is_dir():
            return base / p
    return p


@dataclass
class RunView:
    """What the explorer shows of one run. ``sources`` is the catalog in array order plus ``row`` (array
    index), ``z0..z{D-1}``, ``umap_x/umap_y``, ``pca_x/pca_y`` and ``recon_error``."""

    run_dir: Path
    dataset: Dataset
    sources: pd.DataFrame
    latents: np.ndarray  # (N, D) float32
    maps: dict[str, np.ndarray]  # name -> (N, 2)
    recon_error: np.ndarray | None  # (N,)
    config: dict[str, Any]
    metrics: dict[str, Any]
    history: pd.DataFrame | None
    reconstructions: np.ndarray | None = None  # (N, B) decoded shapes, when encode wrote them
    notes: list[str] = field(default_factory=list)

    @property
    def simulated(self) -> bool:
        return self.dataset.simulated or bool(self.sources.get("simulated", pd.Series([False])).any())

    @property
    def latent_dim(self) -> int:
        return self.latents.shape[1]

    @property
    def latent_columns(self) -> list[str]:
        return [f"z{i}" for i in range(self.latent_dim)]

    @property
    def name(self) -> str:
        return self.run_dir.name

    def row_of(self, source_id: str) -> int:
        """Array index of a source id (ids are how selections come back from the map)."""
        hits = np.flatnonzero(self.sources["id"].to_numpy() == source_id)
        if len(hits) == 0:
            raise KeyError(f"no source with id {source_id!r} in run {self.name}")
        return int(hits[0])


def load_run(run_dir: Path, data_dir: Path | None = None) -> RunView:
    """Load an encoded run and its dataset (arrays memory-mapped) into a ``RunView``."""
    run_dir = Path(run_dir)
    state = run_state(run_dir)
    if not state["exists"]:
        raise DatasetError(f"{run_dir}: no run folder here (./scripts/run builds and trains the demo run)")
    if not state["encoded"]:
        raise DatasetError(f"{run_dir}: run not encoded yet; run `python -m core encode --run {run_dir} --data <dataset>`")
    ds = load_dataset(Path(data_dir) if data_dir is not None else dataset_path_of(run_dir))
    n = len(ds.catalog)
    latents = load_latents(run_dir, ds)  # checks the latents encode exactly this dataset's rows
    notes: list[str] = []
    maps = {}
    for m in MAPS:
        p = run_dir / f"map_{m}.npy"
        if p.is_file():
            arr = np.load(p, allow_pickle=False)
            if arr.shape == (n, 2):
                maps[m] = arr
            else:
                notes.append(f"map_{m}.npy has shape {arr.shape}, expected ({n}, 2); ignored")
    err = None
    if (run_dir / "recon_error.npy").is_file():
        err = np.load(run_dir / "recon_error.npy", allow_pickle=False)
        if err.shape != (n,):
            notes.append(f"recon_error.npy has shape {err.shape}; ignored")
            err = None
    recons = None
    if (run_dir / "reconstructions.npy").is_file():
        recons = np.load(run_dir / "reconstructions.npy", mmap_mode="r", allow_pickle=False)
        if recons.shape != ds.spectra.shape:
            notes.append("reconstructions.npy does not match the spectra; ignored")
            recons = None

    sources = ds.catalog.copy()
    sources.insert(0, "row", np.arange(n))
    extra = {f"z{i}": latents[:, i].astype(np.float64) for i in range(latents.shape[1])}
    for m, arr in maps.items():
        extra[f"{m}_x"], extra[f"{m}_y"] = arr[:, 0].astype(np.float64), arr[:, 1].astype(np.float64)
    extra["recon_error"] = err.astype(np.float64) if err is not None else np.full(n, np.nan)
    sources = pd.concat([sources, pd.DataFrame(extra, index=sources.index)], axis=1)
    sources["class"] = sources["class"].fillna("").astype(str)
    history = pd.read_csv(run_dir / "history.csv") if (run_dir / "history.csv").is_file() else None
    return RunView(run_dir=run_dir, dataset=ds, sources=sources, latents=latents, maps=maps, recon_error=err,
                   config=_read_json(run_dir / "config.json"), metrics=_read_json(run_dir / "metrics.json"),
                   history=history, reconstructions=recons, notes=notes)


def numeric_columns(sources: pd.DataFrame) -> list[str]:
    """Catalog columns that can colour the map on a continuous scale (numeric, not constant, not bookkeeping)."""
    skip = {"row", "simulated", "labelled"}
    out = []
    for c in sources.columns:
        if c in skip or not pd.api.types.is_numeric_dtype(sources[c]) or pd.api.types.is_bool_dtype(sources[c]):
            continue
        v = sources[c].to_numpy(dtype=float, na_value=np.nan)
        if np.isfinite(v).sum() > 1 and np.nanstd(v) > 0:
            out.append(c)
    return out


UNLABELLED = "unlabelled"


def class_labels(sources: pd.DataFrame) -> pd.Series:
    """Class per source for colouring, with '' shown as 'unlabelled'."""
    return sources["class"].replace("", UNLABELLED)


def metrics_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """``metrics.json``'s balanced accuracies as one row per (task, protocol) and one column per feature set,
    "0.327 ± 0.030" where the spread over folds is known."""
    recs = []
    for task, by_protocol in (metrics.get("classification") or {}).items():
        if not isinstance(by_protocol, dict):
            continue
        for protocol, by_features in by_protocol.items():
            if not isinstance(by_features, dict):
                continue
            row = {"task": task, "protocol": protocol}
            for feat, r in by_features.items():
                if isinstance(r, dict) and "balanced_accuracy" in r:
                    std = r.get("balanced_accuracy_std")
                    row[feat] = f"{r['balanced_accuracy']:.3f}" + (f" ± {std:.3f}" if std is not None else "")
            if len(row) > 2:
                recs.append(row)
    return pd.DataFrame(recs)


def reconstruction_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """``metrics.json``'s reconstruction measures, one row per model."""
    rec = metrics.get("reconstruction") or {}
    rows = [{"model": k, **{m: v for m, v in d.items() if isinstance(v, (int, float))}}
            for k, d in rec.items() if isinstance(d, dict)]
    return pd.DataFrame(rows)
