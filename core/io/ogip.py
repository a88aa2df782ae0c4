"""OGIP PHA type I file (one SPECTRUM extension); background from BACKFILE, responses from RESPFILE/ANCRFILE."""
from __future__ import annotations

from pathlib import Path

from astropy.io import fits

from core.errors import SpectrumError
from core.io.assemble import assemble
from core.io.companions import load_responses, read_background_file, resolve
from core.io.fitsfile import find_hdus, is_none_name
from core.io.pha import check_instrument, parse_spectrum_hdu
from core.spectra.energy import EnergyGrid
from core.spectra.spectrum import Spectrum


def identify_ogip_pha(hdul: fits.HDUList) -> bool:
    """One SPECTRUM extension (a CSC pha3 has two: source and background)."""
    return len(find_hdus(hdul, "SPECTRUM", "SPECTRUM")) == 1


def read_ogip_pha(path: Path, hdul: fits.HDUList, *, arf: Path | None = None, rmf: Path | None = None,
                  background: Path | None = None, grid: EnergyGrid = EnergyGrid()) -> Spectrum:
    hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
    if len(hdus) != 1:
        raise SpectrumError(path, f"expected one SPECTRUM extension, found {len(hdus)}")
    check_instrument(path, hdus[0].header)
    source = parse_spectrum_hdu(path, hdus[0])
    if source.hduclas2 == "BKG":
        raise SpectrumError(path, "HDUCLAS2=BKG: this is a background spectrum, not a source spectrum")
    warnings: list[str] = []
    arf_, rmf_, sources = load_responses(path, source.header, arf, rmf, warnings)
    bkg_path, said = resolve(path, source.header, "BACKFILE", background, warnings)
    bkg = None
    if bkg_path is not None:
        bkg = read_background_file(bkg_path, path)
        sources["background"] = f"{bkg_path.name} ({said})"
    else:
        if not is_none_name(source.header.get("BACKFILE")):
            warnings.append(f"{said} is not next to the file: no background (give the background explicitly)")
        sources["background"] = "none"
    sources["counts"] = f"{path.name} [{source.hdu_name}]"
    return assemble(path, source, bkg, arf_, rmf_, grid, sources, warnings)
