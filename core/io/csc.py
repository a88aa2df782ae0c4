"""CSC per-source spectrum (``*_pha3.fits``): source SPECTRUM extension, background in the second one."""
from __future__ import annotations

from pathlib import Path

from core.spectra.energy import EnergyGrid
from core.errors import SpectrumError
from core.io.assemble import assemble, load_responses
from core.io.fitsfile import find_hdus, open_fits
from core.io.ogip import read_background_file
from core.io.pha import check_instrument, parse_spectrum_hdu
from core.spectra.spectrum import Spectrum


def _background_hdu(hdus):
    return next((h for h in hdus[1:] if str(h.header.get("HDUCLAS2", "")).upper() == "BKG"), None)


def identify_csc_pha3(path: Path) -> bool:
    with open_fits(path) as hdul:
        hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
        return len(hdus) >= 2 and _background_hdu(hdus) is not None


def read_csc_pha3(path: Path, *, arf: Path | None = None, rmf: Path | None = None,
                  background: Path | None = None, grid: EnergyGrid = EnergyGrid()) -> Spectrum:
    path = Path(path)
    with open_fits(path) as hdul:
        hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
        bkg_hdu = _background_hdu(hdus)
        if bkg_hdu is None:
            raise SpectrumError(path, "not a CSC pha3 file: no background SPECTRUM extension (HDUCLAS2=BKG)")
        check_instrument(path, hdus[0].header)
        source = parse_spectrum_hdu(path, hdus[0])
        bkg = None if background is not None else parse_spectrum_hdu(path, bkg_hdu)
    if background is not None:
        bkg = read_background_file(Path(background), path)
    warnings: list[str] = []
    arf_, rmf_, sources = load_responses(path, source.header, arf, rmf, warnings)
    sources["counts"] = f"{path} [SPECTRUM 1]"
    sources["background"] = str(background) if background is not None else f"{path} [SPECTRUM 2, HDUCLAS2=BKG]"
    return assemble(path, source, bkg, arf_, rmf_, grid, sources, warnings)
