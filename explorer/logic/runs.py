"""Run folders as the explorer sees them: find them and load one into a single table (``RunView``).

Every file of a run folder is read through ``core.run.folder.RunFolder`` (docs/formats.md): the model and,
after ``python -m core encode``, the latents, the 2-D maps and the reconstruction errors, all in the catalog
order of the dataset that was encoded.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.classes import UNLABELLED
from core.data.dataset import Dataset, load_dataset
from core.errors import DatasetError
from core.run.folder import CONFIG, RECON_ERROR, RECONSTRUCTIONS, RunFolder
from explorer.logic import columns

RUNS_ROOT = Path("runs")
DEFAULT_RUN = RUNS_ROOT / "demo"
RUN_ENV = "XLE_RUN"
MEMO_IDS = 256  # ids whose rows a RunView remembers


def default_run_dir(env: Mapping[str, str] | None = None) -> Path:
    """The run the app opens first: ``$XLE_RUN`` when set, else ``runs/demo``."""
    env = os.environ if env is None else env
    return Path(env[RUN_ENV]) if env.get(RUN_ENV) else DEFAULT_RUN


def is_explorable(run_dir: Path) -> bool:
    s = RunFolder(run_dir).state()
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


@dataclass
class RunView:
    """What the explorer shows of one run. ``sources`` is the catalog in array order plus ``row`` (array
    index), ``z0..z{D-1}``, ``umap_x/umap_y``, ``pca_x/pca_y`` and ``recon_error``."""

    run_dir: Path
    dataset: Dataset
    sources: pd.DataFrame
    latents: np.ndarray  # (N, D) float32
    maps: dict[str, np.ndarray]  # name -> (N, 2)
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

    @cached_property
    def colour_options(self) -> dict[str, str]:
        """value -> readable label of every column that can colour a map, computed once per loaded run (scanning
        every numeric column of a million rows on each rerun is slow)."""
        return columns.colour_options(self.sources)

    def row_of(self, source_id: str) -> int:
        """Array index of a source id (ids are unique in a dataset; they are how selections come back from the
        map). A scan of the id column, 10 ms at 1.3 million Arrow strings, remembered for the last ids looked up (a
        click looks its id up twice): a table of every id took 2.2 s to build there, on the first click."""
        sid = str(source_id)
        memo = self.__dict__.setdefault("_rows_by_id", {})
        row = memo.get(sid)
        if row is None:
            ids = self.sources["id"]
            ids = ids if pd.api.types.is_string_dtype(ids) else ids.astype(str)
            hit = np.flatnonzero((ids == sid).to_numpy(dtype=bool, na_value=False))
            if not len(hit):
                raise KeyError(f"no source with id {source_id!r} in run {self.name}")
            row = memo[sid] = int(hit[0])
            if len(memo) > MEMO_IDS:
                memo.pop(next(iter(memo)))
        return row

    def id_of(self, row: int) -> str:
        """The id of the source at array index ``row``, remembered so that ``row_of`` finds it without a scan
        (the map hands back rows; the page then looks the opened id up)."""
        sid = str(self.sources["id"].iat[int(row)])
        memo = self.__dict__.setdefault("_rows_by_id", {})
        if memo.setdefault(sid, int(row)) == int(row) and len(memo) > MEMO_IDS:
            memo.pop(next(iter(memo)))
        return sid


def load_run(run_dir: Path, data_dir: Path | None = None) -> RunView:
    """Load an encoded run and its dataset (arrays memory-mapped) into a ``RunView``."""
    run = RunFolder(run_dir)
    state = run.state()
    if not state["exists"]:
        raise DatasetError(f"{run.path}: no run folder here (./scripts/run builds and trains the demo run)")
    if not state["encoded"]:
        raise DatasetError(f"{run.path}: run not encoded yet; run `python -m core encode --run {run.path} "
                           f"--data <dataset>`")
    ds = load_dataset(Path(data_dir) if data_dir is not None else run.dataset_path())
    n = len(ds.catalog)
    latents = run.load_latents(ds)  # checks the latents encode exactly this dataset's rows
    notes: list[str] = []
    maps = run.load_maps(n, notes)
    err = run.load_array(RECON_ERROR, (n,), notes)
    recons = run.load_array(RECONSTRUCTIONS, ds.spectra.shape, notes, mmap=True)

    sources = ds.catalog.copy()
    sources.insert(0, "row", np.arange(n))
    extra = {f"z{i}": latents[:, i].astype(np.float64) for i in range(latents.shape[1])}
    for m, arr in maps.items():
        extra[f"{m}_x"], extra[f"{m}_y"] = arr[:, 0].astype(np.float64), arr[:, 1].astype(np.float64)
    extra["recon_error"] = err.astype(np.float64) if err is not None else np.full(n, np.nan)
    sources = pd.concat([sources, pd.DataFrame(extra, index=sources.index)], axis=1)
    sources["class"] = sources["class"].fillna("").astype(str)
    config = run.read_json(CONFIG)
    return RunView(run_dir=run.path, dataset=ds, sources=sources, latents=latents, maps=maps, config=config,
                   metrics=metrics_of(run.metrics(), config, ds, notes), history=run.history(),
                   reconstructions=recons, notes=notes)


def metrics_of(metrics: dict[str, Any], config: dict[str, Any], ds: Dataset, notes: list[str]) -> dict[str, Any]:
    """The run's metrics.json when it scores the dataset shown; {} and a note when it scores another one (the run
    was encoded in place on another dataset after evaluate): its figures would be read as this dataset's."""
    scored = metrics.get("dataset")
    if not scored or Path(scored).resolve() == Path(ds.path).resolve():
        return metrics
    # another path: a moved copy of the training data is the same data (the fingerprint, hashed only here: an older
    # dataset folder has none stored and hashes its counts)
    if metrics.get("own_dataset") and config.get("dataset_sha256") == ds.fingerprint:
        return metrics
    notes.append(f"This run's metrics.json scores {scored}, not the dataset shown ({ds.path}): its figures are "
                 f"not shown. `python -m core encode --run RUN --data DATASET --out NEW_RUN` keeps each dataset's "
                 f"encoding in its own run folder.")
    return {}


