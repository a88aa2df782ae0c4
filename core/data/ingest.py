"""Real spectra (files or folders) -> a dataset folder. A bad file is reported with its reason, never fatal."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

import core
from core.atomic import write_bytes_atomic
from core.data.dataset import write_dataset
from core.data.responses import ResponseCollector
from core.io.response import read_arf, read_rmf
from core.spectra.energy import EnergyGrid
from core.errors import SpectrumError, XLEError
from core.io import read_spectrum
from core.io.fitsfile import find_hdus, is_none_name, open_fits
from core.data.partition import splits_of

SPECTRAL_SUFFIXES = (".pi", ".pha", ".fits", ".fit", ".fts")
BACKGROUND_NAME_HINTS = ("_bg.", "_bkg.", "back.", "background.")


@dataclass
class IngestReport:
    loaded: list[Path] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        if not self.loaded:
            return 1
        return 2 if self.rejected else 0

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["file", "status", "reason"])
        w.writerows([[str(p), "loaded", ""] for p in self.loaded])
        w.writerows([[str(p), "rejected", r] for p, r in self.rejected])
        w.writerows([[str(p), "skipped", r] for p, r in self.skipped])
        return buf.getvalue()


def default_report_path(out: Path) -> Path:
    """Where ``ingest`` writes its report when not told: ``OUT_ingest_report.csv`` beside the dataset folder."""
    return Path(out).with_name(Path(out).name + "_ingest_report.csv")


def _has_spectral_suffix(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
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
    """('arf' | 'rmf' | 'background' | 'spectrum', BACKFILE named by it). Unreadable files count as spectra,
    so the reader rejects them with its reason."""
    try:
        with open_fits(path) as hdul:
            names = {h.name for h in hdul}
            classes = {str(h.header.get("HDUCLAS2", "")).upper() for h in hdul[1:]}
            if "SPECRESP" in names:
                return "arf", None
            if "EBOUNDS" in names or "RSP_MATRIX" in classes:
                return "rmf", None
            spectra = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
            if len(spectra) == 1 and str(spectra[0].header.get("HDUCLAS2", "")).upper() == "BKG":
                return "background", None
            backfile = spectra[0].header.get("BACKFILE") if len(spectra) == 1 else None
            return "spectrum", None if is_none_name(backfile) else str(backfile)
    except SpectrumError:
        return "spectrum", None


def sort_candidates(files: list[Path], given: set[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Split files into source spectra and skipped ones (responses, backgrounds) with the reason."""
    kinds = {f: _peek(f) for f in files}
    referenced = {(f.parent / b).resolve() for f, (_, b) in kinds.items() if b}
    spectra, skipped = [], []
    for f, (kind, _) in kinds.items():
        if kind in ("arf", "rmf"):
            skipped.append((f, f"{kind.upper()} response file"))
        elif kind == "background" or f.resolve() in referenced:
            skipped.append((f, "background spectrum (HDUCLAS2=BKG or named by another file's BACKFILE)"))
        elif f not in given and any(h in f.name.lower() for h in BACKGROUND_NAME_HINTS):
            skipped.append((f, "looks like a background spectrum by its name; give it as a file to ingest it"))
        else:
            spectra.append(f)
    return spectra, skipped


def _row(spec, file_id: str) -> dict:
    m = spec.meta
    name = m["object"] if m["object"] and m["object"].upper() != "CSC" else spec.path.name.split(".")[0]
    hr = spec.hardness
    return {
        "id": file_id, "name": name, "class": "", "counts": int(spec.counts.sum()),
        "file_counts": spec.file_counts, **hr,
        "catalog_hard_hm": np.nan, "catalog_hard_hs": np.nan, "catalog_hard_ms": np.nan,
        "exposure": spec.exposure, "simulated": False, "source_file": str(spec.path),
        "instrument": m["instrument"], "detnam": m["detnam"], "obsid": m["obsid"], "object": m["object"],
        "date_obs": m["date_obs"], "ra": m["ra"], "dec": m["dec"], "background_file": m["background_file"],
        "background_scale": m["background_scale"], "response_file": m["rmf_file"], "arf_file": m["arf_file"],
        "warnings": "; ".join(spec.warnings),
        **{f"area_{b}": a for b, a in spec.band_area.items()},
    }


