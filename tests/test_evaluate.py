"""Measures on hand-made inputs with known answers, and evaluate_run's metrics.json paths on a tiny run."""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from core.evaluation.baselines import FLOOR_CANDIDATES, MeanShape, PCAShapes
from core.evaluation.classification import (
    kmeans_majority, stratified_folds, supervised_cv, task_labels,
)
from core.errors import ConfigError
from core.run.evaluate import evaluate_run, format_table
from core.evaluation.measures import (deviance_per_bin, expected_deviance_per_bin, kl_to_truth, net_shapes,
                                      predicted_counts)
from core.model import ModelConfig
from core.run.train import TrainConfig, train
from core.spectra.hardness import hardness_matrix
from tiny_data import make_tiny_dataset


def test_deviance_per_bin_by_hand():
    counts = np.array([[2.0, 0.0, 3.0]])
    mu = np.array([[1.0, 1.0, 3.0]])
    assert deviance_per_bin(counts, mu)[0] == pytest.approx(2 * (2 * math.log(2) - 1 + 1) / 3)
    assert deviance_per_bin(counts, counts + 0.0)[0] == pytest.approx(0.0, abs=1e-12)
    assert deviance_per_bin(counts, mu, np.array([[1.0, 1.0, 0.0]]))[0] == pytest.approx(2 * (2 * math.log(2)) / 2)


def test_predicted_counts_scale_the_shape_to_the_source_counts_plus_background():
    counts = np.array([[4.0, 4.0, 2.0]])
    bkg = np.array([[1.0, 0.0, 1.0]])
    mu = predicted_counts(np.array([[0.5, 0.5, 0.0]]), counts, bkg)
    # S by maximum likelihood: 4 * 0.5 / (0.5 S + 1) + 4 * 0.5 / (0.5 S) = 1, so S = 3 + sqrt(17), not N - B = 8
    s = 3 + math.sqrt(17)
    assert mu == pytest.approx(np.array([[0.5 * s + 1, 0.5 * s, 1.0]]))


def test_kl_to_truth_by_hand():
    truth = np.array([[10.0, 30.0], [0.0, 0.0]])
    kl = kl_to_truth(truth, np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert kl[0] == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert np.isnan(kl[1])
    assert kl_to_truth(truth[:1], np.array([[0.25, 0.75]]))[0] == pytest.approx(0.0, abs=1e-12)


def test_pca_recovers_a_low_rank_family_and_mean_shape_is_the_mean():
    rng = np.random.default_rng(0)
    base = np.abs(rng.normal(size=(2, 20))) + 0.5
    shapes = rng.uniform(0.2, 1, (50, 2)) @ base
    shapes /= shapes.sum(axis=1, keepdims=True)
    pca = PCAShapes(n_components=2).fit(shapes)
    assert pca.reconstruct(shapes) == pytest.approx(shapes, abs=1e-9)
    assert MeanShape().fit(shapes).reconstruct(shapes[:3])[0] == pytest.approx(shapes.mean(axis=0), abs=1e-9)
    assert net_shapes(np.array([[3.0, 1.0]]), np.array([[1.0, 1.0]])) == pytest.approx(np.array([[0.5, 0.0]]))


def test_task_labels():
    cat = pd.DataFrame({"class": ["AGN", "NS", "YSO", "", "CV", "HMXB"]})
    assert task_labels(cat, "eight_class").tolist() == ["AGN", "NS", "YSO", "", "CV", "HMXB"]
    assert task_labels(cat, "agn_vs_compact").tolist() == ["AGN", "compact", "", "", "compact", "compact"]
    assert task_labels(cat, ["AGN", "YSO"]).tolist() == ["AGN", "", "YSO", "", "", ""]
    with pytest.raises(ConfigError, match="task='nine'"):
        task_labels(cat, "nine")


def test_classifiers_on_separable_and_on_random_features():
    rng = np.random.default_rng(1)
    y = np.repeat(np.array(["a", "b", "c"]), 60)
    centres = {"a": (0, 0), "b": (10, 0), "c": (0, 10)}
    X = np.array([centres[c] for c in y]) + rng.normal(0, 0.5, (180, 2))
    assert kmeans_majority(X, y)["balanced_accuracy"] == 1.0
    folds = stratified_folds(y, seed=0)
    assert len(folds) == 5 and stratified_folds(y, seed=0)[0][1].tolist() == folds[0][1].tolist()
    for clf in ("random_forest", "logistic"):
        res = supervised_cv(X, y, clf, folds)
        assert res["balanced_accuracy"] == 1.0 and np.trace(res["confusion"]) == 180
    noise = supervised_cv(rng.normal(size=(180, 2)), y, "logistic", folds)
    assert noise["balanced_accuracy"] < 0.55  # chance is 1/3
    assert set(noise["per_class_recall"]) == {"a", "b", "c"}


def test_hardness_from_counts_in_csc_bands():
    edges = np.array([0.5, 1.0, 1.5, 3.0, 7.0])  # centres 0.75 (s), 1.25 (m), 2.25 and 5 (h)
    hr = hardness_matrix(np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]), edges)
    assert hr[0, :2].tolist() == [1.0, 1.0] and np.isnan(hr[0, 2])  # no m and no s counts: undefined
    assert hr[1].tolist() == [-1.0, -1.0, 0.0]
    assert np.isnan(hr[2]).all()
    # background-subtracted: 2 h counts of which 1 is background, 1 m count -> (1 - 1) / (1 + 1) = 0
    net = hardness_matrix(np.array([[0.0, 1.0, 2.0, 0.0]]), edges, background=np.array([[0.0, 0.0, 1.0, 0.0]]))
    assert net[0, 0] == 0.0 and net[0, 1] == 1.0


