"""The simulation's continua are integrated over each energy bin, checked against a fine numerical integral."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from core.simulate.models import THERMAL_LINES, _gaunt, powerlaw, thermal

LO = np.array([0.3, 0.5, 1.0, 2.0, 6.9])
HI = np.array([0.31, 0.7, 1.5, 4.0, 7.0])


@pytest.mark.parametrize("gamma", [-0.5, 0.0, 1.0, 1.0 + 1e-10, 1.7, 3.5])
def test_powerlaw_is_the_exact_bin_integral(gamma):
    got = powerlaw(np.array([gamma]), LO, HI)[0]
    want = [quad(lambda e: e ** -gamma, lo, hi, epsabs=0, epsrel=1e-13)[0] for lo, hi in zip(LO, HI)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_powerlaw_at_gamma_one_is_the_logarithm():
    np.testing.assert_allclose(powerlaw(np.array([1.0]), LO, HI)[0], np.log(HI / LO), rtol=1e-14)


@pytest.mark.parametrize("kt", [0.1, 0.5, 2.0, 15.0])
def test_bremsstrahlung_continuum_matches_a_fine_integral(kt):
    lo = np.linspace(0.3, 9.29, 900)  # the CSC ARF grid: 10 eV bins
    hi = lo + 0.01
    got = thermal(np.array([kt]), lo, hi)[0]

    def f(e):
        return _gaunt(e, kt) * np.exp(-e / kt) / e / np.sqrt(kt)

    sel = np.arange(0, 900, 37)
    lines = np.zeros(900, bool)  # bins holding an emission line carry more than the continuum
    for line_e, *_ in THERMAL_LINES:
        lines |= (lo <= line_e) & (line_e < hi)
    sel = sel[~lines[sel]]
    want = np.array([quad(f, lo[i], hi[i], epsabs=0, epsrel=1e-13)[0] for i in sel])
    np.testing.assert_allclose(got[sel], want, rtol=1e-12)
