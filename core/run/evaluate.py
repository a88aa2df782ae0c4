"""``evaluate_run``: every measure of docs/design.md for a run, written to metrics.json (paths are stable).

- reconstruction.<model>.{deviance_per_bin, kl_to_truth} for autoencoder, pca8, mean (and truth, as the noise
  floor of the deviance), on the test split.
- classification.<task>.<protocol>.<features>.balanced_accuracy for task eight_class / agn_vs_compact,
  protocol kmeans / supervised, features latent / hardness / pca8 (and hardness_catalog as a reference),
  with confusion matrices; supervised folds and classifier are the same for every feature set.
- regression.<target>.<features>.r2: cross-validated R² of log N_H, Γ, kT from the latent (hardness beside it).
- spearman.<axis>.<hardness ratio>; mutual_information.<variability column>.<axis>.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_selection import mutual_info_regression
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict

from core.data.dataset import Dataset, load_dataset
from core.errors import ConfigError, DatasetError
from core.evaluation import features as feature_sets
from core.evaluation.baselines import MeanShape, PCAShapes
from core.evaluation.classification import (
    TASKS, clean_features, kmeans_majority, stratified_folds, supervised_cv, task_labels,
)
from core.evaluation.measures import deviance_per_bin, kl_to_truth, net_shapes, predicted_counts
from core.run.encode import counts_shapes, dataset_instrument, encode_spectra
from core.run.folder import METRICS, RunFolder
from core.spectra.hardness import HARDNESS_COLUMNS

VARIABILITY_COLUMNS = ("P_intra", "P_inter")


def run_latents(run: RunFolder, ds: Dataset, model) -> np.ndarray:
    """The run's saved latents when they encode this dataset, else freshly encoded ones (not written)."""
    try:
        return run.load_latents(ds)
    except DatasetError:
        pass  # not encoded, or encoded on another dataset: encode this one now
    instrument, index = dataset_instrument(model, ds)
    return encode_spectra(model, ds.spectra, ds.background, ds.weights, instrument=instrument, index=index)


