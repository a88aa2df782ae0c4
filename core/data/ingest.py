"""Real spectra (files or folders) -> a dataset folder. A bad file is reported with its reason, never fatal.

The files are read in chunks (``CHUNK_FILES``), serially or on a Dask cluster (``workers``/``scheduler``, see
``core.parallel``): every file is read by the same code either way and the results are put back in file order,
so the dataset's bytes are the same whatever the number of workers.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import core
from core.atomic import remove_stale, write_bytes_atomic
from core.data.dataset import write_dataset
from core.data.responses import ResponseCollector
from core.io.response import read_arf, read_rmf
from core.spectra.energy import EnergyGrid
from core.spectra.spectrum import join_warnings
from core.errors import ConfigError, SpectrumError, XLEError
from core.io import read_spectrum
from core.io.fitsbytes import header_cards, hdu_spans, read_decompressed
from core.io.fitsfile import is_none_name, matching_tables
from core.data.catalog_join import join_catalog, read_catalog
from core.data.partition import splits_of
from core.data.timed import DEFAULT_TIMEOUT_S, CallTimeout, ReaderUnavailable, close_shared_workers, shared_worker
from core.parallel import dask_client, iter_chunks, run_chunks

SPECTRAL_SUFFIXES = (".pi", ".pha", ".fits", ".fit", ".fts")
BACKGROUND_NAME_HINTS = ("_bg.", "_bkg.", "back.", "background.")
CHUNK_FILES = 256  # files per task
PEEK_KEYS = frozenset({"XTENSION", "EXTNAME", "HDUCLAS1", "HDUCLAS2", "BACKFILE"})


@dataclass
class IngestReport:
    loaded: list[Path] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    warned: dict[Path, str] = field(default_factory=dict)  # loaded files with the readers' warnings

    @property
    def exit_status(self) -> int:
        if not self.loaded:
            return 1
        return 2 if self.rejected else 0

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["file", "status", "reason"])
        w.writerows([[str(p), "loaded", self.warned.get(p, "")] for p in self.loaded])
        w.writerows([[str(p), "rejected", r] for p, r in self.rejected])
        w.writerows([[str(p), "skipped", r] for p, r in self.skipped])
        return buf.getvalue()


def default_report_path(out: Path) -> Path:
    """Where ``ingest`` writes its report when not told: ``OUT_ingest_report.csv`` beside the dataset folder."""
    return Path(out).with_name(Path(out).name + "_ingest_report.csv")


def _has_spectral_suffix(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz").removesuffix(".bz2").removesuffix(".zip")
    return name.endswith(SPECTRAL_SUFFIXES)


def expand(paths: list[Path]) -> list[Path]:
    """Files given directly, plus files with spectral suffixes inside given folders (recursively, sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and _has_spectral_suffix(f)))
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def _peek(path: Path) -> tuple[str, str | None]:
    """('arf' | 'rmf' | 'background' | 'spectrum', BACKFILE named by it), from the headers alone (the file's
    HDU layout walked on its bytes, only each header's few classifying cards parsed: a full open with its
    DATASUM checks and table decoding cost as much again as the reading itself). Unreadable files count as
    spectra, so the reader rejects them with its reason."""
    try:
        data = read_decompressed(path)
        headers = [header_cards(data, s.header_start, s.data_start, PEEK_KEYS) for s in hdu_spans(path, data)]
    except Exception:  # SpectrumError or worse: the reader says why, in its own worker
        return "spectrum", None
    names = {str(h.get("EXTNAME", "")).upper() for h in headers[1:]}
    classes = {str(h.get("HDUCLAS2", "")).upper() for h in headers[1:]}
    if "SPECRESP" in names:
        return "arf", None
    if "EBOUNDS" in names or "RSP_MATRIX" in classes:
        return "rmf", None
    tables = [h for h in headers[1:] if str(h.get("XTENSION", "")).strip().upper() == "BINTABLE"]
    spectra = [tables[i] for i in matching_tables(tables, "SPECTRUM", "SPECTRUM")]
    if len(spectra) == 1 and str(spectra[0].get("HDUCLAS2", "")).upper() == "BKG":
        return "background", None
    backfile = spectra[0].get("BACKFILE") if len(spectra) == 1 else None
    return "spectrum", None if is_none_name(backfile) else str(backfile)


def peek_chunk(files: list[Path]) -> list[tuple[str, str | None]]:
    return [_peek(f) for f in files]


