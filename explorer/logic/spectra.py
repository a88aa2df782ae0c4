"""One source's spectrum laid out for plotting: observed counts with Poisson error bars, the model's predicted
counts, the noiseless truth (simulated data only) and residuals, on the energy grid."""
from __future__ import annotations

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

