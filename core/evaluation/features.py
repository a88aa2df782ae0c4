"""The feature sets every comparison uses, built in one place for ``evaluate`` and the classifier page.

- ``latent``: the run's latents;
- ``hardness``: hardness ratios from the same counts the autoencoder sees (background-subtracted, bad bins left
  out, no effective-area correction, since the autoencoder is not given the response either);
- ``pca8``: PCA-8 coefficients of the net shapes, PCA fitted on the training split;
- references, not competitors: ``hardness_catalog`` (the catalog's own ratios, without Poisson noise),
  ``hardness_dataset`` (the dataset's ``hard_*`` columns: for the demo, ARF-corrected ratios from the counts) and,
  for simulated data, ``oracle``: the true model family (one-hot of ``true_family``, else ``true_model``) beside
  the hardness ratios from the counts. It shows how much a feature set could learn from the simulation's choice
  of family alone: a latent that beats hardness but not the oracle may only be reading the family.
Combinations are columns side by side (``combine``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.errors import ConfigError
from core.evaluation.baselines import PCAShapes
from core.evaluation.measures import net_shapes
from core.spectra.hardness import HARDNESS_COLUMNS, hardness_matrix

LABELS: dict[str, str] = {
    "latent": "latent (8-d)", "hardness": "hardness ratios (from counts)", "pca8": "PCA-8 of the spectra",
    "hardness_catalog": "catalog hardness ratios", "hardness_dataset": "dataset hard_* columns",
    "oracle": "oracle: true family + hardness (simulation only)",
}
COMPARED = ("latent", "hardness", "pca8")
REFERENCES = ("hardness_catalog", "hardness_dataset", "oracle")
FAMILY_COLUMNS = ("true_family", "true_model")  # the simulation's model family, most specific first
PCA_COMPONENTS = 8


def catalog_hardness(catalog: pd.DataFrame, prefix: str = "catalog_") -> np.ndarray | None:
    """The catalog's ``{prefix}hard_*`` columns (N, 3), or None when it has none (or none finite)."""
    cols = [f"{prefix}{name}" for name in HARDNESS_COLUMNS]
    if not all(c in catalog.columns for c in cols):
        return None
    X = catalog[cols].to_numpy(dtype=np.float64)
    return X if np.isfinite(X).any() else None


def true_family_onehot(catalog: pd.DataFrame) -> np.ndarray | None:
    """One-hot (N, F) of the simulated model family, or None when the dataset does not know it."""
    col = next((c for c in FAMILY_COLUMNS if c in catalog.columns), None)
    if col is None:
        return None
    fam = catalog[col].fillna("").astype(str).to_numpy()
    names = np.unique(fam[fam != ""])
    if len(names) == 0:
        return None
    return (fam[:, None] == names[None, :]).astype(np.float64)


def fit_pca(ds: Dataset, rows: np.ndarray | None = None) -> PCAShapes:
    """PCA-8 of the net shapes of ``rows`` (default: the training split)."""
    rows = ds.split_index("train") if rows is None else rows
    return PCAShapes(PCA_COMPONENTS).fit(net_shapes(ds.spectra[rows], ds.background[rows],
                                                    None if ds.weights is None else ds.weights[rows]))


def build(ds: Dataset, latents: np.ndarray, pca: PCAShapes | None = None) -> dict[str, np.ndarray]:
    """Every feature set available for ``ds`` (N rows, catalog order), in the order of ``LABELS``.

    ``pca``: a fitted PCA of the net shapes (default: fitted on the training split; left out when the split
    has fewer spectra than components).
    """
    latents = np.asarray(latents, dtype=np.float64)
    if latents.shape[0] != len(ds.catalog):
        raise ConfigError(f"{len(latents)} latents for {len(ds.catalog)} spectra of {ds.path}")
    feats = {"latent": latents,
             "hardness": hardness_matrix(ds.spectra, ds.energy_edges, ds.background, ds.weights)}
    if pca is None and len(ds.split_index("train")) >= PCA_COMPONENTS:
        pca = fit_pca(ds)
    if pca is not None:
        feats["pca8"] = pca.transform(net_shapes(ds.spectra, ds.background, ds.weights))
    for name, prefix in (("hardness_catalog", "catalog_"), ("hardness_dataset", "")):
        ref = catalog_hardness(ds.catalog, prefix)
        if ref is not None:
            feats[name] = ref
    family = true_family_onehot(ds.catalog)
    if family is not None:
        feats["oracle"] = np.concatenate([family, feats["hardness"]], axis=1)
    return feats


def combine(features: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Columns of several feature sets side by side (N, sum of widths)."""
    missing = [n for n in names if n not in features]
    if missing:
        raise ConfigError(f"feature sets {missing} are not available; have {list(features)}")
    return np.concatenate([np.asarray(features[n], dtype=np.float64).reshape(len(features[n]), -1) for n in names],
                          axis=1)