def test_evaluate_run_writes_the_stable_metric_paths(tmp_path):
    data = make_tiny_dataset(tmp_path / "tiny", n=300)
    run = train(data, tmp_path / "run", ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32),
                TrainConfig(max_epochs=2, batch_size=64), progress=False)
    m = evaluate_run(run, classification_split="all", n_repeats=2, n_trees=10)
    saved = json.loads((run / "metrics.json").read_text())
    for model in ("autoencoder", "pca8", "mean"):
        for measure in ("deviance_per_bin", "kl_to_truth"):
            assert np.isfinite(saved["reconstruction"][model][measure])
    assert saved["reconstruction"]["pca8"]["floor_choice"]["split"] == "val"
    assert saved["reconstruction"]["pca8"]["floor"] in FLOOR_CANDIDATES
    assert saved["reconstruction"]["pca8"]["deviance_floor"] in FLOOR_CANDIDATES
    for task in ("eight_class", "agn_vs_compact"):
        res = saved["classification"][task]
        for proto in ("kmeans", "kmeans_hungarian", "kmeans_2k", "kmeans_4k", "supervised"):
            for feats in ("latent", "hardness", "pca8", "oracle"):
                assert 0 <= res[proto][feats]["balanced_accuracy"] <= 1
        sup = res["supervised"]["latent"]
        assert len(sup["fold_scores"]) == res["n_folds"] == 10 and sup["n_repeats"] == 2
        assert sup["ci95"][0] <= sup["balanced_accuracy"] <= sup["ci95"][1]
        assert 0 <= sup["logistic"]["balanced_accuracy"] <= 1
        for clf in ("random_forest", "logistic"):
            d = res["paired_differences"][clf]["latent-hardness"]
            assert d["ci_low"] <= d["mean"] <= d["ci_high"] and isinstance(d["significant"], bool)
    assert saved["reconstruction"]["truth"]["kl_to_truth"] == pytest.approx(0.0, abs=1e-9)
    assert set(saved["spearman"]["z0"]) == {"hard_hm", "hard_hs", "hard_ms"}
    for axis, row in saved["spearman"].items():
        for ratio, rho in row.items():
            low, high = saved["spearman_ci95"][axis][ratio]
            assert low <= rho <= high and saved["spearman_n"][ratio] > 3
    assert "Bonett-Wright" in format_table(m)
    assert set(saved["mutual_information"]) == {"P_intra", "P_inter"}
    assert len(saved["regression"]["log_nh"]["latent"]["r2_repeats"]) == 2
    assert saved["instrument"] == {}  # the tiny dataset has no response column
    table = format_table(m)
    assert "autoencoder" in table and "95% [" in table and "k-means Hungarian" in table and "oracle" in table
    assert "labelled rows in" in table and "(chance" in table and "if exact" in table
    assert "features: latent = the run's latent numbers; hardness = " in table
    assert 0 < saved["reconstruction"]["autoencoder"]["deviance_per_bin_if_exact"] < 1.2
    recon = pd.read_csv(run / "reconstruction.csv")
    assert list(recon.columns) == ["id", "counts", "deviance_per_bin"] and len(recon) == 300


