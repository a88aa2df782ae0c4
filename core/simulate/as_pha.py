"""A simulated dataset written out as real files: one CSC-style ``pha3`` per spectrum (source and background
SPECTRUM extensions, 1,024 PI channels) beside the real ARF and RMF of the CSC response it was folded through.

This is the scale corpus for ``ingest`` (``build-demo --as-pha DIR``): reading it back gives the dataset's own
counts and background, bin for bin, because
- each grid bin's counts are spread over the bin's whole channels (a seeded multinomial), so rebinning sums
  them back exactly;
- the background extension holds the raw background counts (the demo's background is a Poisson draw times the
  BACKSCAL ratio), with BACKSCAL = that ratio on the source extension and 1 on the background, and the same
  exposure, so the reader's scale factor is the ratio again.
Files are named by row (``000000001_pha3.fits``), so sorted paths keep the dataset's order; ``OBJECT`` holds
the source name and ``XLE_ID`` the dataset id. Every file says it is simulated (``SIMULATD = T`` and a comment).
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits
from tqdm import tqdm

from core.data.dataset import Dataset
from core.data.fetch import fetch
from core.atomic import atomic_dir
from core.errors import DatasetError
from core.io.assemble import channel_bins
from core.io.pha import ACIS_CHANNELS
from core.io.response import read_rmf
from core.simulate.responses import CSC_RESPONSES, load_csc_responses
from core.spectra.energy import EnergyGrid


def response_files(out: Path) -> dict[str, tuple[str, str]]:
    """Copy the four CSC ARF/RMF pairs into ``out``; response name -> (ARF file name, RMF file name)."""
    names = {}
    for name, stem, ext in CSC_RESPONSES:
        pair = []
        for kind in ("arf3", "rmf3"):
            src = fetch(f"responses/{stem}_{kind}{ext}")
            shutil.copyfile(src, out / src.name)
            pair.append(src.name)
        names[name] = (pair[0], pair[1])
    return names


def channel_layout(grid: EnergyGrid) -> list[np.ndarray]:
    """The 0-based channel indices of each grid bin (from a real ACIS RMF's EBOUNDS)."""
    _, stem, ext = CSC_RESPONSES[0]
    bins = channel_bins(read_rmf(fetch(f"responses/{stem}_rmf3{ext}")), grid)
    layout = [np.flatnonzero(bins == b) for b in range(grid.n_bins)]
    if len({len(c) for c in layout}) != 1:
        raise DatasetError("the grid bins do not hold equal numbers of ACIS channels; use a channel grid")
    return layout


def spread(values: np.ndarray, layout: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Whole counts per bin (B,) -> whole counts per channel (1024,), summing back exactly."""
    per = len(layout[0])
    parts = rng.multinomial(np.rint(values).astype(np.int64), np.full(per, 1.0 / per))  # (B, per)
    out = np.zeros(ACIS_CHANNELS, dtype=np.int32)
    out[np.concatenate(layout)] = parts.ravel(order="C")
    return out


def _spectrum_hdu(counts: np.ndarray, exposure: float, backscal: float, clas2: str, extname: str) -> fits.BinTableHDU:
    cols = [fits.Column("CHANNEL", "J", array=np.arange(1, ACIS_CHANNELS + 1, dtype=np.int32)),
            fits.Column("COUNTS", "J", unit="count", array=counts)]
    hdu = fits.BinTableHDU.from_columns(cols, name=extname)
    h = hdu.header
    h["TLMIN1"], h["TLMAX1"] = 1, ACIS_CHANNELS
    for key, value in (("HDUCLASS", "OGIP"), ("HDUCLAS1", "SPECTRUM"), ("HDUCLAS2", clas2), ("HDUCLAS3", "COUNT"),
                       ("HDUVERS", "1.2.1"), ("TELESCOP", "CHANDRA"), ("INSTRUME", "ACIS"), ("GRATING", "NONE"),
                       ("CHANTYPE", "PI"), ("DETCHANS", ACIS_CHANNELS), ("EXPOSURE", float(exposure)),
                       ("BACKSCAL", float(backscal)), ("AREASCAL", 1.0), ("POISSERR", True), ("QUALITY", 0),
                       ("GROUPING", 0), ("SIMULATD", True)):
        h[key] = value
    h.add_comment("SIMULATED counts (X-ray Latent Explorer demo): not a Chandra observation")
    return hdu


def check_pha_folder(out: Path) -> None:
    """``out`` must be new or empty (build-demo checks it before building the dataset, not after)."""
    if Path(out).exists() and not Path(out).is_dir():
        raise FileExistsError(f"{out} is a file; choose an empty or new folder for the PHA files")
    if Path(out).exists() and any(Path(out).iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose an empty folder for the PHA files")


def write_as_pha(ds: Dataset, out: Path, seed: int = 0, progress: bool = True) -> int:
    """Write every spectrum of a simulated demo dataset as a pha3 file in ``out``; returns the number written."""
    if "response" not in ds.catalog.columns:
        raise DatasetError(f"{ds.path}: no 'response' column; --as-pha needs a demo dataset built by build-demo")
    out = Path(out)
    check_pha_folder(out)
    with atomic_dir(out, overwrite=True) as tmp:  # all the files or none: an interrupted run leaves no half corpus
        _write_files(ds, tmp, seed, progress)
    return len(ds.catalog)


def _write_files(ds: Dataset, out: Path, seed: int, progress: bool) -> None:
    grid = EnergyGrid(**ds.info["grid"])
    files = response_files(out)
    folded = {r.name: r for r in load_csc_responses(grid)}
    layout = channel_layout(grid)
    rng = np.random.default_rng([seed, 7])
    templates = {name: FileTemplate(resp, *files[name]) for name, resp in folded.items()}
    names, ids, responses = (ds.catalog[c].astype(str).to_numpy() for c in ("name", "id", "response"))
    for i in tqdm(range(len(ds.catalog)), desc="writing PHA files", unit="file", disable=not progress):
        t = templates[responses[i]]
        src = spread(ds.spectra[i], layout, rng)
        bkg = spread(np.asarray(ds.background[i], np.float64) / t.ratio, layout, rng)
        (out / f"{i:09d}_pha3.fits").write_bytes(t.fill(src, bkg, names[i], ids[i]))


class FileTemplate:
    """The bytes of one response's pha3 file, written once by astropy; each spectrum only patches its counts
    and its OBJECT/XLE_ID cards in a copy (writing tables through astropy costs ~15 ms a file: 1.3 million
    files would take hours). No DATASUM is written, so the patched files stay valid."""

    def __init__(self, resp, arf: str, rmf: str) -> None:
        self.ratio = resp.background_ratio
        src = _spectrum_hdu(np.zeros(ACIS_CHANNELS, np.int32), resp.exposure, resp.background_ratio, "TOTAL",
                            "SPECTRUM")
        bkg = _spectrum_hdu(np.zeros(ACIS_CHANNELS, np.int32), resp.exposure, 1.0, "BKG", "SPECTRUM")
        for key, value in (("ANCRFILE", arf), ("RESPFILE", rmf), ("BACKFILE", "none"), ("OBJECT", ""),
                           ("XLE_ID", "")):
            src.header[key] = value
        bkg.header["EXTVER"] = 2
        buf = io.BytesIO()
        fits.HDUList([fits.PrimaryHDU(), src, bkg]).writeto(buf)
        self.raw = buf.getvalue()
        with fits.open(io.BytesIO(self.raw)) as hdul:
            info = [hdul.fileinfo(i) for i in (1, 2)]
        self.counts_at = [d["datLoc"] + 4 for d in info]  # rows are (CHANNEL int32, COUNTS int32)
        header = self.raw[info[0]["hdrLoc"]:info[0]["datLoc"]]
        self.cards = {k: info[0]["hdrLoc"] + header.index(f"{k:<8}=".encode()) for k in ("OBJECT", "XLE_ID")}

    def fill(self, src: np.ndarray, bkg: np.ndarray, name: str, source_id: str) -> bytes:
        raw = bytearray(self.raw)
        for at, counts in zip(self.counts_at, (src, bkg)):
            np.ndarray((ACIS_CHANNELS,), dtype=">i4", buffer=raw, offset=at, strides=(8,))[:] = counts
        for key, value in (("OBJECT", name), ("XLE_ID", source_id)):
            card = fits.Card(key, value).image.encode("ascii")
            if len(card) != 80:
                raise DatasetError(f"{key}={value!r} does not fit one FITS card")
            raw[self.cards[key]:self.cards[key] + 80] = card
        return bytes(raw)
