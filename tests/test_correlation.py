"""Spearman's rho with its 95% interval (core.evaluation.correlation), as evaluate writes it to metrics.json."""
import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from core.evaluation.correlation import rank_correlation


def test_rho_is_scipys_on_the_finite_pairs_and_the_interval_follows_bonett_wright():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 2 * x + rng.normal(size=40)
    x[3], y[7] = np.nan, np.inf
    rc = rank_correlation(x, y)
    ok = np.isfinite(x) & np.isfinite(y)
    assert rc.n == 38 and rc.rho == pytest.approx(spearmanr(x[ok], y[ok]).statistic, abs=1e-12)
    # independent arithmetic: atanh(rho) +- 1.959964 sqrt((1 + rho^2 / 2) / (n - 3))
    half = 1.959964 * math.sqrt((1 + rc.rho ** 2 / 2) / 35)
    assert rc.low == pytest.approx(math.tanh(math.atanh(rc.rho) - half), abs=1e-6)
    assert rc.high == pytest.approx(math.tanh(math.atanh(rc.rho) + half), abs=1e-6)
    assert rc.excludes_zero


def test_the_interval_narrows_with_more_pairs_and_covers_the_truth():
    """Coverage over 400 draws of n = 30 from a bivariate normal with Pearson r = 0.5 (Spearman's population value
    (6 / pi) asin(r / 2)): near the nominal 95%, and the width shrinks roughly as 1 / sqrt(n)."""
    rng = np.random.default_rng(1)
    r = 0.5
    truth = 6 / math.pi * math.asin(r / 2)
    cov = [[1, r], [r, 1]]
    covered = 0
    for _ in range(400):
        xy = rng.multivariate_normal([0, 0], cov, size=30)
        rc = rank_correlation(xy[:, 0], xy[:, 1])
        covered += rc.low <= truth <= rc.high
    assert 0.91 <= covered / 400 <= 0.99
    xy = rng.multivariate_normal([0, 0], cov, size=1200)
    small, large = rank_correlation(xy[:30, 0], xy[:30, 1]), rank_correlation(xy[:, 0], xy[:, 1])
    assert (large.high - large.low) < 0.25 * (small.high - small.low)


def test_no_interval_where_the_data_cannot_give_one():
    assert math.isnan(rank_correlation([1, 2, 3], [3, 1, 2]).low)  # three pairs
    flat = rank_correlation([1, 2, 3, 4, 5], [2, 2, 2, 2, 2])
    assert math.isnan(flat.rho) and flat.n == 5 and not flat.excludes_zero
    perfect = rank_correlation([1, 2, 3, 4, 5], [1, 4, 9, 16, 25])
    assert perfect.rho == pytest.approx(1.0) and math.isnan(perfect.high) and not perfect.excludes_zero
    with pytest.raises(ValueError, match="1-D of one length"):
        rank_correlation([1, 2, 3, 4], [1, 2, 3])
    with pytest.raises(ValueError, match="1-D"):
        rank_correlation(np.ones((3, 2)), np.ones((3, 2)))


def test_ten_spectra_with_rho_0_6_do_not_exclude_zero():
    x = np.arange(10.0)
    y = np.array([3, 1, 0, 6, 2, 9, 4, 8, 5, 7.0])
    rc = rank_correlation(x, y)
    assert rc.rho == pytest.approx(0.636, abs=1e-3) and rc.n == 10
    assert rc.low < 0 < rc.high and not rc.excludes_zero


def test_the_report_prints_intervals_only_where_they_exist():
    from core.evaluation.report import _spearman

    m = {"split": "all", "spearman": {"z0": {"hard_hm": 1.0, "hard_hs": 0.5, "hard_ms": float("nan")}},
         "spearman_ci95": {"z0": {"hard_hm": [float("nan")] * 2, "hard_hs": [0.1, 0.8],
                                  "hard_ms": [float("nan")] * 2}},
         "spearman_n": {"hard_hm": 20, "hard_hs": 20, "hard_ms": 3}}
    lines = _spearman(m)
    row = lines[-2].split()
    assert row[:2] == ["z0", "1.000"] and "+0.50 [+0.10, +0.80]" in lines[-2] and row[-1] == "nan"
    assert "hard_ms n = 3" in lines[1] and "of 3 cells, about one in 20 excludes 0" in lines[-1]
    from core.evaluation.report import _signed

    assert _signed(-0.001) == "+0.00" and _signed(-0.006) == "-0.01"
