"""``evaluate_run``: every measure of docs/design.md for a run on a dataset, written to metrics.json and
reconstruction.csv (paths are stable; docs/formats.md lists them).

- reconstruction.<model>.{deviance_per_bin, kl_to_truth} for autoencoder, pca8, mean (and truth, as the noise
  floor of the deviance); deviance_per_bin_if_exact: what the deviance would average were the counts drawn from
  that model's own prediction (the reference where there is no truth: real spectra).
- Rows: on the run's own dataset the test split, baselines fitted on the training split, PCA's floor chosen on
  the validation split (core.evaluation.baselines.choose_floor). On another dataset
  (e.g. ingested real spectra) every row is scored except those of sources the run was trained on (by name, in
  the training or validation split of its own dataset: another simulation of the same sources holds them with new
  noise); sources_seen_in_training.{checked, n, names | reason} says what was left out, or why it could not be
  checked.
- classification.<task>.<protocol>.<features>: protocols kmeans (the paper's), kmeans_hungarian, kmeans_2k,
  kmeans_4k and supervised (random forest over 5x5 repeated folds, logistic regression beside it), with
  paired_differences and their corrected 95% intervals (core.evaluation.comparison).
- instrument.response_balanced_accuracy (from the latent) and instrument.by_features.<features>.
- regression.<target>.<features>.r2 (mean over repeats; r2_std): log N_H, Gamma, kT.
- spearman.<axis>.<hardness ratio> (NaN below 4 pairs), with spearman_ci95 (the same keys, [low, high]: Fisher z,
  Bonett-Wright variance; core.evaluation.correlation) and spearman_n.<hardness ratio> (the pairs each rests on:
  the rows with that ratio, the latent being finite everywhere);
  mutual_information.<variability column>.<axis>.
- reconstruction.csv: id, counts, deviance_per_bin of every spectrum (the autoencoder's reconstruction).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_selection import mutual_info_regression

from core.data.dataset import Dataset, load_dataset
from core.errors import ConfigError, DatasetError
from core.evaluation import features as feature_sets
from core.evaluation.baselines import SHAPE_FLOOR, MeanShape, PCAShapes, choose_floor
from core.evaluation.classification import N_TREES
from core.evaluation.comparison import classification_measures, instrument_measures, regression_measures
from core.evaluation.correlation import rank_correlation
from core.evaluation.measures import (deviance_per_bin, expected_deviance_per_bin, kl_to_truth, net_shapes,
                                      predicted_counts)
from core.evaluation.report import format_table  # noqa: F401  (the command prints it)
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


def _rows(ds: Dataset, rows: np.ndarray, arr: np.ndarray | None) -> np.ndarray | None:
    return None if arr is None else np.asarray(arr[rows], dtype=np.float64)


def reconstruction_measures(ds: Dataset, ae_shapes: np.ndarray, rows: np.ndarray, fit_rows: np.ndarray,
                            pca: PCAShapes | None, floor_choice: dict[str, Any] | None = None
                            ) -> dict[str, dict[str, Any]]:
    """Deviance per bin and KL to the truth of each model's shapes on ``rows`` (baselines fitted on fit_rows)."""
    w = _rows(ds, rows, ds.weights)
    counts, bkg = np.asarray(ds.spectra[rows]), np.asarray(ds.background[rows])
    shapes_in = net_shapes(counts, bkg, w)
    models = {"autoencoder": ae_shapes}
    dev_floor = (floor_choice or {}).get("best", {}).get("deviance_per_bin")
    if pca is not None:
        models["pca8"] = pca.reconstruct(shapes_in)  # at its KL floor; the deviance at its own floor below
        models["mean"] = MeanShape(pca.floor).fit(net_shapes(ds.spectra[fit_rows], ds.background[fit_rows],
                                                             _rows(ds, fit_rows, ds.weights))).reconstruct(shapes_in)
    truth = _rows(ds, rows, ds.truth)
    if truth is not None:
        models["truth"] = truth / np.maximum(truth.sum(axis=1, keepdims=True), 1e-300)
    out: dict[str, dict[str, Any]] = {}
    for name, shapes in models.items():
        if name == "pca8" and dev_floor is not None:
            shapes_dev = pca.reconstruct(shapes_in, floor=dev_floor)
        else:
            shapes_dev = shapes
        mu = predicted_counts(shapes_dev, counts, bkg, w)
        dev = deviance_per_bin(counts, mu, w)
        m: dict[str, Any] = {"deviance_per_bin": float(np.mean(dev)), "n": int(len(rows)),
                             "deviance_per_bin_if_exact": float(np.mean(expected_deviance_per_bin(mu, w)))}
        if truth is not None:
            kl = kl_to_truth(truth, shapes)
            m.update(kl_to_truth=float(np.nanmean(kl)), kl_to_truth_median=float(np.nanmedian(kl)))
        out[name] = m
    if pca is not None:
        out["pca8"].update(floor=pca.floor, deviance_floor=pca.floor if dev_floor is None else dev_floor,
                           **({"floor_choice": floor_choice} if floor_choice else {}))
        ae, p8 = out["autoencoder"], out["pca8"]
        ae["deviance_ratio_to_pca8"] = ae["deviance_per_bin"] / p8["deviance_per_bin"]
        if "kl_to_truth" in ae:
            ae["kl_ratio_to_pca8"] = ae["kl_to_truth"] / p8["kl_to_truth"]
    return out


