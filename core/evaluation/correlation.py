"""``rank_correlation``: Spearman's rho with a 95% interval, for tables read on a handful of spectra as well as on
thousands.

The interval is Fisher's z-transform of rho with Bonett & Wright's (2000, Psychometrika 65, 23) variance for a
Spearman correlation, (1 + rho²/2) / (n - 3): rho ± 1.96 SE on the atanh scale, mapped back with tanh. Their
simulations give close to nominal coverage for n ≥ 10 and |rho| ≤ 0.9; a bootstrap of every (axis, ratio) pair
would cost thousands of rank sorts for the same answer. Below four pairs, and at |rho| = 1 (where the transform
is infinite), there is no interval (NaN); below four pairs no rho either. ``interval`` gives other levels, such as
the simultaneous ones the explorer reads a whole table of correlations at.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, spearmanr

MIN_PAIRS = 4  # n - 3 > 0


@dataclass(frozen=True)
class RankCorrelation:
    """Spearman's ``rho`` on ``n`` pairs and its interval [``low``, ``high``] (NaN where there is none)."""
    rho: float
    low: float
    high: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies on one side of 0 (a link the data support at its level); False without an
        interval."""
        return bool(self.low > 0 or self.high < 0)


def interval(rho: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The ``level`` interval of a Spearman correlation ``rho`` on ``n`` pairs (NaN, NaN below 4 pairs, at
    |rho| = 1 where atanh is infinite and the variance formula says nothing, or for a NaN rho)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level!r}: must lie between 0 and 1")
    if not (n >= MIN_PAIRS and np.isfinite(rho) and abs(rho) < 1.0 - 1e-12):
        return float("nan"), float("nan")
    half = norm.ppf(0.5 + level / 2) * math.sqrt((1.0 + rho * rho / 2.0) / (n - 3))
    z = math.atanh(rho)
    return math.tanh(z - half), math.tanh(z + half)


def table_level(cells: int, level: float = 0.95) -> float:
    """The level at which each of ``cells`` correlations is read so that all hold together at ``level``
    (Bonferroni): a table of 24 read at 95% each shows some chance correlation more often than not."""
    return 1.0 - (1.0 - level) / max(cells, 1)


def rank_correlation(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> RankCorrelation:
    """Spearman's rho of the pairs where both of the 1-D ``x``, ``y`` are finite, with its ``level`` interval.
    Below 4 pairs, or when either side is constant, rho is NaN too."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of one length: shapes {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < MIN_PAIRS or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return RankCorrelation(float("nan"), float("nan"), float("nan"), n)
    rho = float(spearmanr(x[ok], y[ok]).statistic)
    return RankCorrelation(rho, *interval(rho, n, level), n)
