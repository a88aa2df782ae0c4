"""Readers for Chandra ACIS spectra: one per file layout, each with an identify function beside it.

``read_spectrum`` opens the PHA file once, picks the layout on the open HDU list and reads it; every file that
cannot become an ACIS imaging spectrum raises ``core.errors.SpectrumError`` naming the file and the reason, and
an unexpected exception inside a reader is wrapped into one (with its type), never let through.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from astropy.io import fits

from core.errors import SpectrumError
from core.io.csc import identify_csc_pha3, read_csc_pha3
from core.io.fitsfile import find_hdus, open_fits
from core.io.ogip import identify_ogip_pha, read_ogip_pha
from core.spectra.energy import EnergyGrid
from core.spectra.spectrum import Spectrum

# (layout name, identify on the open HDU list, read); the first that identifies the file reads it.
READERS: list[tuple[str, Callable[[fits.HDUList], bool], Callable[..., Spectrum]]] = [
    ("csc_pha3", identify_csc_pha3, read_csc_pha3),
    ("ogip_pha", identify_ogip_pha, read_ogip_pha),
]


def identify_hdul(path: Path, hdul: fits.HDUList) -> str:
    """Name of the layout that can read the open file; SpectrumError when none can."""
    for name, ident, _ in READERS:
        if ident(hdul):
            return name
    kinds = ", ".join(f"{h.name}" for h in hdul[1:]) or "only a primary HDU"
    if not find_hdus(hdul, "SPECTRUM", "SPECTRUM"):
        raise SpectrumError(path, f"no SPECTRUM extension (HDUCLAS1=SPECTRUM), so not an OGIP spectrum; "
                                  f"extensions found: {kinds[:300]}")
    raise SpectrumError(path, "not a layout any reader knows")


def identify(path: str | Path) -> str:
    """Name of the layout that can read ``path``; SpectrumError when none can."""
    path = Path(path)
    try:
        with open_fits(path) as hdul:
            return identify_hdul(path, hdul)
    except SpectrumError:
        raise
    except Exception as exc:
        raise SpectrumError(path, f"unexpected {type(exc).__name__} while identifying the file: {exc}") from exc


def read_spectrum(path: str | Path, *, arf: str | Path | None = None, rmf: str | Path | None = None,
                  background: str | Path | None = None, grid: EnergyGrid | None = None) -> Spectrum:
    """Read an ACIS spectrum (CSC pha3 or OGIP PHA type I) onto ``grid`` (default 0.5-7 keV, 4-channel bins).

    ``arf``, ``rmf`` and ``background`` override the files the header names (RESPFILE, ANCRFILE, BACKFILE),
    which are otherwise looked for inside the PHA file's folder (never outside it).
    """
    path = Path(path)
    opt = lambda p: Path(p) if p is not None else None  # noqa: E731
    layout = None
    try:
        with open_fits(path) as hdul:
            layout = identify_hdul(path, hdul)
            reader = next(read for name, _, read in READERS if name == layout)
            spec = reader(path, hdul, arf=opt(arf), rmf=opt(rmf), background=opt(background),
                          grid=grid or EnergyGrid())
    except SpectrumError as exc:
        exc.layout = exc.layout or layout
        raise
    except Exception as exc:
        raise SpectrumError(path, f"unexpected {type(exc).__name__} while reading the file: {exc}",
                            layout=layout) from exc
    spec.meta["layout"] = layout
    return spec


__all__ = ["read_spectrum", "identify", "identify_hdul", "READERS", "Spectrum", "SpectrumError"]
