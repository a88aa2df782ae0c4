"""Energy grid and CSC bands (hardness ratios: ``core.spectra.hardness``).

ACIS PI channels are 14.6 eV wide (EBOUNDS of every Chandra ACIS RMF: E_MIN = (channel - 1) * 14.6 eV).
The grid groups whole channels, with edges on channel boundaries, so every grid bin collects the same number
of channels and integer counts are never split. The default groups 4 channels (58.4 eV), about half the ACIS
FWHM (100-150 eV between 1 and 6 keV): Nyquist sampling of the resolution, no finer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.errors import ConfigError

ACIS_CHANNEL_KEV = 0.0146

# CSC energy bands in keV (docs/design.md).
CSC_BANDS: dict[str, tuple[float, float]] = {
    "u": (0.2, 0.5),
    "s": (0.5, 1.2),
    "m": (1.2, 2.0),
    "h": (2.0, 7.0),
    "b": (0.5, 7.0),
}


def check_energy_range(what: str, e_min: float, e_max: float, limit_kev: float) -> None:
    if not (0.0 < e_min < e_max <= limit_kev):
        raise ConfigError(f"{what} {e_min}-{e_max} keV: need 0 < e_min < e_max <= {limit_kev:g} keV")


@dataclass(frozen=True)
class EnergyGrid:
    """A fixed energy grid of whole ACIS channel groups. ``e_min``/``e_max`` are snapped outward to channels."""

    e_min: float = 0.5
    e_max: float = 7.0
    channels_per_bin: int = 4

    def __post_init__(self) -> None:
        if not isinstance(self.channels_per_bin, (int, np.integer)) or self.channels_per_bin < 1:
            raise ConfigError(
                f"channels_per_bin={self.channels_per_bin!r}: must be a whole number >= 1; a bin narrower "
                f"than one ACIS channel ({ACIS_CHANNEL_KEV * 1000:.1f} eV) is finer than the instrument allows"
            )
        check_energy_range("energy range", self.e_min, self.e_max, 15.0)

    @property
    def first_channel_edge(self) -> int:
        return int(np.floor(self.e_min / ACIS_CHANNEL_KEV + 1e-9))

    @property
    def n_bins(self) -> int:
        n_channels = np.ceil(self.e_max / ACIS_CHANNEL_KEV - 1e-9) - self.first_channel_edge
        return int(np.ceil(n_channels / self.channels_per_bin))

    @property
    def edges(self) -> np.ndarray:
        """Bin edges in keV, shape (n_bins + 1,)."""
        k = self.first_channel_edge + self.channels_per_bin * np.arange(self.n_bins + 1)
        return k * ACIS_CHANNEL_KEV

    @property
    def centers(self) -> np.ndarray:
        e = self.edges
        return 0.5 * (e[1:] + e[:-1])

    def bin_of_energy(self, energy_kev: np.ndarray) -> np.ndarray:
        """Grid bin index of each energy; -1 outside the grid."""
        idx = np.searchsorted(self.edges, energy_kev, side="right") - 1
        idx[(idx < 0) | (idx >= self.n_bins)] = -1
        return idx

    def to_dict(self) -> dict:
        return asdict(self)