def interpretation_measures(latent: np.ndarray, hardness: np.ndarray, catalog: Any, rows: np.ndarray,
                            seed: int = 0) -> dict[str, Any]:
    z, hr = latent[rows], hardness[rows]
    spear: dict[str, dict[str, float]] = {}
    interval: dict[str, dict[str, list[float]]] = {}
    pairs: dict[str, int] = {}
    for a in range(z.shape[1]):
        spear[f"z{a}"], interval[f"z{a}"] = {}, {}
        for j, name in enumerate(HARDNESS_COLUMNS):
            rc = rank_correlation(z[:, a], hr[:, j])
            spear[f"z{a}"][name], interval[f"z{a}"][name], pairs[name] = rc.rho, [rc.low, rc.high], rc.n
    mi: dict[str, dict[str, float]] = {}
    for col in VARIABILITY_COLUMNS:
        if col in catalog.columns:
            v = catalog[col].to_numpy(dtype=np.float64)[rows]
            ok = np.isfinite(v)
            if ok.sum() > 10:
                vals = mutual_info_regression(z[ok], v[ok], random_state=seed)
                mi[col] = {f"z{a}": float(x) for a, x in enumerate(vals)}
    return {"spearman": spear, "spearman_ci95": interval, "spearman_n": pairs, "mutual_information": mi}


def fit_baseline(ds: Dataset, train: np.ndarray, val: np.ndarray) -> tuple[PCAShapes | None, dict[str, Any] | None]:
    """PCA-8 fitted on ``train`` with its floor chosen on ``val`` (the default floor without a validation split)."""
    if len(train) < feature_sets.PCA_COMPONENTS:
        return None, None
    pca = feature_sets.fit_pca(ds, train)
    if len(val) == 0:
        return pca, None
    best, table = choose_floor(pca, ds.spectra[val], ds.background[val], _rows(ds, val, ds.weights),
                               _rows(ds, val, ds.truth))
    pca.floor = best.get("kl_to_truth", best["deviance_per_bin"])
    return pca, {"split": "val", "best": best, "default": SHAPE_FLOOR, "by_floor": table}


