"""One source's spectrum laid out for plotting: observed counts with Poisson error bars, the model's predicted
counts, the noiseless truth (simulated data only) and residuals, on the energy grid."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def poisson_errors(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Approximate 1-sigma Poisson intervals (Gehrels 1986): lower, upper error bar lengths.

    Zero counts get an upper bar of about 1.87 and no lower bar, instead of the misleading sqrt(0) = 0.
    """
    n = np.asarray(counts, dtype=float)
    upper = 1.0 + np.sqrt(n + 0.75)
    lower = np.where(n > 0, np.sqrt(np.maximum(n - 0.25, 0.0)), 0.0)
    return lower, upper


def pearson_residuals(observed: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(observed - predicted) / sqrt(predicted); NaN where nothing is predicted."""
    obs = np.asarray(observed, dtype=float)
    pred = np.asarray(predicted, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pred > 0, (obs - pred) / np.sqrt(np.where(pred > 0, pred, 1.0)), np.nan)


def spectrum_table(edges: np.ndarray, counts: np.ndarray, *, background: np.ndarray | None = None,
                   predicted: np.ndarray | None = None, truth: np.ndarray | None = None,
                   weights: np.ndarray | None = None) -> pd.DataFrame:
    """One row per energy bin: ``e_lo, e_hi, energy, width, observed, err_lo, err_hi`` and, when given,
    ``background``, ``predicted`` (model counts), ``truth`` (noiseless source + background counts) and
    ``residual`` (Pearson, observed against predicted), ``good`` (weight > 0)."""
    edges = np.asarray(edges, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if counts.shape != (len(edges) - 1,):
        raise ValueError(f"counts has shape {counts.shape} but the grid has {len(edges) - 1} bins")
    lo, hi = poisson_errors(counts)
    out = pd.DataFrame({"e_lo": edges[:-1], "e_hi": edges[1:], "energy": 0.5 * (edges[:-1] + edges[1:]),
                        "width": np.diff(edges), "observed": counts, "err_lo": lo, "err_hi": hi})
    if background is not None:
        out["background"] = np.asarray(background, dtype=float)
    if predicted is not None:
        out["predicted"] = np.asarray(predicted, dtype=float)
        out["residual"] = pearson_residuals(counts, out["predicted"].to_numpy())
    if truth is not None:
        out["truth"] = np.asarray(truth, dtype=float)
    out["good"] = True if weights is None else np.asarray(weights) > 0
    return out



# ---- views as X-ray astronomers read spectra: units, background subtraction, grouping, energy range ----------
UNITS = {"counts": "counts per bin", "rate": "counts s⁻¹ keV⁻¹"}
RESIDUALS = {"sigma": "(data−model)/σ", "deviance": "deviance"}  # σ = √model: zero-count bins stay honest


@dataclass(frozen=True)
class SpectrumOptions:
    """How a spectrum is shown. ``min_counts`` groups adjacent bins until each group holds at least that many
    counts (0: no grouping), as ``grppha group min`` / ``ftgrouppha grouptype=min`` do; ``e_range`` keeps the
    bins that lie inside it (keV)."""

    unit: str = "counts"
    subtract_background: bool = False
    min_counts: int = 0
    e_range: tuple[float, float] | None = None
    residuals: str = "sigma"

    def y_title(self) -> str:
        return ("net " if self.subtract_background else "") + UNITS[self.unit]


def group_min_counts(counts: np.ndarray, min_counts: int, good: np.ndarray | None = None) -> np.ndarray:
    """Group index (B,) of each bin: adjacent good bins are added until the group holds ``min_counts``; bad
    bins and a last group that never reaches the minimum get -1 (grppha marks those channels bad)."""
    counts = np.asarray(counts, dtype=float)
    good = np.ones(len(counts), bool) if good is None else np.asarray(good, bool)
    out = np.full(len(counts), -1, dtype=int)
    if min_counts <= 0:
        out[good] = np.arange(int(good.sum()))
        return out
    g, acc, members = 0, 0.0, []
    for i in np.flatnonzero(good):
        members.append(i)
        acc += counts[i]
        if acc >= min_counts:
            out[members] = g
            g, acc, members = g + 1, 0.0, []
    return out


def deviance_residuals(observed: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """sign(d − m) √(2 (d ln(d/m) − (d − m))): the Poisson deviance of each bin as a signed residual. A
    zero-count bin gets −√(2m), no misleading tail of (0 − m)/√m; NaN where nothing is predicted."""
    d = np.asarray(observed, dtype=float)
    m = np.asarray(predicted, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        term = np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0) / np.where(m > 0, m, 1.0)), 0.0)
        dev = 2.0 * (term - (d - m))
    return np.where(m > 0, np.sign(d - m) * np.sqrt(np.maximum(dev, 0.0)), np.nan)


SUMMED = ("observed", "background", "predicted", "truth")


def view_table(table: pd.DataFrame, opts: SpectrumOptions, exposure: float) -> pd.DataFrame:
    """``spectrum_table``'s rows cut to the energy range, grouped, in the chosen unit (the same column names,
    so one figure draws every view); ``residual`` is recomputed on the groups."""
    t = table[table["good"]] if "good" in table else table
    if opts.e_range is not None:
        lo, hi = opts.e_range
        t = t[(t["e_lo"] >= lo - 1e-9) & (t["e_hi"] <= hi + 1e-9)]
    groups = group_min_counts(t["observed"].to_numpy(), opts.min_counts)
    t = t.assign(group=groups)
    t = t[t["group"] >= 0]
    cols = [c for c in SUMMED if c in t]
    agg = t.groupby("group").agg(e_lo=("e_lo", "min"), e_hi=("e_hi", "max"), **{c: (c, "sum") for c in cols})
    agg = agg.reset_index(drop=True)
    agg.insert(2, "energy", 0.5 * (agg["e_lo"] + agg["e_hi"]))
    agg.insert(3, "width", agg["e_hi"] - agg["e_lo"])
    obs = agg["observed"].to_numpy()
    lo_err, hi_err = poisson_errors(obs)
    if "predicted" in agg:
        pred = agg["predicted"].to_numpy()
        agg["residual"] = (deviance_residuals(obs, pred) if opts.residuals == "deviance"
                           else pearson_residuals(obs, pred))
    bkg = agg["background"].to_numpy() if "background" in agg else np.zeros(len(agg))
    if opts.subtract_background:
        for c in ("observed", "predicted", "truth"):
            if c in agg:
                agg[c] = agg[c] - bkg
    scale = 1.0 / (max(float(exposure), 1e-9) * agg["width"].to_numpy()) if opts.unit == "rate" else 1.0
    for c in cols:
        agg[c] = agg[c] * scale
    agg.insert(agg.columns.get_loc("observed") + 1, "err_lo", lo_err * scale)
    agg.insert(agg.columns.get_loc("observed") + 2, "err_hi", hi_err * scale)
    agg.attrs["y_title"] = opts.y_title()
    return agg


def overlay(table: pd.DataFrame, counts: np.ndarray, background: np.ndarray, opts: SpectrumOptions,
            exposure: float) -> np.ndarray:
    """Another source's counts drawn on this source's view: scaled to the same total counts in the range (a
    comparison of shapes), then grouped like this source. Returns the values at this view's groups."""
    t = table[table["good"]] if "good" in table else table
    if opts.e_range is not None:
        lo, hi = opts.e_range
        t = t[(t["e_lo"] >= lo - 1e-9) & (t["e_hi"] <= hi + 1e-9)]
    idx = t.index.to_numpy()
    c = np.asarray(counts, dtype=float)[idx]
    b = np.asarray(background, dtype=float)[idx]
    total = c.sum()
    f = t["observed"].sum() / total if total > 0 else 0.0
    groups = group_min_counts(t["observed"].to_numpy(), opts.min_counts)
    keep = groups >= 0
    y = np.bincount(groups[keep], weights=(c * f)[keep])
    if opts.subtract_background:
        y = y - np.bincount(groups[keep], weights=(b * f)[keep])
    if opts.unit == "rate":
        e_lo = np.array([t["e_lo"].to_numpy()[groups == g].min() for g in range(len(y))])
        e_hi = np.array([t["e_hi"].to_numpy()[groups == g].max() for g in range(len(y))])
        y = y / (max(float(exposure), 1e-9) * (e_hi - e_lo))
    return y


def export_csv(view: pd.DataFrame, extra: dict[str, np.ndarray] | None = None) -> bytes:
    """The plotted data as CSV; value columns carry their unit in the header."""
    unit = view.attrs.get("y_title", "")
    out = view.rename(columns={c: f"{c} [{unit}]" for c in ("observed", "err_lo", "err_hi", "background",
                                                          "predicted", "truth") if c in view})
    out = out.rename(columns={"e_lo": "e_lo [keV]", "e_hi": "e_hi [keV]", "energy": "energy [keV]",
                              "width": "width [keV]", "residual": "residual [sigma]"})
    for name, values in (extra or {}).items():
        out[f"{name} [{unit}]"] = values
    return out.to_csv(index=False).encode()