def autoencoder_shapes(model, ds: Dataset, latent: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Decoded counts shapes of ``rows``, each through its own response (the dataset's responses.npz)."""
    instrument, index = dataset_instrument(model, ds)
    return counts_shapes(model, latent[rows].astype(np.float32), instrument, None if index is None else index[rows])


def reconstruction_measures(ds: Dataset, ae_shapes: np.ndarray, rows: np.ndarray, fit_rows: np.ndarray,
                            pca: PCAShapes) -> dict[str, dict[str, float]]:
    """Deviance per bin and KL to the truth of each model's shapes on ``rows`` (baselines fitted on fit_rows)."""
    w = None if ds.weights is None else np.asarray(ds.weights[rows])
    counts, bkg = np.asarray(ds.spectra[rows]), np.asarray(ds.background[rows])
    shapes_in = net_shapes(counts, bkg, w)
    models = {"autoencoder": ae_shapes, "pca8": pca.reconstruct(shapes_in),
              "mean": MeanShape().fit(net_shapes(ds.spectra[fit_rows], ds.background[fit_rows],
                                                 None if ds.weights is None else ds.weights[fit_rows]))
              .reconstruct(shapes_in)}
    truth = None if ds.truth is None else np.asarray(ds.truth[rows], dtype=np.float64)
    if truth is not None:
        models["truth"] = truth / np.maximum(truth.sum(axis=1, keepdims=True), 1e-300)
    out: dict[str, dict[str, float]] = {}
    for name, shapes in models.items():
        dev = deviance_per_bin(counts, predicted_counts(shapes, counts, bkg, w), w)
        m = {"deviance_per_bin": float(np.mean(dev)), "n": int(len(rows))}
        if truth is not None:
            kl = kl_to_truth(truth, shapes)
            m.update(kl_to_truth=float(np.nanmean(kl)), kl_to_truth_median=float(np.nanmedian(kl)))
        out[name] = m
    ae, p8 = out["autoencoder"], out["pca8"]
    ae["deviance_ratio_to_pca8"] = ae["deviance_per_bin"] / p8["deviance_per_bin"]
    if "kl_to_truth" in ae:
        ae["kl_ratio_to_pca8"] = ae["kl_to_truth"] / p8["kl_to_truth"]
    return out


def classification_measures(features: dict[str, np.ndarray], catalog: Any, rows: np.ndarray,
                            seed: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for task in TASKS:
        labels = task_labels(catalog, task)[rows]
        sel = labels != ""
        y = labels[sel]
        if len(np.unique(y)) < 2:
            continue
        folds = stratified_folds(y, seed=seed)
        res: dict[str, Any] = {"kmeans": {}, "supervised": {}, "n": int(len(y)),
                               "classes": np.unique(y).tolist(), "n_folds": len(folds)}
        for name, X in features.items():
            Xs = X[rows][sel]
            res["kmeans"][name] = kmeans_majority(Xs, y, seed=seed)
            sup = supervised_cv(Xs, y, "random_forest", folds, seed)
            lr = supervised_cv(Xs, y, "logistic", folds, seed)
            sup["logistic"] = {k: lr[k] for k in ("balanced_accuracy", "balanced_accuracy_std", "confusion")}
            res["supervised"][name] = sup
        out[task] = res
    return out


def cv_r2(X: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    folds = KFold(n_splits=5, shuffle=True, random_state=seed)
    model = RandomForestRegressor(n_estimators=100, min_samples_leaf=3, random_state=seed, n_jobs=1)
    return float(r2_score(y, cross_val_predict(model, clean_features(X), y, cv=folds)))


def regression_targets(catalog: Any) -> dict[str, np.ndarray]:
    """Physical parameters (NaN where not applicable): log N_H, Γ (power laws), kT (thermal)."""
    out = {}
    model = catalog["true_model"].astype(str).to_numpy() if "true_model" in catalog.columns else None
    if "true_nh" in catalog.columns:
        nh = catalog["true_nh"].to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["log_nh"] = np.where(nh > 0, np.log10(nh), np.nan)
    for col, name, kind in (("true_gamma", "gamma", "powerlaw"), ("true_kt", "kt", "thermal")):
        if col in catalog.columns:
            v = catalog[col].to_numpy(dtype=np.float64)
            out[name] = v if model is None else np.where(model == kind, v, np.nan)
    return out


def regression_measures(features: dict[str, np.ndarray], catalog: Any, rows: np.ndarray,
                        seed: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target, values in regression_targets(catalog).items():
        v = values[rows]
        ok = np.isfinite(v)
        if ok.sum() < 20:
            continue
        out[target] = {name: {"r2": cv_r2(features[name][rows][ok], v[ok], seed), "n": int(ok.sum())}
                       for name in ("latent", "hardness")}
    return out


def interpretation_measures(latent: np.ndarray, hardness: np.ndarray, catalog: Any, rows: np.ndarray,
                            seed: int = 0) -> dict[str, Any]:
    z, hr = latent[rows], hardness[rows]
    spear: dict[str, dict[str, float]] = {}
    for a in range(z.shape[1]):
        spear[f"z{a}"] = {}
        for j, name in enumerate(HARDNESS_COLUMNS):
            ok = np.isfinite(hr[:, j])
            spear[f"z{a}"][name] = float(spearmanr(z[ok, a], hr[ok, j]).statistic) if ok.sum() > 2 else float("nan")
    mi: dict[str, dict[str, float]] = {}
    for col in VARIABILITY_COLUMNS:
        if col in catalog.columns:
            v = catalog[col].to_numpy(dtype=np.float64)[rows]
            ok = np.isfinite(v)
            if ok.sum() > 10:
                vals = mutual_info_regression(z[ok], v[ok], random_state=seed)
                mi[col] = {f"z{a}": float(x) for a, x in enumerate(vals)}
    return {"spearman": spear, "mutual_information": mi}


def evaluate_run(run_dir: Path, data_dir: Path | None = None, classification_split: str = "all",
                 seed: int = 0, device: str = "cpu", write: bool = True) -> dict[str, Any]:
    """Compute every measure on the test split; writes ``metrics.json`` into the run folder (when ``write``)."""
    if classification_split not in ("test", "all"):
        raise ConfigError(f"classification_split={classification_split!r}: must be 'test' or 'all'")
    run = RunFolder(run_dir)
    run.config()  # a clear error when this is not a run folder
    ds = load_dataset(Path(data_dir) if data_dir is not None else run.dataset_path())
    test, train = ds.split_index("test"), ds.split_index("train")
    if len(test) == 0 or len(train) == 0:
        raise ConfigError(f"{ds.path}: evaluation needs train and test spectra (splits: "
                          f"{ds.catalog['split'].value_counts().to_dict()})")
    model = run.load_model(device)
    latent = run_latents(run, ds, model).astype(np.float64)
    pca = feature_sets.fit_pca(ds, train)
    features = feature_sets.build(ds, latent, pca)
    class_rows = test if classification_split == "test" else np.arange(len(ds.catalog))
    metrics: dict[str, Any] = {
        "run": str(run.path.resolve()), "dataset": str(ds.path.resolve()), "simulated": ds.simulated,
        "split": "test", "classification_rows": classification_split, "n_test": int(len(test)),
        "reconstruction": reconstruction_measures(ds, autoencoder_shapes(model, ds, latent, test), test, train, pca),
        "classification": classification_measures(features, ds.catalog, class_rows, seed),
        "regression": regression_measures(features, ds.catalog, test, seed),
    }
    metrics.update(interpretation_measures(latent, features["hardness"], ds.catalog, test, seed))
    if write:
        run.write_json(METRICS, metrics)
    return metrics


def format_table(m: dict[str, Any]) -> str:
    """The headline numbers as a plain-text table."""
    lines = [f"test split: {m['n_test']} spectra" + (" (simulated)" if m.get("simulated") else ""), "",
             f"{'reconstruction':<14} {'deviance/bin':>13} {'KL to truth':>12}"]
    for name, r in m["reconstruction"].items():
        kl = f"{r['kl_to_truth']:.4f}" if "kl_to_truth" in r else "-"
        lines.append(f"{name:<14} {r['deviance_per_bin']:>13.4f} {kl:>12}")
    feats = feature_sets.COMPARED + feature_sets.REFERENCES
    lines += ["", f"balanced accuracy ({m['classification_rows']} labelled rows)",
              f"{'task':<16}{'protocol':<12}" + "".join(f"{f:>18}" for f in feats)]
    for task, res in m["classification"].items():
        for proto in ("kmeans", "supervised"):
            cells = []
            for f in feats:
                r = res[proto].get(f)
                cells.append("-" if r is None else f"{r['balanced_accuracy']:.3f}"
                             + (f" ±{r['balanced_accuracy_std']:.3f}" if proto == "supervised" else ""))
            lines.append(f"{task:<16}{proto:<12}" + "".join(f"{c:>18}" for c in cells))
    if m["regression"]:
        lines += ["", f"{'R² (test, CV)':<14} {'latent':>8} {'hardness':>9}"]
        for t, r in m["regression"].items():
            lines.append(f"{t:<14} {r['latent']['r2']:>8.3f} {r['hardness']['r2']:>9.3f}")
    lines += ["", "Spearman of latent axes with hardness ratios (test)",
              f"{'axis':<6}" + "".join(f"{h:>9}" for h in HARDNESS_COLUMNS)
              + "".join(f"{'MI ' + c:>12}" for c in m["mutual_information"])]
    for axis, row in m["spearman"].items():
        mi = "".join(f"{m['mutual_information'][c][axis]:>12.3f}" for c in m["mutual_information"])
        lines.append(f"{axis:<6}" + "".join(f"{row[h]:>9.3f}" for h in HARDNESS_COLUMNS) + mi)
    return "\n".join(lines)