def test_evaluate_on_another_dataset_writes_only_into_out(tmp_path, run_core):
    data = make_tiny_dataset(tmp_path / "tiny", n=200)
    other = make_tiny_dataset(tmp_path / "other", n=120, seed=7)
    run = train(data, tmp_path / "run", ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32),
                TrainConfig(max_epochs=1, batch_size=64), progress=False)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    r = run_core("evaluate", "--run", run, "--data", other, "--out", tmp_path / "scores", "--repeats", "1", "--trees", "5",
                 timeout=300)
    assert r.returncode == 0, r.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # the run folder is untouched
    m = json.loads((tmp_path / "scores" / "metrics.json").read_text())
    # both tiny datasets name their sources "tiny <i>": the other's first 120 are the same sources with new noise,
    # and the 96 of them in the run's training or validation split are left out (rows i % 5 == 4 are test)
    assert m["dataset"] == str(other.resolve()) and m["own_dataset"] is False and m["split"] == "unseen"
    seen = m["sources_seen_in_training"]
    assert seen["checked"] and seen["n"] == 96 and seen["names"][0] == "tiny 0"
    assert m["reconstruction"]["autoencoder"]["n"] == 24 and m["n_test"] == 24
    assert "left out: 96 rows of sources in the run's training or validation split" in r.stdout
    assert "(1 rep)" in r.stdout and "±0.000" not in r.stdout  # --repeats 1: no spread to show
    recon = pd.read_csv(tmp_path / "scores" / "reconstruction.csv")
    assert list(recon.columns) == ["id", "counts", "deviance_per_bin"]
    assert recon["id"].tolist() == [f"src{i:04d}" for i in range(120)] and (recon["deviance_per_bin"] >= 0).all()
    assert recon["counts"].sum() == int(np.load(other / "spectra.npy").sum())
    assert not list((tmp_path / "scores").glob(".*tmp*"))  # atomic writes leave no temporary files
    bad = run_core("evaluate", "--run", run, "--data", tmp_path / "nowhere", "--out", tmp_path / "x")
    assert bad.returncode != 0 and "nowhere" in bad.stderr
    into_run = run_core("evaluate", "--run", run, "--data", other, "--repeats", "1", "--trees", "5")
    assert into_run.returncode != 0 and "give --out DIR" in into_run.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # the run's own metrics are not replaced
    fresh = make_tiny_dataset(tmp_path / "fresh", n=60, seed=3)  # other sources: nothing left out
    shutil.move(data, tmp_path / "moved")  # ... and the run's own dataset is gone: the check cannot be made
    r = run_core("evaluate", "--run", run, "--data", fresh, "--out", tmp_path / "fresh_scores", "--repeats", "1",
                 "--trees", "5", timeout=300)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "fresh_scores" / "metrics.json").read_text())
    assert m["split"] == "all" and m["n_test"] == 60 and not m["sources_seen_in_training"]["checked"]
    assert "whether some are sources the run trained on was not checked" in r.stdout and str(data) in r.stdout


def test_the_table_clips_balanced_accuracy_intervals_to_its_range():
    from core.evaluation.report import interval

    assert interval({"balanced_accuracy": 0.1, "ci95": [-0.2, 0.4]}) == "0.100 [0.000,0.400]"
    assert interval({"balanced_accuracy": 0.9, "ci95": [0.7, 1.1]}) == "0.900 [0.700,1.000]"


def test_the_deviance_expected_of_an_exact_model():
    """Counts drawn from mu score, on average, what expected_deviance_per_bin says: from far below 1 (faint bins)
    to 1 + 1/(6 mu); checked against draws and against sums written out here."""
    from scipy.stats import poisson

    y = np.arange(400.0)
    for mu in (0.05, 1.0, 7.0, 60.0, 250.0):
        p = poisson.pmf(y, mu)
        exact = 2 * ((p * np.where(y > 0, y * np.log(np.maximum(y, 1)), 0)).sum() - mu * np.log(mu))
        assert expected_deviance_per_bin(np.array([[mu]]))[0] == pytest.approx(exact, rel=1e-4)
    rng = np.random.default_rng(0)
    mu = rng.gamma(0.5, 4.0, size=(400, 60)) + 1e-3  # from far below one count a bin to tens
    weights = (rng.random(mu.shape) > 0.1).astype(float)  # bad channels are left out of both
    got = deviance_per_bin(rng.poisson(mu), mu, weights).mean()
    assert got == pytest.approx(expected_deviance_per_bin(mu, weights).mean(), rel=0.03)
    assert expected_deviance_per_bin(np.full((1, 10), 0.01))[0] < 0.1  # faint: far below 1 under the truth


def test_few_labelled_rows_skip_the_k_means_with_more_clusters_than_rows():
    """12 labelled rows in 4 classes: k = 2x (8 clusters) runs, k = 4x (16) cannot; it is skipped and said so
    (evaluate on another dataset with few unseen rows crashed inside KMeans before)."""
    rng = np.random.default_rng(0)
    catalog = pd.DataFrame({"class": np.repeat(["AGN", "CV", "NS", "YSO"], 3), "name": [f"s{i}" for i in range(12)]})
    from core.evaluation.comparison import classification_measures

    res = classification_measures({"latent": rng.normal(size=(12, 3))}, catalog, np.arange(12), n_repeats=1,
                                  n_trees=5)["eight_class"]
    assert res["kmeans_2k"]["latent"]["n_clusters"] == 8 and res["kmeans_4k"] == {}
    assert res["kmeans_skipped"] == "k-means k = 4x (16 clusters) not run: more clusters than the 12 labelled rows"
    m = {"split": "all", "n_test": 12, "classification_rows": "all", "classification": {"eight_class": res},
         "reconstruction": {}, "regression": {}}
    assert "note: k-means k = 4x (16 clusters) not run" in format_table(m)
