"""What each latent axis tends to track: the Spearman correlations of the axes with the hardness ratios that
``python -m core evaluate`` writes to metrics.json (``spearman.<axis>.<ratio>`` and ``spearman_n``, test split),
or computed here from the run's sources when metrics.json has none. Read at run time, never written into the help
text.

The plain-words reading of a table of (axes x ratios) correlations is a family of tests: on pure noise some
cell of 24 passes a 95% test more often than not. So each reading carries the cell's interval at the level that
holds for the whole table at once (Bonferroni: 1 - 0.05 / cells), and says "not shown by these data" when that
interval includes 0, or when a perfect rank order rests on fewer than 10 sources (no interval exists at
|rho| = 1; by chance alone 5 sources fall in perfect order 1.7% of the time per cell)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.evaluation.correlation import interval, rank_correlation, table_level
from explorer.logic.columns import describe

RATIOS = ("hard_hm", "hard_hs", "hard_ms")
FEW = 10  # below this many sources a correlation without an interval is not read as a link


@dataclass(frozen=True)
class AxisCorrelations:
    """Axes x ratios ``rho``, the number of pairs per ratio (empty when the source does not say) and where the
    numbers come from."""
    rho: pd.DataFrame
    n: dict[str, int]
    where: str

    @property
    def empty(self) -> bool:
        return self.rho.empty

    @property
    def level(self) -> float:
        """The simultaneous level of the readings' intervals: 95% for the whole table at once."""
        return table_level(self.rho.size)


def spearman_table(metrics: dict[str, Any], sources: pd.DataFrame | None = None,
                   axes: list[str] | None = None) -> AxisCorrelations:
    """The axes' rank correlations with the hardness ratios, from metrics.json or else from ``sources``."""
    sp = metrics.get("spearman") if isinstance(metrics, dict) else None
    if isinstance(sp, dict) and sp:
        rho = pd.DataFrame({a: {r: float(v) for r, v in d.items()} for a, d in sp.items() if isinstance(d, dict)}).T
        n = {r: int(v) for r, v in (metrics.get("spearman_n") or {}).items()}
        rows = {"test": "test split", "all": "every row of the dataset scored",
                "unseen": "rows of sources the run was not trained on"}
        split = metrics.get("split", "test")
        return AxisCorrelations(rho[[r for r in RATIOS if r in rho.columns]], n,
                                f"metrics.json ({rows.get(split, f'{split} rows')})")
    if sources is None or not axes:
        return AxisCorrelations(pd.DataFrame(), {}, "none")
    found = {a: {r: rank_correlation(sources[a].to_numpy(float), sources[r].to_numpy(float)) for r in RATIOS}
             for a in axes}
    rho = pd.DataFrame({a: {r: c.rho for r, c in row.items()} for a, row in found.items()}).T[list(RATIOS)]
    n = {r: min(found[a][r].n for a in axes) for r in RATIOS}
    return AxisCorrelations(rho, n, "computed from all sources of the run")


def tracks(table: AxisCorrelations, strong: float = 0.5, weak: float = 0.2) -> pd.DataFrame:
    """One row per axis: the hardness ratio it follows most, the correlation with its interval at the table's
    simultaneous level (where the number of sources is known), and a plain-words reading."""
    out = []
    for axis, row in table.rho.iterrows():
        vals = row.dropna()
        if vals.empty:
            out.append({"axis": axis, "follows": "", "rho": np.nan, "interval": "",
                        "reading": "no correlation measured"})
            continue
        best = vals.abs().idxmax()
        rho, n = float(vals[best]), table.n.get(best)
        lo, hi = interval(rho, n, table.level) if n else (np.nan, np.nan)
        shown = f"{lo:+.2f} to {hi:+.2f}" if np.isfinite(lo) and np.isfinite(hi) else ""
        label = describe(best).label
        size = "strongly" if abs(rho) >= strong else "somewhat" if abs(rho) >= weak else "hardly"
        way = "harder" if rho > 0 else "softer"
        if abs(rho) < weak and shown and not lo <= 0 <= hi:
            reading = f"weakly linked to {label} (|rho| < {weak}): little of this axis follows it"
        elif abs(rho) < weak:
            reading = "no clear link to any hardness ratio (shape details, or noise)"
        elif n is not None and n < FEW and not shown:
            reading = f"looks linked to {label}, but on {n} sources only: cannot tell"
        elif shown and lo <= 0 <= hi:
            reading = f"looks linked to {label}, but its interval includes 0 ({n} sources): not shown by these data"
        else:
            reading = f"{size} tracks {label}: larger {axis} means {way} spectra"
        out.append({"axis": axis, "follows": label, "rho": round(rho, 3), "interval": shown, "reading": reading})
    return pd.DataFrame(out)