def evaluate_run(run_dir: Path, data_dir: Path | None = None, classification_split: str = "all",
                 seed: int = 0, device: str = "cpu", write: bool = True, out_dir: Path | None = None,
                 n_repeats: int = 5, n_trees: int = N_TREES) -> dict[str, Any]:
    """Compute every measure; write ``metrics.json`` and ``reconstruction.csv`` (when ``write``) into
    ``out_dir``, or into the run folder when ``out_dir`` is None (only for the run's own dataset: scores on
    another go to ``out_dir``). With ``out_dir`` nothing in the run folder is written."""
    if classification_split not in ("test", "all"):
        raise ConfigError(f"classification_split={classification_split!r}: must be 'test' or 'all'")
    t0 = time.perf_counter()
    run = RunFolder(run_dir)
    cfg = run.config()  # a clear error when this is not a run folder
    ds = load_dataset(Path(data_dir) if data_dir is not None else run.dataset_path())
    model = run.load_model(device)
    if ds.n_bins != model.config.n_bins:
        raise ConfigError(f"{ds.path} has {ds.n_bins} bins per spectrum; the model of {run.path} expects "
                          f"{model.config.n_bins}")
    trained_on = cfg.get("dataset_sha256")  # older runs lack it: compare the dataset's path instead
    own = trained_on == ds.fingerprint if trained_on else Path(str(cfg.get("dataset"))).resolve() == ds.path.resolve()
    test, train, val = ds.split_index("test"), ds.split_index("train"), ds.split_index("val")
    everything = np.arange(len(ds.catalog))
    if own and len(test) == 0:
        raise ConfigError(f"{ds.path}: evaluation needs test spectra (splits: "
                          f"{ds.catalog['split'].value_counts().to_dict()})")
    if not own and write and out_dir is None:
        raise ConfigError(f"{ds.path} is not the dataset {run.path} was trained on: give --out DIR for its scores "
                          f"(the run folder's metrics.json describes the run's own test split, and the app reads it)")
    seen = None if own else sources_seen(cfg, ds)  # another dataset: rows of sources the model trained on?
    rows = test if own else everything[~seen["rows"]] if seen["checked"] else everything
    if len(rows) == 0:
        raise ConfigError(f"{ds.path}: every row is a source {run.path} was trained on (its training or "
                          f"validation split, by name): nothing is left to score")
    latent = run_latents(run, ds, model).astype(np.float64)
    pca, floor_choice = fit_baseline(ds, train, val)
    features = feature_sets.build(ds, latent, pca)  # pca None: fewer training spectra than components, no pca8
    shapes = autoencoder_shapes(model, ds, latent, everything)  # through each row's own response
    class_rows = np.intersect1d(test if classification_split == "test" else everything, rows if not own else everything)
    metrics: dict[str, Any] = {
        "run": str(run.path.resolve()), "dataset": str(ds.path.resolve()), "simulated": ds.simulated,
        "own_dataset": own,
        "split": "test" if own else "unseen" if seen["checked"] and seen["n"] else "all",
        "classification_rows": classification_split,
        "n_test": int(len(rows)), "seed": seed,
        "reconstruction": reconstruction_measures(ds, shapes[rows], rows, train, pca, floor_choice),
        "classification": classification_measures(features, ds.catalog, class_rows, seed, n_repeats=n_repeats,
                                                  n_trees=n_trees),
        "instrument": instrument_measures(features, ds.catalog, rows, seed, n_repeats=n_repeats, n_trees=n_trees),
        "regression": regression_measures(features, ds.catalog, rows, seed, n_repeats=n_repeats, n_trees=n_trees),
        "early_stopping": {"monitor": "val_loss (validation split)", "best_epoch": _best_epoch(run)},
    }
    if seen is not None:
        metrics["sources_seen_in_training"] = {k: v for k, v in seen.items() if k != "rows"}
    if len(rows) > 2:
        metrics.update(interpretation_measures(latent, features["hardness"], ds.catalog, rows, seed))
    mu = predicted_counts(shapes, ds.spectra, ds.background, ds.weights)
    dev = deviance_per_bin(ds.spectra, mu, ds.weights)
    if "warnings" in ds.catalog.columns:  # ingest's pile-up signs (core/io/pileup.py): not the model's misfit alone
        piled = ds.catalog["warnings"].iloc[rows].fillna("").astype(str).str.contains("possible pile-up").to_numpy()
        others = rows[~piled]
        exact = expected_deviance_per_bin(mu[others], None if ds.weights is None else ds.weights[others])
        metrics["possible_pileup"] = {
            "ids": ds.catalog["id"].iloc[rows][piled].astype(str).tolist(),
            "deviance_per_bin_of_the_others": float(dev[others].mean()) if len(others) else None,
            "deviance_per_bin_of_the_others_if_exact": float(exact.mean()) if len(others) else None}
    metrics["seconds"] = round(time.perf_counter() - t0, 1)
    if write:
        dest = RunFolder(out_dir) if out_dir is not None else run
        dest.create()
        dest.write_reconstruction_csv(ds.catalog["id"], ds.catalog["counts"].to_numpy(), dev)
        dest.write_json(METRICS, metrics)
    return metrics


def sources_seen(cfg: dict[str, Any], ds: Dataset) -> dict[str, Any]:
    """Which rows of ``ds`` (another dataset than the run's) are sources the run was trained on: their name is in
    the training or validation split of the dataset named in the run's config.json. A second simulation of the
    same sources (another build-demo seed, a larger --n) holds them with new noise; scoring them would flatter
    the model. {"checked", "n" (rows left out), "names" (a few), "rows" (mask), or "reason" when the check could
    not be made (that dataset is not readable here; every row is then scored, and the report says so)}."""
    raw = cfg.get("dataset")
    if "name" not in ds.catalog.columns:
        return {"checked": False, "reason": f"{ds.path} has no name column"}
    try:
        trained = load_dataset(Path(str(raw))).catalog
    except Exception as exc:  # noqa: BLE001  (recorded and reported, never silent)
        return {"checked": False, "reason": f"the run's training dataset {raw} could not be read "
                                            f"({type(exc).__name__}: {exc})"}
    names = set(trained.loc[trained["split"].isin(["train", "val"]), "name"].astype(str))
    rows = ds.catalog["name"].astype(str).isin(names).to_numpy()
    return {"checked": True, "n": int(rows.sum()), "names": sorted(set(ds.catalog["name"][rows].astype(str)))[:5],
            "rows": rows}


def _best_epoch(run: RunFolder) -> int | None:
    hist = run.history()
    if hist is None or hist.empty:
        return None
    return int(hist.loc[hist["val_loss"].idxmin(), "epoch"])
