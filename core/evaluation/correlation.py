"""``rank_correlation``: Spearman's rho with a 95% interval, for tables read on a handful of spectra as well as on
thousands.

The interval is Fisher's z-transform of rho with Bonett & Wright's (2000, Psychometrika 65, 23) variance for a
Spearman correlation, (1 + rho²/2) / (n - 3): rho ± 1.96 SE on the atanh scale, mapped back with tanh. Their
simulations give close to nominal coverage for n ≥ 10 and |rho| ≤ 0.9; a bootstrap of every (axis, ratio) pair
would cost thousands of rank sorts for the same answer. Below four pairs, and at |rho| = 1 (where the transform
is infinite), there is no interval (NaN): nothing is said that the data cannot support.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, spearmanr

MIN_PAIRS = 4  # n - 3 > 0


@dataclass(frozen=True)
class RankCorrelation:
    rho: float
    low: float
    high: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies on one side of 0 (a link the data support at its level); False without an
        interval."""
        return bool(self.low > 0 or self.high < 0)


def rank_correlation(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> RankCorrelation:
    """Spearman's rho of the pairs where both are finite, with its ``level`` interval (NaN below 4 pairs, or when
    either side is constant)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in shape: {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < MIN_PAIRS or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return RankCorrelation(float("nan"), float("nan"), float("nan"), n)
    rho = float(spearmanr(x[ok], y[ok]).statistic)
    if abs(rho) >= 1.0 - 1e-12:  # monotonic (to rounding): atanh is infinite, the variance formula says nothing
        return RankCorrelation(rho, float("nan"), float("nan"), n)
    half = norm.ppf(0.5 + level / 2) * math.sqrt((1.0 + rho * rho / 2.0) / (n - 3))
    z = math.atanh(rho)
    return RankCorrelation(rho, math.tanh(z - half), math.tanh(z + half), n)