def chunked(items: list, size: int | None = None) -> list[list]:
    size = size or CHUNK_FILES  # read when called, so a test can set CHUNK_FILES
    return [items[i:i + size] for i in range(0, len(items), size)]


def sort_candidates(files: list[Path], given: set[Path], workers: int = 1, scheduler: str | None = None,
                    progress: bool = False, client=None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Split files into source spectra and skipped ones (responses, backgrounds) with the reason."""
    peeked = run_chunks(peek_chunk, chunked(files), workers=workers, scheduler=scheduler, desc="sorting files",
                        progress=progress, client=client)
    kinds = dict(zip(files, (k for part in peeked for k in part)))
    referenced = {(f.parent / b).resolve() for f, (_, b) in kinds.items() if b and len(b) < 200 and "\0" not in b}
    spectra, skipped = [], []
    for f, (kind, _) in kinds.items():
        if kind in ("arf", "rmf"):
            skipped.append((f, f"{kind.upper()} response file"))
        elif kind == "background" or f.resolve() in referenced:
            skipped.append((f, "background spectrum (HDUCLAS2=BKG or named by another file's BACKFILE)"))
        elif f not in given and any(h in f.name.lower() for h in BACKGROUND_NAME_HINTS):
            skipped.append((f, "looks like a background spectrum by its name: give it with --background to the "
                               "spectrum it belongs to, or name it as a file to ingest it as a source"))
        else:
            spectra.append(f)
    return spectra, skipped


def _row(spec, file_id: str) -> dict:
    m = spec.meta
    name = spec.name
    hr = spec.hardness
    return {
        "id": file_id, "name": name, "class": "", "counts": int(spec.counts.sum()),
        "file_counts": spec.file_counts, **hr,
        "catalog_hard_hm": np.nan, "catalog_hard_hs": np.nan, "catalog_hard_ms": np.nan,
        "exposure": spec.exposure, "simulated": m["simulated"], "source_file": str(spec.path),
        "instrument": m["instrument"], "detnam": m["detnam"], "obsid": m["obsid"], "object": m["object"],
        "date_obs": m["date_obs"], "ra": m["ra"], "dec": m["dec"], "background_file": m["background_file"],
        "background_scale": m["background_scale"], "response_file": m["rmf_file"], "arf_file": m["arf_file"],
        **{k: m[k] for k in ("counts_above_10kev", "background_above_10kev", "expected_above_10kev",
                             "counts_per_frame")},
        "warnings": join_warnings(spec.warnings),
        **{f"area_{b}": a for b, a in spec.band_area.items()},
    }


@dataclass
class Batch:
    """The spectra read so far, in file order, with the response (ARF x RMF pair) of each."""

    grid: EnergyGrid
    rows: list[dict] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)
    backgrounds: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    response_index: list[int] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    by_files: dict[tuple[str, str], int] = field(default_factory=dict)  # (ARF, RMF) paths -> index: folded once

    def __post_init__(self) -> None:
        self.responses = ResponseCollector(self.grid.edges)

    def add(self, spec, f: Path, report: IngestReport) -> None:
        key = (spec.meta["arf_file"], spec.meta["rmf_file"])
        try:
            if key not in self.by_files:
                self.by_files[key] = self.responses.add(f"{Path(key[0]).name} x {Path(key[1]).name}",
                                                        read_arf(Path(key[0])), read_rmf(Path(key[1])))
        except SpectrumError as exc:
            report.rejected.append((f, exc.reason))
            return
        file_id = f.name.split(".")[0]
        while file_id in self.ids:  # same file name in two folders
            file_id += "_" + str(len(self.rows))
        self.ids.add(file_id)
        self.rows.append(_row(spec, file_id))
        self.counts.append(spec.counts)
        self.backgrounds.append(spec.background)
        self.weights.append(spec.weights)
        self.response_index.append(self.by_files[key])
        report.loaded.append(f)
        if spec.warnings:
            report.warned[f] = join_warnings(spec.warnings)


def read_chunk(task: tuple[list[Path], EnergyGrid, dict, float]) -> list[tuple[Path, object]]:
    """Read a chunk of files, each in a worker process stopped after the timeout (this process's shared one,
    kept warm from chunk to chunk): (file, Spectrum or the reason it was refused) per file, in order. Never
    raises for a bad file."""
    files, grid, overrides, timeout_s = task
    out: list[tuple[Path, object]] = []
    worker = shared_worker(timeout_s, preload=("core.io",))
    for f in files:
        try:
            out.append((f, worker.call(read_spectrum, f, grid=grid, **overrides)))
        except SpectrumError as exc:
            out.append((f, exc.reason))
        except ReaderUnavailable:  # no file can be read here: not this file's fault, so not reported as such
            raise
        except XLEError as exc:  # CallTimeout, WorkerDied: the batch goes on
            out.append((f, f"reading it {exc}" if isinstance(exc, CallTimeout) else str(exc)))
        except Exception as exc:  # a bug outside the reader's own wrapping: still only this file
            out.append((f, f"{type(exc).__name__}: {exc}"))
    return out


def ingest(paths: list[Path], out: Path, grid: EnergyGrid | None = None, catalog: Path | None = None,
           overrides: dict[str, Path | None] | None = None, overwrite: bool = False,
           report_path: Path | None = None, progress: bool = True,
           file_timeout_s: float = DEFAULT_TIMEOUT_S, workers: int = 1, scheduler: str | None = None) -> IngestReport:
    """Read every spectrum (each in a worker process, stopped after ``file_timeout_s``; in chunks on ``workers``
    Dask workers or the cluster at ``scheduler``), write the good ones as a dataset and always write the
    report, whatever the files hold."""
    grid = grid or EnergyGrid()
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
    remove_stale(out)  # what an ingest killed while writing left, even if this run writes nothing
    catalog_table = None if catalog is None else read_catalog(catalog)
    report = IngestReport()
    files = expand(paths)
    given = {Path(p) for p in paths if not Path(p).is_dir()}
    batch = Batch(grid)
    with dask_client(workers, scheduler) as client:  # one cluster for both steps
        spectra_files, report.skipped = sort_candidates(files, given, workers, scheduler, progress, client)
        named = sorted(k for k, v in (overrides or {}).items() if v is not None)
        if named and len(spectra_files) > 1:
            shown = ", ".join(str(f) for f in spectra_files[:3]) + (", ..." if len(spectra_files) > 3 else "")
            raise ConfigError(f"{'/'.join('--' + k for k in named)} name one spectrum's files, but "
                              f"{len(spectra_files)} spectra were found ({shown}): every one would get them in "
                              f"place of its own. Ingest that spectrum alone with them")
        tasks = [(part, grid, dict(overrides or {}), file_timeout_s) for part in chunked(spectra_files)]
        try:
            for part in iter_chunks(read_chunk, tasks, workers=workers, scheduler=scheduler,
                                    desc="reading spectra", progress=progress, client=client):
                for f, result in part:  # in file order, while the later chunks are still being read
                    if isinstance(result, str):
                        report.rejected.append((f, result))
                    else:
                        batch.add(result, f, report)
        finally:
            close_shared_workers()  # the serial run's reader process
    report_path = report_path or default_report_path(out)
    try:
        if batch.rows:
            _write(out, batch, catalog_table, paths, report, overwrite)
    finally:
        write_bytes_atomic(report_path, report.to_csv().encode())
    return report


def _write(out: Path, batch: Batch, catalog: pd.DataFrame | None, paths: list[Path], report: IngestReport,
           overwrite: bool) -> None:
    table = pd.DataFrame(batch.rows)
    table["split"] = splits_of(table["name"])
    if catalog is not None:
        table = join_catalog(table, catalog)
    n_sim = int(table["simulated"].sum())
    info = {
        "simulated": n_sim > 0, "kind": "ingest", "grid": batch.grid.to_dict(), "n": len(batch.rows),
        "inputs": [str(p) for p in paths], "rejected": [[str(p), r] for p, r in report.rejected],
        "skipped": [[str(p), r] for p, r in report.skipped], "software": {"core": core.__version__},
    }
    if n_sim:
        info["note"] = (f"SIMULATED: {n_sim} of {len(table)} spectra come from files whose header says SIMULATD = T "
                        "(simulated counts written as files, e.g. by build-demo --as-pha), not Chandra observations.")
    w = np.stack(batch.weights).astype(np.float32)
    write_dataset(out, table, np.stack(batch.counts).astype(np.float32),
                  np.stack(batch.backgrounds).astype(np.float32), batch.grid.edges, info,
                  weights=None if np.all(w == 1) else w, overwrite=overwrite,
                  responses=batch.responses.build(np.asarray(batch.response_index)))
