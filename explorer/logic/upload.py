"""A user's own spectrum: uploaded bytes saved under their own (sanitised) names in a private folder, read by
the project's readers, encoded by the run's model and placed on the run's saved maps.

Files keep their names so that a PHA header's RESPFILE/ANCRFILE/BACKFILE finds an ARF, RMF or background
uploaded beside it; explicit ARF/RMF/background uploads override the header.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.spectra.energy import EnergyGrid
from core.errors import SpectrumError, XLEError
from core.io.response import read_arf, read_rmf

MAX_FILE_MB = 20  # per file; the app's server.maxUploadSize is set to the same value
MAX_TOTAL_MB = 50
ROLES = ("pha", "arf", "rmf", "background", "other")
LAYOUT_NAMES = {"csc_pha3": "CSC pha3", "ogip_pha": "OGIP PHA"}


class UploadError(XLEError):
    """An upload refused before any reader sees it (too large, no spectrum, unsafe name)."""


@dataclass
class UploadedSpectrum:
    spectrum: object  # core.spectra.spectrum.Spectrum
    latent: np.ndarray  # (D,)
    coords: dict[str, np.ndarray]  # map name -> (2,)
    shape: np.ndarray  # (B,) decoded source shape
    predicted: np.ndarray  # (B,) predicted counts
    neighbour_rows: np.ndarray
    neighbour_dist: np.ndarray
    deviance_per_bin: float = float("nan")  # the fit: Poisson deviance per good bin of ``predicted``
    deviance_if_exact: float = float("nan")  # what an exact model would score at those counts, on average


def safe_name(name: str) -> str:
    """A plain file name (no folders, no leading dots, only safe characters)."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._+-]", "_", base).lstrip(".")
    if not base:
        raise UploadError(f"{name!r} is not a usable file name")
    return base[:120]


def check_sizes(files: dict[str, list[tuple[str, bytes]]], max_file_mb: float = MAX_FILE_MB,
                max_total_mb: float = MAX_TOTAL_MB) -> None:
    total = 0
    for role, items in files.items():
        for name, data in items:
            size = len(data)
            total += size
            if size > max_file_mb * 2**20:
                raise UploadError(f"{name}: {size / 2**20:.1f} MB is over the {max_file_mb:g} MB limit per file")
            if size == 0:
                raise UploadError(f"{name}: the file is empty")
    if total > max_total_mb * 2**20:
        raise UploadError(f"the uploads add up to {total / 2**20:.1f} MB, over the {max_total_mb:g} MB limit")


def save_uploads(files: dict[str, list[tuple[str, bytes]]], folder: Path | None = None) -> dict[str, list[Path]]:
    """Write ``{role: [(name, bytes), ...]}`` into ``folder`` (a new temporary folder by default) after the size
    checks; returns the paths by role. Exactly one ``pha`` is required."""
    unknown = set(files) - set(ROLES)
    if unknown:
        raise UploadError(f"unknown upload roles {sorted(unknown)}; expected {list(ROLES)}")
    if len(files.get("pha", [])) != 1:
        raise UploadError("upload exactly one PHA spectrum file (.pi, .pha or a CSC *_pha3.fits)")
    check_sizes(files)
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="xle-upload-"))
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {}
    seen: set[str] = set()
    for role in ROLES:
        for name, data in files.get(role, []):
            fname = safe_name(name)
            if fname in seen:
                raise UploadError(f"two uploads are named {fname}; rename one")
            seen.add(fname)
            path = folder / fname
            path.write_bytes(data)
            out.setdefault(role, []).append(path)
    return out


def read_upload(paths: dict[str, list[Path]], grid: EnergyGrid):
    """The uploaded spectrum through ``core.io.read_spectrum``; its ``SpectrumError`` passes through."""
    from core.io import read_spectrum

    from core.data.responses import spectrum_response
    from core.spectra.response_grid import PhotonGrid

    one = lambda role: paths[role][0] if paths.get(role) else None  # noqa: E731
    spec = read_spectrum(one("pha"), arf=one("arf"), rmf=one("rmf"), background=one("background"), grid=grid)
    # its ARF x RMF on the model's default photon grid, folded now: the uploaded files may be gone when it is encoded
    spec.photon_response = (PhotonGrid().edges, *spectrum_response(spec))
    return spec


# the readers speak of files on disk; in a browser the same facts are about what was uploaded
UPLOAD_WORDS = (("(not next to the file)", "(not uploaded)"),
                ("is not next to the file: no background (give the background explicitly)",
                 "was not uploaded: no background subtracted (upload it as the Background)"))


def in_upload_words(text: str) -> str:
    for disk, browser in UPLOAD_WORDS:
        text = text.replace(disk, browser)
    return text


