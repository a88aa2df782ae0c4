"""Readers for Chandra ACIS spectra: one per file layout, each with an identify function beside it.

``read_spectrum`` picks the layout; every file that cannot become an ACIS imaging spectrum raises
``core.errors.SpectrumError`` naming the file and the reason.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.spectra.energy import EnergyGrid
from core.errors import SpectrumError
from core.io.csc import identify_csc_pha3, read_csc_pha3
from core.io.fitsfile import find_hdus, open_fits
from core.io.ogip import identify_ogip_pha, read_ogip_pha
from core.spectra.spectrum import Spectrum

# (layout name, identify, read); the first that identifies the file reads it.
READERS: list[tuple[str, Callable[[Path], bool], Callable[..., Spectrum]]] = [
    ("csc_pha3", identify_csc_pha3, read_csc_pha3),
    ("ogip_pha", identify_ogip_pha, read_ogip_pha),
]


def identify(path: Path) -> str:
    """Name of the layout that can read ``path``; SpectrumError when none can."""
    for name, ident, _ in READERS:
        if ident(path):
            return name
    with open_fits(path) as hdul:
        kinds = ", ".join(f"{h.name}" for h in hdul[1:]) or "only a primary HDU"
        if not find_hdus(hdul, "SPECTRUM", "SPECTRUM"):
            raise SpectrumError(path, f"no SPECTRUM extension (HDUCLAS1=SPECTRUM), so not an OGIP spectrum; "
                                      f"extensions found: {kinds}")
    raise SpectrumError(path, "not a layout any reader knows")


def read_spectrum(path: str | Path, *, arf: str | Path | None = None, rmf: str | Path | None = None,
                  background: str | Path | None = None, grid: EnergyGrid | None = None) -> Spectrum:
    """Read an ACIS spectrum (CSC pha3 or OGIP PHA type I) onto ``grid`` (default 0.5-7 keV, 4-channel bins).

    ``arf``, ``rmf`` and ``background`` override the files the header names (RESPFILE, ANCRFILE, BACKFILE),
    which are otherwise looked for next to the PHA file.
    """
    path = Path(path)
    layout = identify(path)
    reader = next(read for name, _, read in READERS if name == layout)
    opt = lambda p: Path(p) if p is not None else None  # noqa: E731
    spec = reader(path, arf=opt(arf), rmf=opt(rmf), background=opt(background), grid=grid or EnergyGrid())
    spec.meta["layout"] = layout
    return spec


__all__ = ["read_spectrum", "identify", "READERS", "Spectrum", "SpectrumError"]
