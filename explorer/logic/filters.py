"""The map's filters as one boolean mask over the sources table (array order)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.logic.runs import class_labels

@dataclass(frozen=True)
class Filters:
    """``None`` (or an empty tuple for ``classes``/``splits`` left at all) means "no cut".

    ``classes`` uses the display labels (``unlabelled`` for sources without a class).
    ``hardness`` maps a hardness-ratio column to an inclusive (lo, hi) range; NaN ratios fail a cut.
    ``name`` keeps sources whose name or id contains it (case-insensitive).
    """

    classes: tuple[str, ...] | None = None
    splits: tuple[str, ...] | None = None
    counts: tuple[float, float] | None = None
    hardness: tuple[tuple[str, float, float], ...] = field(default_factory=tuple)
    name: str = ""


def apply(sources: pd.DataFrame, f: Filters) -> np.ndarray:
    """Boolean mask (N,) of the sources that pass every cut in ``f``."""
    keep = np.ones(len(sources), dtype=bool)
    if f.classes is not None:
        keep &= class_labels(sources).isin(f.classes).to_numpy()
    if f.splits is not None:
        keep &= sources["split"].isin(f.splits).to_numpy()
    if f.counts is not None:
        c = sources["counts"].to_numpy(dtype=float)
        keep &= (c >= f.counts[0]) & (c <= f.counts[1])
    for col, lo, hi in f.hardness:
        v = sources[col].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            keep &= (v >= lo) & (v <= hi)
    q = f.name.strip().lower()
    if q:
        keep &= (sources["name"].astype(str).str.lower().str.contains(q, regex=False).to_numpy()
                 | sources["id"].astype(str).str.lower().str.contains(q, regex=False).to_numpy())
    return keep


def search(sources: pd.DataFrame, query: str, limit: int = 20) -> pd.DataFrame:
    """Sources whose name or id contains ``query`` (case-insensitive), exact matches first."""
    q = query.strip().lower()
    if not q:
        return sources.iloc[:0]
    names = sources["name"].astype(str).str.lower()
    ids = sources["id"].astype(str).str.lower()
    hit = names.str.contains(q, regex=False) | ids.str.contains(q, regex=False)
    out = sources[hit]
    exact = (names[hit] == q) | (ids[hit] == q)
    return out.iloc[np.argsort(~exact.to_numpy(), kind="stable")].head(limit)