def join_catalog(table: pd.DataFrame, catalog_path: Path) -> pd.DataFrame:
    """Copy ``class`` and ``hard_hm/hs/ms`` (as ``catalog_hard_*``) from a table matched on ``name``."""
    cat = pd.read_parquet(catalog_path) if catalog_path.suffix == ".parquet" else pd.read_csv(catalog_path)
    if "name" not in cat.columns:
        raise XLEError(f"{catalog_path}: a catalog for ingest needs a 'name' column to match spectra on")
    cat = cat.drop_duplicates("name").set_index("name")
    for src, dst in (("class", "class"), ("hard_hm", "catalog_hard_hm"), ("hard_hs", "catalog_hard_hs"),
                     ("hard_ms", "catalog_hard_ms")):
        if src in cat.columns:
            matched = table["name"].map(cat[src])
            table[dst] = matched.fillna("" if dst == "class" else np.nan).to_numpy()
    return table


def ingest(paths: list[Path], out: Path, grid: EnergyGrid | None = None, catalog: Path | None = None,
           overrides: dict[str, Path | None] | None = None, overwrite: bool = False,
           report_path: Path | None = None, progress: bool = True) -> IngestReport:
    grid = grid or EnergyGrid()
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
    report = IngestReport()
    files = expand(paths)
    given = {Path(p) for p in paths if not Path(p).is_dir()}
    spectra_files, report.skipped = sort_candidates(files, given)
    rows, counts, backgrounds, weights, response_index = [], [], [], [], []
    responses = ResponseCollector(grid.edges)
    by_files: dict[tuple[str, str], int] = {}  # (ARF, RMF) paths -> response index: each pair folded once
    ids: set[str] = set()
    for f in tqdm(spectra_files, desc="reading spectra", unit="file", disable=not progress):
        try:
            spec = read_spectrum(f, grid=grid, **(overrides or {}))
            key = (spec.meta["arf_file"], spec.meta["rmf_file"])
            if key not in by_files:
                by_files[key] = responses.add(f"{Path(key[0]).name} x {Path(key[1]).name}",
                                              read_arf(Path(key[0])), read_rmf(Path(key[1])))
        except SpectrumError as exc:
            report.rejected.append((f, exc.reason))
            continue
        file_id = f.name.split(".")[0]
        while file_id in ids:  # same file name in two folders
            file_id += "_" + str(len(rows))
        ids.add(file_id)
        rows.append(_row(spec, file_id))
        counts.append(spec.counts)
        backgrounds.append(spec.background)
        weights.append(spec.weights)
        response_index.append(by_files[key])
        report.loaded.append(f)
    report_path = report_path or default_report_path(out)
    if rows:
        table = pd.DataFrame(rows)
        table["split"] = splits_of(table["name"])
        if catalog is not None:
            table = join_catalog(table, Path(catalog))
        info = {
            "simulated": False, "kind": "ingest", "grid": grid.to_dict(), "n": len(rows),
            "inputs": [str(p) for p in paths], "rejected": [[str(p), r] for p, r in report.rejected],
            "skipped": [[str(p), r] for p, r in report.skipped], "software": {"core": core.__version__},
        }
        w = np.stack(weights).astype(np.float32)
        write_dataset(out, table, np.stack(counts).astype(np.float32), np.stack(backgrounds).astype(np.float32),
                      grid.edges, info, weights=None if np.all(w == 1) else w, overwrite=overwrite,
                      responses=responses.build(np.asarray(response_index)))
    write_bytes_atomic(report_path, report.to_csv().encode())
    return report

