"""The demo's prior, as samples: parameter sets drawn the way ``build-demo`` draws them, their noiseless source
shapes through each response, and the prior of the source counts S given a spectrum's background.

Why: the most any function of a spectrum's counts can tell about log N_H is the posterior mean under the prior the
spectra were drawn from (``core.evaluation.ceiling``; ``benchmarks/nh_ceiling.py``). The demo's prior is its
population: each catalog source's family, drawn from its class mixture, and parameters inverted from its real
hardness ratios (``core.simulate.families.fit_parameters``), with S from its significance and background
(``core.simulate.demo.source_counts``). A split's own rows are one draw of it; other seeds re-draw the families,
secondary parameters, within-cell jitter and missing significances of the same sources, as ``build-demo --seed``
would.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.partition import splits_of
from core.simulate.demo import MIN_SIGNIFICANCE
from core.simulate.families import PARAMETER_COLUMNS, fit_parameters, model_photons
from core.simulate.population import draw_significance, load_population
from core.simulate.responses import FoldedResponse

DRAW_COLUMNS = (*PARAMETER_COLUMNS, "significance", "nh_gal")  # nh_gal: what scattered light sees
CHUNK = 4096


def redraw_parameters(split: str, seeds: Sequence[int], mixtures: str = "default") -> pd.DataFrame:
    """``DRAW_COLUMNS`` for every population source of ``split``, once per seed (column ``seed``), drawn with
    ``build-demo``'s functions (``draw_significance`` on the whole population as it does, ``fit_parameters`` on the
    split's sources only, so the streams differ from ``build-demo --seed``'s but the draws follow the same law);
    ``mixtures`` as the demo's (``build-demo --mixtures``, its ``dataset.json`` "mixtures", absent for default)."""
    pop = load_population()
    rows = splits_of(pop["name"]) == split
    out = []
    for seed in seeds:
        part = pop.copy()
        part["significance"] = draw_significance(pop, np.random.default_rng([seed, 1]))
        part = part.loc[rows].reset_index(drop=True)
        drawn = pd.concat([part[["name", "significance", "nh_gal"]], fit_parameters(part, seed, mixtures)], axis=1)
        drawn["seed"] = seed
        out.append(drawn)
    return pd.concat(out, ignore_index=True)


def folded_shapes(table: pd.DataFrame, responses: Sequence[FoldedResponse], dtype=np.float32) -> list[np.ndarray]:
    """Per response, (J, B): each row's noiseless source counts spectrum through it, normalised to sum 1 over the
    grid (as ``build-demo`` scales its truth: S x shape)."""
    lo, hi = responses[0].energy_lo, responses[0].energy_hi
    out = [np.empty((len(table), r.matrix.shape[1]), dtype=dtype) for r in responses]
    for start in range(0, len(table), CHUNK):
        photons = model_photons(table.iloc[start:start + CHUNK], lo, hi)  # (c, E)
        for shapes, r in zip(out, responses):
            folded = photons @ r.matrix
            shapes[start:start + len(folded)] = folded / folded.sum(1, keepdims=True)
    return out


def expected_background(responses: Sequence[FoldedResponse], index: np.ndarray, level: np.ndarray) -> np.ndarray:
    """(N, B) expected background counts: the response's background template scaled to ``level`` counts."""
    template = np.stack([r.background / r.background.sum() for r in responses])
    return template[index] * np.asarray(level, dtype=np.float64)[:, None]


class SourceCountsPrior:
    """The prior density of u = ln S for a spectrum with ``background`` expected counts, where S / sqrt(S + B) is
    the source's significance (``core.simulate.demo.source_counts``, clipped at ``MIN_SIGNIFICANCE``).

    The significance's density is a Gaussian kernel estimate in v = ln(significance) (Silverman's bandwidth) over
    the prior draws' values; u follows by the change of variables v(u) = u - ln(S + B) / 2, dv/du = 1 - S / (2 (S
    + B)). ``log_density`` uses the whole sample (S independent of the parameters); ``log_density_joint`` the draw's
    own significance only (a kernel around it: the joint prior of parameters and S)."""

    def __init__(self, grid_points: int = 2048) -> None:
        self.grid_points = grid_points

    def fit(self, significance: np.ndarray) -> "SourceCountsPrior":
        v = np.log(np.clip(np.asarray(significance, dtype=np.float64), MIN_SIGNIFICANCE, None))
        if not np.all(np.isfinite(v)) or len(v) < 2:
            raise ValueError("need at least two finite significances")
        iqr = np.subtract(*np.percentile(v, [75, 25]))
        spread = min(v.std(ddof=1), iqr / 1.34) if iqr > 0 else v.std(ddof=1)
        self.bandwidth_ = 0.9 * max(spread, 1e-3) * len(v) ** -0.2
        self.v_ = v
        self.grid_ = np.linspace(v.min() - 10 * self.bandwidth_, v.max() + 10 * self.bandwidth_, self.grid_points)
        self.log_density_v_ = np.concatenate([self._kde(self.grid_[i:i + 64]) for i in range(0, self.grid_points, 64)])
        return self

    def _kde(self, v: np.ndarray) -> np.ndarray:
        """log of the kernel estimate at v (G,) over the fitted sample."""
        log_k = self._log_kernel(v[:, None], self.v_[None, :])  # (G, J)
        top = log_k.max(1, keepdims=True)
        return (top + np.log(np.exp(log_k - top).mean(1, keepdims=True)))[:, 0]

    def _log_kernel(self, v: np.ndarray, centre: np.ndarray) -> np.ndarray:
        z = (v - centre) / self.bandwidth_
        return -0.5 * z ** 2 - np.log(self.bandwidth_ * np.sqrt(2 * np.pi))

    @staticmethod
    def _change(u: np.ndarray, background: float) -> tuple[np.ndarray, np.ndarray]:
        s = np.exp(u)
        return u - 0.5 * np.log(s + background), np.log1p(-0.5 * s / (s + background))

    def log_density(self, u: np.ndarray, background: float) -> np.ndarray:
        """log pi(u), u = ln S (any shape), S independent of the parameters."""
        v, log_jac = self._change(np.asarray(u, dtype=np.float64), background)
        return np.interp(v, self.grid_, self.log_density_v_) + log_jac

    def log_density_joint(self, u: np.ndarray, draws: np.ndarray, background: float) -> np.ndarray:
        """log pi(u | draw j) for u (K, n) and the draws' indices (K,) into the fitted sample."""
        v, log_jac = self._change(np.asarray(u, dtype=np.float64), background)
        return self._log_kernel(v, self.v_[np.asarray(draws)][:, None]) + log_jac