def explain(exc: BaseException, folder: Path) -> str:
    """A refusal in words for the page: which file, why, and which companion files to upload; never a server path
    (``folder`` is scrubbed out) nor a command-line flag."""
    if isinstance(exc, SpectrumError):
        name = Path(exc.path).name
        if exc.missing:
            what = LAYOUT_NAMES.get(exc.layout or "", "spectrum")
            them = "them" if len(exc.missing) > 1 else "it"
            detail = exc.reason.split(": ", 1)[-1].rsplit("; give", 1)[0]  # what the header says, by name
            text = f"{name}: this {what} needs its {' and '.join(exc.missing)}: upload {them} too ({detail})"
        else:
            text = f"{name} cannot be used: {exc.reason}"
    elif isinstance(exc, XLEError):
        text = str(exc)
    else:  # a bug: say which kind, not the message (it may hold server paths)
        text = f"the upload could not be read (internal error {type(exc).__name__})"
    for prefix in (str(folder.resolve()), str(folder)):
        text = text.replace(prefix + "/", "").replace(prefix, "")
    return in_upload_words(text)


def load_upload(files: dict[str, list[tuple[str, bytes]]], grid: EnergyGrid):
    """Uploaded bytes -> Spectrum, read in a private temporary folder that is gone afterwards; every refusal is
    an ``UploadError`` whose message the page can show as it is (see ``explain``)."""
    with tempfile.TemporaryDirectory(prefix="xle-upload-") as tmp:
        try:
            spec = read_upload(save_uploads(files, Path(tmp)), grid)
            # the files go with the folder: keep the response for encoding through it
            spec.response = (read_arf(Path(spec.meta["arf_file"])), read_rmf(Path(spec.meta["rmf_file"])))
            spec.warnings = [in_upload_words(w) for w in spec.warnings]
            return spec
        except UploadError:
            raise
        except Exception as exc:
            raise UploadError(explain(exc, Path(tmp))) from exc


def grid_of(energy_edges: np.ndarray, info: dict) -> EnergyGrid:
    """The dataset's energy grid (from dataset.json), checked against its edges."""
    g = info.get("grid") or {}
    grid = EnergyGrid(**g) if g else EnergyGrid()
    if len(grid.edges) != len(energy_edges) or not np.allclose(grid.edges, energy_edges, atol=1e-6):
        raise UploadError("this run's dataset is not on a standard ACIS channel grid, so uploaded spectra cannot "
                          "be put on it")
    return grid


def spectrum_instrument(spectrum, model):
    """(Instrument, index) of an uploaded spectrum's own ARF x RMF on the model's grids; (None, None) for models
    that decode counts."""
    if not model.config.folds:
        return None, None
    from core.data.responses import spectrum_response
    from core.model.instrument import Instrument
    from core.spectra.response_grid import PhotonGrid

    c = model.config
    grid = PhotonGrid(c.photon_e_min, c.photon_e_max, c.n_photon_bins)
    kept = getattr(spectrum, "photon_response", None)  # folded by read_upload while the files existed
    if kept is not None and len(kept[0]) == len(grid.edges) and np.allclose(kept[0], grid.edges):
        arf, rmf = kept[1], kept[2]
    else:
        arf, rmf = spectrum_response(spectrum, grid)
    pe = model.photon_edges.cpu().numpy()
    return Instrument(arf[:, None] * rmf, pe, spectrum.grid.edges), np.zeros(1, dtype=np.int64)


def place_spectrum(spectrum, model, run_dir: Path, index, k: int = 10) -> UploadedSpectrum:
    """Encode a spectrum with the run's model, place it on the saved maps, find its latent neighbours."""
    from core.evaluation.measures import deviance_per_bin, expected_deviance_per_bin, predicted_counts
    from core.run.encode import counts_shapes, encode_spectra
    from core.run.folder import RunFolder

    counts = np.asarray(spectrum.counts, dtype=np.float32)[None]
    bkg = np.asarray(spectrum.background, dtype=np.float32)[None]
    w = np.asarray(spectrum.weights, dtype=np.float32)[None]
    if counts.shape[1] != model.config.n_bins:
        raise SpectrumError(spectrum.path, f"{counts.shape[1]} bins on the grid; the model expects "
                                           f"{model.config.n_bins}")
    if float((counts * w).sum()) <= 0:
        raise SpectrumError(spectrum.path, "no counts in the good channels between "
                                           f"{spectrum.grid.e_min}-{spectrum.grid.e_max} keV; nothing to encode")
    instrument, response_index = spectrum_instrument(spectrum, model)
    z = encode_spectra(model, counts, bkg, w, instrument=instrument, index=response_index)
    shape = counts_shapes(model, z, instrument, response_index)
    pred = predicted_counts(shape, counts, bkg, w)[0]
    coords = {name: xy[0] for name, xy in RunFolder(run_dir).load_projector().transform(z).items()}
    rows, dist = index.neighbours_of_vector(z[0], k)
    return UploadedSpectrum(spectrum=spectrum, latent=z[0], coords=coords, shape=shape[0], predicted=pred,
                            neighbour_rows=rows, neighbour_dist=dist,
                            deviance_per_bin=float(deviance_per_bin(counts, pred[None], w)[0]),
                            deviance_if_exact=float(expected_deviance_per_bin(pred[None], w)[0]))
