"""OGIP PHA type I file (one SPECTRUM extension); background from BACKFILE, responses from RESPFILE/ANCRFILE."""
from __future__ import annotations

from pathlib import Path

from core.spectra.energy import EnergyGrid
from core.errors import SpectrumError
from core.io.assemble import assemble, load_responses, resolve_file
from core.io.fitsfile import find_hdus, open_fits
from core.io.pha import check_instrument, parse_spectrum_hdu
from core.spectra.spectrum import Spectrum


def identify_ogip_pha(path: Path) -> bool:
    """One SPECTRUM extension (a CSC pha3 has two: source and background)."""
    with open_fits(path) as hdul:
        return len(find_hdus(hdul, "SPECTRUM", "SPECTRUM")) == 1


def read_background_file(path: Path, caller: Path):
    with open_fits(path) as hdul:
        hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
        if not hdus:
            raise SpectrumError(caller, f"background file {path} has no SPECTRUM extension")
        return parse_spectrum_hdu(path, hdus[0])


def read_ogip_pha(path: Path, *, arf: Path | None = None, rmf: Path | None = None,
                  background: Path | None = None, grid: EnergyGrid = EnergyGrid()) -> Spectrum:
    path = Path(path)
    with open_fits(path) as hdul:
        hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
        if len(hdus) != 1:
            raise SpectrumError(path, f"expected one SPECTRUM extension, found {len(hdus)}")
        check_instrument(path, hdus[0].header)
        source = parse_spectrum_hdu(path, hdus[0])
    warnings: list[str] = []
    arf_, rmf_, sources = load_responses(path, source.header, arf, rmf, warnings)
    bkg_path = resolve_file(path, source.header, "BACKFILE", background, required=False)
    bkg = None
    if bkg_path is not None:
        bkg = read_background_file(bkg_path, path)
        sources["background"] = str(bkg_path)
    else:
        named = source.header.get("BACKFILE", "none")
        if str(named).strip().lower() not in ("", "none"):
            warnings.append(f"BACKFILE {named} not found next to the file: no background (pass --background)")
        sources["background"] = "none"
    sources["counts"] = f"{path} [{source.hdu_name}]"
    return assemble(path, source, bkg, arf_, rmf_, grid, sources, warnings)
