"""What each latent axis tends to track: the Spearman correlations of the axes with the hardness ratios that
``python -m core evaluate`` writes to metrics.json (``spearman.<axis>.<ratio>``, test split), or computed here
from the run's sources when metrics.json has none. Read at run time, never written into the help text."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from explorer.logic.columns import describe

RATIOS = ("hard_hm", "hard_hs", "hard_ms")


def spearman_table(metrics: dict[str, Any], sources: pd.DataFrame | None = None,
                   axes: list[str] | None = None) -> tuple[pd.DataFrame, str]:
    """(axes x ratios table of rank correlations, where they come from)."""
    sp = metrics.get("spearman") if isinstance(metrics, dict) else None
    if isinstance(sp, dict) and sp:
        t = pd.DataFrame({a: {r: float(v) for r, v in d.items()} for a, d in sp.items() if isinstance(d, dict)}).T
        return t[[r for r in RATIOS if r in t.columns]], f"metrics.json ({metrics.get('split', 'test')} split)"
    if sources is None or not axes:
        return pd.DataFrame(), "none"
    rows = {}
    for a in axes:
        rows[a] = {}
        for r in RATIOS:
            v = sources[[a, r]].to_numpy(dtype=float)
            ok = np.isfinite(v).all(axis=1)
            rows[a][r] = float(spearmanr(v[ok, 0], v[ok, 1]).statistic) if ok.sum() > 2 else np.nan
    return pd.DataFrame(rows).T, "computed from all sources of the run"


def tracks(table: pd.DataFrame, strong: float = 0.5, weak: float = 0.2) -> pd.DataFrame:
    """One row per axis: the hardness ratio it follows most, the correlation, and a plain-words reading."""
    out = []
    for axis, row in table.iterrows():
        vals = row.dropna()
        if vals.empty:
            out.append({"axis": axis, "follows": "", "rho": np.nan, "reading": "no correlation measured"})
            continue
        best = vals.abs().idxmax()
        rho = float(vals[best])
        size = "strongly" if abs(rho) >= strong else "somewhat" if abs(rho) >= weak else "hardly"
        way = "harder" if rho > 0 else "softer"
        reading = (f"{size} tracks {describe(best).label}: larger {axis} means {way} spectra"
                   if abs(rho) >= weak else "no clear link to any hardness ratio (shape details, or noise)")
        out.append({"axis": axis, "follows": describe(best).label, "rho": round(rho, 3), "reading": reading})
    return pd.DataFrame(out)