def class_labels(sources: pd.DataFrame) -> pd.Series:
    """Class per source for colouring, with '' shown as 'unlabelled'."""
    return sources["class"].replace("", UNLABELLED)


def metrics_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """``metrics.json``'s balanced accuracies as one row per (task, protocol) and one column per feature set:
    "0.327 [0.290, 0.364]" with the corrected 95% interval over repeated folds, else "0.327 ± 0.030" where only
    the spread over folds is known (older metrics). Paired differences and notes: ``differences_table``."""
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
                    std, ci = r.get("balanced_accuracy_std"), r.get("ci95")
                    row[feat] = f"{r['balanced_accuracy']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else
                                                                   f" ± {std:.3f}" if std is not None else "")
            if len(row) > 2:
                recs.append(row)
    return pd.DataFrame(recs)


def differences_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Paired differences (e.g. latent - hardness) per task and classifier with their 95% intervals; a lead
    whose interval covers 0 reads "not significant". Also the k-means note where the protocol degenerates."""
    recs = []
    for task, res in (metrics.get("classification") or {}).items():
        if not isinstance(res, dict):
            continue
        for clf, diffs in (res.get("paired_differences") or {}).items():
            for pair, d in diffs.items():
                recs.append({"task": task, "classifier": clf, "difference": pair, "mean": round(d["mean"], 3),
                             "95% interval": f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]",
                             "verdict": "significant" if d["significant"] else "not significant"})
        if res.get("kmeans_note"):
            recs.append({"task": task, "classifier": "k-means", "difference": "-", "verdict": res["kmeans_note"]})
    return pd.DataFrame(recs)


def reconstruction_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """``metrics.json``'s reconstruction measures, one row per model."""
    rec = metrics.get("reconstruction") or {}
    rows = [{"model": k, **{m: v for m, v in d.items() if isinstance(v, (int, float))}}
            for k, d in rec.items() if isinstance(d, dict)]
    return pd.DataFrame(rows)
