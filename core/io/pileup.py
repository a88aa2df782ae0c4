"""Signs of pile-up in an ACIS spectrum, read from its channels before they are cut to the energy grid.

When two or more photons land in one detector island within a frame (3.2 s for full-frame ACIS), ACIS reads them
as one event with their summed energy, or as a bad grade that is thrown away. The spectrum hardens and loses
counts in a way no response-folded model reproduces (Davis 2001, ApJ 562, 575; the Chandra POG, "pile-up"). Two
signs need nothing but the file:
- events above 10 keV, where Chandra's mirrors collect almost no photons: in a point-source region they are
  piled events or particle background, and the background spectrum says how many of the latter to expect;
- counts per frame in the region (counts x TIMEDEL / EXPOSURE): the POG's rule of thumb is that pile-up matters
  above about 0.1 counts per frame for a point source (a region with diffuse emission overstates it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.io.keywords import as_float_or_nan

MIRROR_CUTOFF_KEV = 10.0
MIN_EXCESS = 20.0  # counts above the cutoff beyond the background before a spectrum is flagged
EXCESS_SIGMAS = 5.0


@dataclass(frozen=True)
class PileupSigns:
    counts_above_10kev: float  # source-region counts in channels centred at >= 10 keV
    background_above_10kev: float  # the background's expectation there (scaled); NaN without a background
    counts_per_frame: float  # all counts x TIMEDEL / EXPOSURE; NaN without TIMEDEL

    def warning(self) -> str | None:
        """A sentence for the ingest report when the events above the cutoff exceed the background clearly."""
        b = 0.0 if np.isnan(self.background_above_10kev) else self.background_above_10kev
        excess = self.counts_above_10kev - b
        if excess < max(MIN_EXCESS, EXCESS_SIGMAS * np.sqrt(b + 1.0)):
            return None
        expect = ("no background to say how many are particle background" if np.isnan(
            self.background_above_10kev) else f"its background expects {b:.1f}")
        rate = "" if np.isnan(self.counts_per_frame) else f", and {self.counts_per_frame:.2f} counts per frame"
        return (f"possible pile-up: {self.counts_above_10kev:.0f} counts above {MIRROR_CUTOFF_KEV:g} keV, where the "
                f"mirrors collect almost no photons ({expect}){rate}: a piled-up spectrum is distorted in a way "
                f"no response-folded model reproduces")  # no "; ": ingest joins a file's warnings with it


def pileup_signs(counts: np.ndarray, channel_kev: np.ndarray, background_counts: np.ndarray | None,
                 background_scale: float, timedel: object, exposure: float,
                 good: np.ndarray | None = None) -> PileupSigns:
    """``counts``/``background_counts`` per channel, ``channel_kev`` each channel's centre energy (EBOUNDS),
    ``background_scale`` the source/background BACKSCAL x AREASCAL x EXPOSURE ratio, ``timedel`` the header's
    TIMEDEL (frame time, s) or None, ``good`` the channels of QUALITY 0 (bad ones are not counted above 10 keV;
    the rate per frame counts every event)."""
    above = np.asarray(channel_kev) >= MIRROR_CUTOFF_KEV
    if good is not None:
        above &= np.asarray(good, dtype=bool)
    c = float(np.asarray(counts, dtype=np.float64)[above].sum())
    b = (float(np.asarray(background_counts, dtype=np.float64)[above].sum()) * background_scale
         if background_counts is not None else np.nan)
    frame = as_float_or_nan(timedel)
    total = float(np.sum(counts))
    rate = total * frame / exposure if np.isfinite(frame) and frame > 0 and exposure > 0 else np.nan
    return PileupSigns(c, b, rate)
