"""Source + background + response -> a Spectrum on the energy grid (shared by the per-layout readers)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.spectra.energy import EnergyGrid
from core.errors import SpectrumError
from core.io.fitsfile import header_value, is_none_name
from core.io.pha import PhaHDU
from core.io.response import Arf, Rmf, check_pair, read_arf, read_rmf
from core.spectra.hardness import band_areas
from core.spectra.spectrum import Spectrum


STEM_SUFFIXES = {"RESPFILE": (".rmf", ".rmf.gz"), "ANCRFILE": (".arf", ".arf.gz")}


def resolve_file(pha_path: Path, header, keyword: str, override: Path | None, required: bool,
                 warnings: list[str] | None = None) -> Path | None:
    """RESPFILE/ANCRFILE/BACKFILE resolved next to the PHA, unless the caller gives the file.

    When the header names no response, a file with the PHA's stem and the usual suffix (``source.pi`` ->
    ``source.rmf``) is used, and a warning says so.
    """
    if override is not None:
        override = Path(override)
        if not override.is_file():
            raise SpectrumError(pha_path, f"the {keyword} given, {override}, does not exist")
        return override
    name = header_value(header, keyword)
    if is_none_name(name):
        for suffix in STEM_SUFFIXES.get(keyword, ()):
            guess = pha_path.with_name(pha_path.name.split(".")[0] + suffix)
            if guess.is_file():
                if warnings is not None:
                    warnings.append(f"no {keyword} in the header; used {guess.name} (same name as the spectrum)")
                return guess
        if required:
            raise SpectrumError(pha_path, f"no {keyword} keyword, so no response for this spectrum; "
                                          f"pass the file explicitly (--{_flag(keyword)})")
        return None
    candidate = pha_path.parent / str(name)
    if not candidate.is_file():
        for alt in (candidate.with_name(candidate.name + ".gz"), candidate.with_suffix("")):
            if alt.is_file():
                return alt
        if required:
            raise SpectrumError(pha_path, f"{keyword} = {name} is not next to the file ({candidate}); "
                                          f"pass it explicitly (--{_flag(keyword)})")
        return None
    return candidate


def _flag(keyword: str) -> str:
    return {"RESPFILE": "rmf", "ANCRFILE": "arf", "BACKFILE": "background"}.get(keyword, keyword.lower())


def channel_bins(rmf: Rmf, grid: EnergyGrid) -> np.ndarray:
    """Grid bin of each channel, by the channel's centre energy from EBOUNDS; -1 outside the grid."""
    return grid.bin_of_energy(0.5 * (rmf.e_min + rmf.e_max))


def rebin(channel_values: np.ndarray, bins: np.ndarray, n_bins: int) -> np.ndarray:
    """Sum channel values (..., C) into grid bins (..., B); channels outside the grid (bin -1) are dropped."""
    inside = np.flatnonzero(bins >= 0)
    onehot = np.zeros((len(bins), n_bins))  # (C, B)
    onehot[inside, bins[inside]] = 1.0
    return np.asarray(channel_values, dtype=np.float64) @ onehot


def assemble(path: Path, source: PhaHDU, background: PhaHDU | None, arf: Arf, rmf: Rmf, grid: EnergyGrid,
             sources: dict[str, str], warnings: list[str]) -> Spectrum:
    check_pair(arf, rmf)
    if len(rmf.channel) != len(source.counts):
        raise SpectrumError(path, f"the spectrum has {len(source.counts)} channels but its RMF {rmf.path.name} "
                                  f"has {len(rmf.channel)}")
    if background is not None and len(background.counts) != len(source.counts):
        raise SpectrumError(path, f"background {background.path.name} has {len(background.counts)} channels, "
                                  f"the spectrum {len(source.counts)}")
    bins = channel_bins(rmf, grid)
    counts = rebin(source.counts, bins, grid.n_bins)
    bad = rebin((source.quality != 0).astype(float), bins, grid.n_bins)
    weights = (bad == 0).astype(np.float64)
    if background is not None:
        scale = (source.backscal * source.areascal * source.exposure) / (
            background.backscal * background.areascal * background.exposure)
        if not np.isfinite(scale) or scale <= 0:
            raise SpectrumError(path, f"background scale {scale} from BACKSCAL/AREASCAL/EXPOSURE is not positive")
        bkg = rebin(background.counts, bins, grid.n_bins) * scale
    else:
        scale = 0.0
        bkg = np.zeros(grid.n_bins)
    h = source.header
    meta = {
        "instrument": str(header_value(h, "INSTRUME", "")),
        "detnam": str(header_value(h, "DETNAM", "")),
        "obsid": str(header_value(h, "OBS_ID", "")),
        "object": str(header_value(h, "OBJECT", "")),
        "date_obs": str(header_value(h, "DATE-OBS", "")),
        "datamode": str(header_value(h, "DATAMODE", "")),
        "ra": float(header_value(h, "RA_TARG", np.nan) or np.nan),
        "dec": float(header_value(h, "DEC_TARG", np.nan) or np.nan),
        "background_scale": float(scale),
        "rmf_file": str(rmf.path), "arf_file": str(arf.path),
        "background_file": str(background.path) if background is not None else "",
        **{f"area_{b}": float(a) for b, a in band_areas(arf.energ_lo, arf.energ_hi, arf.specresp).items()},
    }
    return Spectrum(path=Path(path), grid=grid, counts=counts, background=bkg, weights=weights,
                    exposure=source.exposure, file_counts=int(source.counts.sum()), meta=meta, sources=sources,
                    warnings=warnings)


def load_responses(path: Path, header, arf: Path | None, rmf: Path | None,
                   warnings: list[str]) -> tuple[Arf, Rmf, dict[str, str]]:
    rmf_path = resolve_file(path, header, "RESPFILE", rmf, required=True, warnings=warnings)
    arf_path = resolve_file(path, header, "ANCRFILE", arf, required=True, warnings=warnings)
    how = lambda given: "given by the caller" if given is not None else "from the header, next to the file"  # noqa: E731
    return read_arf(arf_path), read_rmf(rmf_path), {"rmf": f"{rmf_path} ({how(rmf)})", "arf": f"{arf_path} ({how(arf)})"}
