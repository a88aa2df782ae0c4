"""What each latent axis tends to track: the Spearman correlations of the axes with the hardness ratios that
``python -m core evaluate`` writes to metrics.json (``spearman.<axis>.<ratio>`` with ``spearman_ci95``, test
split), or computed here from the run's sources when metrics.json has none. Read at run time, never written into
the help text. Each correlation carries its 95% interval where one is known, and the plain-words reading says so
when the interval includes 0 (a handful of ingested spectra cannot show a link a correlation of 0.6 suggests)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.evaluation.correlation import rank_correlation
from explorer.logic.columns import describe

RATIOS = ("hard_hm", "hard_hs", "hard_ms")


@dataclass(frozen=True)
class AxisCorrelations:
    """Axes x ratios: ``rho`` and its 95% interval (``low``, ``high``; None when the source gives none), the
    number of pairs per ratio, and where the numbers come from."""
    rho: pd.DataFrame
    low: pd.DataFrame | None
    high: pd.DataFrame | None
    n: dict[str, int]
    where: str

    @property
    def empty(self) -> bool:
        return self.rho.empty


def _frame(d: dict[str, dict[str, float]], ratios: list[str]) -> pd.DataFrame:
    return pd.DataFrame({a: {r: float(v) for r, v in row.items()} for a, row in d.items()}).T[ratios]


def spearman_table(metrics: dict[str, Any], sources: pd.DataFrame | None = None,
                   axes: list[str] | None = None) -> AxisCorrelations:
    """The axes' rank correlations with the hardness ratios, from metrics.json or else from ``sources``."""
    sp = metrics.get("spearman") if isinstance(metrics, dict) else None
    if isinstance(sp, dict) and sp:
        sp = {a: d for a, d in sp.items() if isinstance(d, dict)}
        rho = pd.DataFrame({a: {r: float(v) for r, v in d.items()} for a, d in sp.items()}).T
        ratios = [r for r in RATIOS if r in rho.columns]
        ci = metrics.get("spearman_ci95")
        low = high = None
        if isinstance(ci, dict) and all(r in (ci.get(a) or {}) for a in sp for r in ratios):
            low = _frame({a: {r: ci[a][r][0] for r in ratios} for a in sp}, ratios)
            high = _frame({a: {r: ci[a][r][1] for r in ratios} for a in sp}, ratios)
        n = {r: int(v) for r, v in (metrics.get("spearman_n") or {}).items()}
        return AxisCorrelations(rho[ratios], low, high, n, f"metrics.json ({metrics.get('split', 'test')} split)")
    if sources is None or not axes:
        return AxisCorrelations(pd.DataFrame(), None, None, {}, "none")
    found = {a: {r: rank_correlation(sources[a].to_numpy(float), sources[r].to_numpy(float)) for r in RATIOS}
             for a in axes}
    ratios = list(RATIOS)
    return AxisCorrelations(*(_frame({a: {r: getattr(c, f) for r, c in row.items()} for a, row in found.items()},
                                     ratios) for f in ("rho", "low", "high")),
                            {r: found[axes[0]][r].n for r in RATIOS}, "computed from all sources of the run")


def tracks(table: AxisCorrelations, strong: float = 0.5, weak: float = 0.2) -> pd.DataFrame:
    """One row per axis: the hardness ratio it follows most, the correlation with its 95% interval, and a
    plain-words reading (which says so when the interval includes 0)."""
    out = []
    for axis, row in table.rho.iterrows():
        vals = row.dropna()
        if vals.empty:
            out.append({"axis": axis, "follows": "", "rho": np.nan, "95% interval": "",
                        "reading": "no correlation measured"})
            continue
        best = vals.abs().idxmax()
        rho = float(vals[best])
        lo, hi = ((float(table.low.loc[axis, best]), float(table.high.loc[axis, best]))
                  if table.low is not None and table.high is not None else (np.nan, np.nan))
        interval = f"{lo:+.2f} to {hi:+.2f}" if np.isfinite(lo) and np.isfinite(hi) else ""
        size = "strongly" if abs(rho) >= strong else "somewhat" if abs(rho) >= weak else "hardly"
        way = "harder" if rho > 0 else "softer"
        if abs(rho) < weak:
            reading = "no clear link to any hardness ratio (shape details, or noise)"
        elif interval and lo <= 0 <= hi:
            reading = (f"looks linked to {describe(best).label}, but the 95% interval includes 0 "
                       f"({table.n.get(best, 0)} sources): not shown by these data")
        else:
            reading = f"{size} tracks {describe(best).label}: larger {axis} means {way} spectra"
        out.append({"axis": axis, "follows": describe(best).label, "rho": round(rho, 3), "95% interval": interval,
                    "reading": reading})
    return pd.DataFrame(out)
