"""CSC per-source spectrum (``*_pha3.fits``): a source and a background (HDUCLAS2=BKG) SPECTRUM extension, in
either order."""
from __future__ import annotations

from pathlib import Path

from astropy.io import fits

from core.errors import SpectrumError
from core.io.assemble import assemble
from core.io.companions import load_responses, read_background_file
from core.io.fitsfile import find_hdus
from core.io.pha import check_instrument, parse_spectrum_hdu
from core.spectra.energy import EnergyGrid
from core.spectra.spectrum import Spectrum


def _is_background(hdu) -> bool:
    return str(hdu.header.get("HDUCLAS2", "")).strip().upper() == "BKG"


def identify_csc_pha3(hdul: fits.HDUList) -> bool:
    hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
    return len(hdus) >= 2 and any(_is_background(h) for h in hdus)


def read_csc_pha3(path: Path, hdul: fits.HDUList, *, arf: Path | None = None, rmf: Path | None = None,
                  background: Path | None = None, grid: EnergyGrid = EnergyGrid()) -> Spectrum:
    hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
    bkg_hdus = [h for h in hdus if _is_background(h)]
    src_hdus = [h for h in hdus if not _is_background(h)]
    if len(bkg_hdus) != 1 or len(src_hdus) != 1:
        raise SpectrumError(path, f"a CSC pha3 file has one source and one background (HDUCLAS2=BKG) SPECTRUM "
                                  f"extension; this one has {len(src_hdus)} and {len(bkg_hdus)}")
    check_instrument(path, src_hdus[0].header)
    source = parse_spectrum_hdu(path, src_hdus[0])
    if background is not None:
        bkg = read_background_file(Path(background), path)
    else:
        check_instrument(path, bkg_hdus[0].header)
        bkg = parse_spectrum_hdu(path, bkg_hdus[0])
    warnings: list[str] = []
    arf_, rmf_, sources = load_responses(path, source.header, arf, rmf, warnings)
    index = {id(h): i for i, h in enumerate(hdul)}
    sources["counts"] = f"{path.name} [HDU {index[id(src_hdus[0])]}, SPECTRUM]"
    sources["background"] = (str(background) if background is not None
                             else f"{path.name} [HDU {index[id(bkg_hdus[0])]}, SPECTRUM HDUCLAS2=BKG]")
    return assemble(path, source, bkg, arf_, rmf_, grid, sources, warnings)
