"""Signs of pile-up in an ACIS spectrum, read from its channels before they are cut to the energy grid.

When two or more photons land in one detector island within a frame (3.2 s for full-frame ACIS), ACIS reads them
as one event with their summed energy, or as a bad grade that is thrown away. The spectrum hardens and loses
counts: a plain ARF x RMF fold cannot reproduce it, a fit needs a pile-up model (Davis 2001, ApJ 562, 575;
jdpileup in Sherpa; the Chandra POG, "pile-up"). Two signs need nothing but the file and its response:
- events above 10 keV, where the effective area is small, beyond what two sources of them explain without
  pile-up: the particle background (the background spectrum, scaled) and the source's own tail, taken as that
  of the hardest plausible spectrum (a flat photon spectrum, Gamma = 0, folded through the ARF and RMF and
  scaled to the source's net counts at 8-10 keV). Summed soft photons only reach 10 keV when pile-up is heavy
  or the source is hard, so this catches heavy pile-up;
- counts per frame in the region (counts x TIMEDEL / EXPOSURE, as observed: under heavy pile-up a lower bound of
  the incident rate): the POG's rule of thumb is that pile-up matters from about 0.1 counts per frame for a point
  source (a region with diffuse emission overstates it). This flags milder pile-up, which hardens a spectrum
  before any event passes 10 keV. No note is no proof that a spectrum is free of pile-up.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from core.io.keywords import as_float_or_nan

MIRROR_CUTOFF_KEV = 10.0
TAIL_BAND_KEV = (8.0, 10.0)  # where the source's own counts set the scale of its tail above the cutoff
MIN_EXCESS = 20.0  # counts above the cutoff beyond background and tail before a spectrum is flagged
EXCESS_SIGMAS = 5.0
RATE_NOTE = 0.1  # counts per frame (POG rule of thumb for a point source)


@dataclass(frozen=True)
class PileupSigns:
    counts_above_10kev: float  # source-region counts in good channels centred at >= 10 keV
    background_above_10kev: float  # the background's expectation there (scaled); NaN without a background
    tail_above_10kev: float  # a Gamma = 0 source's own counts there, scaled to its net 8-10 keV counts
    counts_per_frame: float  # all counts x TIMEDEL / EXPOSURE; NaN without TIMEDEL

    @property
    def expected_above_10kev(self) -> float:
        """What background and the source's own (hardest plausible) tail explain above the cutoff."""
        b = 0.0 if np.isnan(self.background_above_10kev) else self.background_above_10kev
        return b + self.tail_above_10kev

    def excess_warning(self) -> str | None:
        """A sentence for the ingest report when the events above the cutoff exceed the expectation clearly (no
        "; " in it: that separates a file's warnings, core.spectra.spectrum.join_warnings)."""
        e = self.expected_above_10kev
        if self.counts_above_10kev - e < max(MIN_EXCESS, EXCESS_SIGMAS * np.sqrt(e + 1.0)):
            return None
        bkg = ("no background was given" if np.isnan(self.background_above_10kev)
               else f"its background {self.background_above_10kev:.1f}")
        rate = "" if np.isnan(self.counts_per_frame) else f", and {self.counts_per_frame:.2f} counts per frame"
        return (f"possible pile-up: {self.counts_above_10kev:.0f} counts above {MIRROR_CUTOFF_KEV:g} keV where "
                f"{e:.1f} are expected without it ({bkg}, plus {self.tail_above_10kev:.1f} from the source itself, "
                f"were its 8-10 keV counts to go on flat in photons, as hard as a source gets){rate}: a plain "
                f"ARF x RMF fold cannot reproduce a piled-up spectrum, a fit needs a pile-up model")

    def rate_warning(self) -> str | None:
        """A milder note when the rate alone says pile-up is possible (and the counts above 10 keV do not)."""
        if np.isnan(self.counts_per_frame) or self.counts_per_frame < RATE_NOTE or self.excess_warning():
            return None
        return (f"count rate {self.counts_per_frame:.2f} per frame (>= {RATE_NOTE:g}): some pile-up is possible "
                f"for a point source, which hardens the spectrum")

    def warnings(self) -> list[str]:
        return [w for w in (self.excess_warning(), self.rate_warning()) if w]


def pileup_signs(counts: np.ndarray, channel_kev: np.ndarray, background_counts: np.ndarray | None,
                 background_scale: float, timedel: object, exposure: float, good: np.ndarray | None = None,
                 flat_folded: np.ndarray | None = None) -> PileupSigns:
    """``counts``/``background_counts`` per channel, ``channel_kev`` each channel's centre energy (EBOUNDS),
    ``background_scale`` the source/background BACKSCAL x AREASCAL x EXPOSURE ratio, ``timedel`` the header's
    TIMEDEL (frame time, s) or None, ``good`` the channels of QUALITY 0 (bad ones are not counted above 10 keV
    nor at 8-10 keV; the rate per frame counts every event), ``flat_folded`` a flat photon spectrum folded
    through the ARF and RMF per channel (None: no tail is expected)."""
    kev = np.asarray(channel_kev, dtype=np.float64)
    ok = np.ones(len(kev), dtype=bool) if good is None else np.asarray(good, dtype=bool)
    above, band = ok & (kev >= MIRROR_CUTOFF_KEV), ok & (kev >= TAIL_BAND_KEV[0]) & (kev < TAIL_BAND_KEV[1])
    c = np.asarray(counts, dtype=np.float64)
    b = (np.asarray(background_counts, dtype=np.float64) * background_scale if background_counts is not None
         else None)
    tail = 0.0
    if flat_folded is not None:
        f = np.asarray(flat_folded, dtype=np.float64)
        net = c[band].sum() - (b[band].sum() if b is not None else 0.0)
        if f[band].sum() > 0 and net > 0:
            tail = float(net * f[above].sum() / f[band].sum())
    frame = as_float_or_nan(timedel)
    rate = float(c.sum()) * frame / exposure if np.isfinite(frame) and frame > 0 and exposure > 0 else np.nan
    return PileupSigns(float(c[above].sum()), float(b[above].sum()) if b is not None else np.nan, tail, rate)


_flat: OrderedDict[tuple[int, int], tuple[object, np.ndarray, np.ndarray]] = OrderedDict()
_flat_lock = threading.Lock()  # the app reads uploads on several threads
FLAT_ENTRIES = 16  # as core.io.response_cache.MAX_ENTRIES


def flat_folded(arf, rmf) -> np.ndarray:
    """A flat (Gamma = 0) photon spectrum through ``arf`` x ``rmf``, per channel (C,). Spectra that share their
    response share its parsed arrays (``core.io.response_cache``), so the fold is kept per pair of arrays (a
    sparse product over the whole RMF, ~0.3 ms, otherwise on every file that ingest reads)."""
    key = (id(rmf.redistribution), id(arf.specresp))
    with _flat_lock:
        hit = _flat.get(key)
        if hit is not None and hit[0] is rmf.redistribution and hit[1] is arf.specresp:  # ids are not reused:
            _flat.move_to_end(key)  # the entry holds both objects
            return hit[2]
    flat = np.asarray(rmf.redistribution.T @ (arf.specresp * (arf.energ_hi - arf.energ_lo)), dtype=np.float64)
    flat = flat.ravel()
    flat.flags.writeable = False
    with _flat_lock:
        _flat[key] = (rmf.redistribution, arf.specresp, flat)
        while len(_flat) > FLAT_ENTRIES:
            _flat.popitem(last=False)
    return flat
