"""The Spectrum object every reader returns: counts on a fixed energy grid plus what is known about them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.spectra.energy import EnergyGrid
from core.spectra.hardness import RATIO_BANDS
from core.spectra.hardness import hardness as net_hardness


WARNINGS_SEPARATOR = "; "  # how a spectrum's warnings are stored as one text (catalog column, ingest report)


def join_warnings(warnings: list[str]) -> str:
    """The readers' warnings as one text that ``split_warnings`` takes apart again (a separator inside a
    warning becomes ", ")."""
    return WARNINGS_SEPARATOR.join(w.replace(WARNINGS_SEPARATOR, ", ") for w in warnings)


def split_warnings(text: object) -> list[str]:
    """The warnings of ``join_warnings``' text; none for an empty or missing (NaN) value."""
    return [w.strip() for w in text.split(WARNINGS_SEPARATOR) if w.strip()] if isinstance(text, str) else []


@dataclass
class Spectrum:
    """An ACIS imaging spectrum on ``grid``.

    ``counts``      (B,) observed counts per grid bin (whole numbers; data are never edited)
    ``background``  (B,) expected background counts in the source region (background spectrum scaled by the
                    BACKSCAL, AREASCAL and exposure ratios); zeros when there is no background
    ``weights``     (B,) 1 for good bins, 0 for bins holding a channel with QUALITY != 0
    ``sources``     where each value came from (file, HDU, keyword), for provenance
    """

    path: Path
    grid: EnergyGrid
    counts: np.ndarray
    background: np.ndarray
    weights: np.ndarray
    exposure: float
    file_counts: int
    meta: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    response: tuple[Any, Any] | None = None  # the readers' (Arf, Rmf), kept when the files will not outlive the read

    @property
    def edges(self) -> np.ndarray:
        return self.grid.edges

    @property
    def name(self) -> str:
        """The name it goes by: its OBJECT, or its file's stem where OBJECT is empty or the CSC's placeholder
        'CSC' (every CSC pha3 says so; ``ingest --catalog`` can give the 2CXO name)."""
        obj = str(self.meta.get("object", "") or "").strip()
        return obj if obj and obj.upper() != "CSC" else Path(self.path).name.split(".")[0]

    @property
    def total_counts(self) -> int:
        return int(self.counts.sum())

    @property
    def band_area(self) -> dict[str, float]:
        """Mean ARF effective area (cm2) in each CSC band, from ``meta`` (set by the readers)."""
        return {b: float(self.meta[f"area_{b}"]) for b in RATIO_BANDS if f"area_{b}" in self.meta}

    @property
    def hardness(self) -> dict[str, float]:
        """CSC hardness ratios of this spectrum's net counts in good bins, as photon-flux ratios when the ARF's
        band areas are known (``core.spectra.hardness``)."""
        h = net_hardness(self.counts, self.grid.edges, self.background, self.weights, self.band_area or None)
        return {k: float(v) for k, v in h.items()}
