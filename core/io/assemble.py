"""Source + background + response -> a Spectrum on the energy grid (shared by the per-layout readers)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import SpectrumError
from core.io.fitsfile import header_value
from core.io.keywords import as_float_or_nan
from core.io.pha import PhaHDU, check_instrument
from core.io.pileup import flat_folded, pileup_signs
from core.io.response import Arf, Rmf, check_pair
from core.spectra.energy import EnergyGrid
from core.spectra.hardness import band_areas
from core.spectra.spectrum import Spectrum


def channel_bins(rmf: Rmf, grid: EnergyGrid) -> np.ndarray:
    """Grid bin of each channel, by the channel's centre energy from EBOUNDS; -1 outside the grid."""
    return grid.bin_of_energy(0.5 * (rmf.e_min + rmf.e_max))


def rebin(channel_values: np.ndarray, bins: np.ndarray, n_bins: int) -> np.ndarray:
    """Sum channel values (..., C) into grid bins (..., B); channels outside the grid (bin -1) are dropped."""
    inside = np.flatnonzero(bins >= 0)
    onehot = np.zeros((len(bins), n_bins))  # (C, B)
    onehot[inside, bins[inside]] = 1.0
    return np.asarray(channel_values, dtype=np.float64) @ onehot


def check_background(path: Path, source: PhaHDU, background: PhaHDU) -> None:
    """A background must be an ACIS spectrum on the same channels, and a background (not a net spectrum)."""
    name = background.path.name
    if background.hduclas2 == "NET":
        raise SpectrumError(path, f"background {name} is a net (background-subtracted) spectrum, HDUCLAS2=NET")
    try:
        check_instrument(background.path, background.header)
    except SpectrumError as exc:
        raise SpectrumError(path, f"background {name}: {exc.reason}") from exc
    if not np.array_equal(background.channel, source.channel):
        raise SpectrumError(path, f"background {name} has {len(background.counts)} channels from "
                                  f"{background.channel[0]}, the spectrum {len(source.counts)} from {source.channel[0]}")


def assemble(path: Path, source: PhaHDU, background: PhaHDU | None, arf: Arf, rmf: Rmf, grid: EnergyGrid,
             sources: dict[str, str], warnings: list[str]) -> Spectrum:
    check_pair(arf, rmf, path)
    if len(rmf.channel) != len(source.counts):
        raise SpectrumError(path, f"the spectrum has {len(source.counts)} channels but its RMF {rmf.path.name} "
                                  f"has {len(rmf.channel)}")
    if not np.array_equal(rmf.channel, source.channel):
        raise SpectrumError(path, f"the spectrum's channels start at {source.channel[0]}, its RMF "
                                  f"{rmf.path.name}'s at {rmf.channel[0]}")
    if background is not None and source.hduclas2 == "NET":
        warnings.append(f"HDUCLAS2=NET: the spectrum is already background-subtracted, so its background "
                        f"{background.path.name} is not subtracted again")
        background = None
    if background is not None:
        check_background(path, source, background)
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
    piled = pileup_signs(source.counts, 0.5 * (rmf.e_min + rmf.e_max),
                         background.counts if background is not None else None, scale, h.get("TIMEDEL"),
                         source.exposure, good=source.quality == 0, flat_folded=flat_folded(arf, rmf))
    warnings.extend(piled.warnings())
    meta = {
        "instrument": str(header_value(h, "INSTRUME", "")),
        "detnam": str(header_value(h, "DETNAM", "")),
        "obsid": str(header_value(h, "OBS_ID", "")),
        "object": str(header_value(h, "OBJECT", "")),
        "date_obs": str(header_value(h, "DATE-OBS", "")),
        "datamode": str(header_value(h, "DATAMODE", "")),
        # SIMULATD = T: a simulated spectrum written as a file (build-demo --as-pha writes it), never a Chandra
        # observation, whatever else its header says; kept so that every dataset made from it says so
        "simulated": _says_yes(h.get("SIMULATD")),
        "ra": as_float_or_nan(h.get("RA_TARG")),
        "dec": as_float_or_nan(h.get("DEC_TARG")),
        "background_scale": float(scale),
        "rmf_file": str(rmf.path), "arf_file": str(arf.path),
        "background_file": str(background.path) if background is not None else "",
        "counts_above_10kev": piled.counts_above_10kev, "background_above_10kev": piled.background_above_10kev,
        "expected_above_10kev": piled.expected_above_10kev, "counts_per_frame": piled.counts_per_frame,
        **{f"area_{b}": float(a) for b, a in band_areas(arf.energ_lo, arf.energ_hi, arf.specresp).items()},
    }
    return Spectrum(path=Path(path), grid=grid, counts=counts, background=bkg, weights=weights,
                    exposure=source.exposure, file_counts=int(source.counts.sum()), meta=meta, sources=sources,
                    warnings=warnings)


def _says_yes(value) -> bool:
    """A header flag that says yes: FITS T, a non-zero number, or the words T/TRUE/Y/YES/1 in any case."""
    if isinstance(value, (bool, int, float)) and not isinstance(value, str):
        return bool(value) and value == value  # NaN is no
    return str(value or "").strip().upper() in ("T", "TRUE", "Y", "YES", "1")
