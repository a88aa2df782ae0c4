"""Repeated cross-validation: folds grouped by source and shared, the corrected intervals, paired differences,
the clustering protocols (Hungarian matching, the degenerate k = 2 majority mapping) and instrument leakage."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.evaluation.classification import KMEANS_NOTE, kmeans_hungarian, kmeans_majority, supervised_cv
from core.evaluation.comparison import classification_measures, instrument_measures
from core.evaluation.features import true_family_onehot
from core.evaluation.repeated import corrected_interval, paired_difference, repeated_folds, repeated_kfold


def test_repeated_folds_are_fixed_stratified_and_cover_every_row_once_per_repeat():
    y = np.repeat(["a", "b", "c"], [50, 30, 20])
    folds = repeated_folds(y, n_splits=5, n_repeats=3, seed=4)
    assert len(folds) == 15
    again = repeated_folds(y, n_splits=5, n_repeats=3, seed=4)
    assert all((f[1] == g[1]).all() for f, g in zip(folds, again))
    for r in range(3):
        tests = np.concatenate([te for _, te in folds[5 * r:5 * r + 5]])
        assert sorted(tests.tolist()) == list(range(100))
    assert not (folds[0][1].tolist() == folds[5][1].tolist())  # a new shuffle per repeat
    assert all(np.sum(y[te] == "c") == 4 for _, te in folds)  # stratified


def test_rows_of_one_source_never_straddle_a_fold():
    rng = np.random.default_rng(0)
    names = np.repeat([f"src{i}" for i in range(60)], rng.integers(1, 4, 60))
    y = np.array(["AGN" if int(n[3:]) % 3 else "YSO" for n in names])
    for folds in (repeated_folds(y, names, n_splits=5, n_repeats=2, seed=1),
                  repeated_kfold(len(y), names, n_splits=5, n_repeats=2, seed=1)):
        for train, test in folds:
            assert not set(names[train]) & set(names[test])
        assert sorted(np.concatenate([te for _, te in folds[:5]]).tolist()) == list(range(len(y)))


def test_corrected_interval_by_hand():
    folds = [(np.arange(80), np.arange(80, 100))] * 10  # n_test / n_train = 0.25
    v = np.arange(10) / 10.0
    ci = corrected_interval(v, folds)
    s2 = np.var(v, ddof=1)
    half = stats.t.ppf(0.975, 9) * np.sqrt((1 / 10 + 0.25) * s2)
    assert ci["mean"] == pytest.approx(0.45) and ci["ci_high"] - ci["mean"] == pytest.approx(half)
    naive = stats.t.ppf(0.975, 9) * np.sqrt(s2 / 10)
    assert ci["ci_high"] - ci["mean"] > 1.8 * naive  # the correction widens the naive interval


def test_paired_difference_significance():
    folds = [(np.arange(80), np.arange(80, 100))] * 25
    rng = np.random.default_rng(2)
    a = 0.6 + rng.normal(0, 0.02, 25)
    assert paired_difference(a, a - 0.05, folds)["significant"]
    same = paired_difference(a, a + rng.normal(0, 0.02, 25), folds)
    assert not same["significant"] and same["ci_low"] < 0 < same["ci_high"]


def test_degenerate_majority_kmeans_and_hungarian_matching():
    """Two clusters, both with majority A (A is 90% of the rows): majority mapping scores 0.5 exactly, the
    Hungarian matching gives the minority its own cluster."""
    X = np.concatenate([np.zeros(90), np.full(10, 0.01), np.full(90, 10.0)])[:, None]
    X = X + np.random.default_rng(0).normal(0, 0.001, X.shape)
    y = np.array(["A"] * 90 + ["B"] * 10 + ["A"] * 90)
    maj = kmeans_majority(X, y)
    assert maj["balanced_accuracy"] == 0.5 and set(maj["per_class_recall"].values()) == {1.0, 0.0}
    hun = kmeans_hungarian(X, y)
    assert hun["balanced_accuracy"] == pytest.approx(0.75)  # A: half its rows; B: all
    more = kmeans_majority(X, y, n_clusters=4)
    assert more["n_clusters"] == 4 and more["balanced_accuracy"] >= 0.5


def _catalog(n: int, rng) -> pd.DataFrame:
    cls = rng.choice(["AGN", "YSO", "NS", "CV"], n)
    return pd.DataFrame({"name": [f"s{i}" for i in range(n)], "class": cls,
                         "response": rng.choice(["r1", "r2", "r3", "r4"], n)})


def test_instrument_leakage_is_high_for_features_that_carry_the_response_and_at_chance_otherwise():
    rng = np.random.default_rng(3)
    cat = _catalog(400, rng)
    code = pd.factorize(cat["response"], sort=True)[0]
    feats = {"latent": np.c_[code + rng.normal(0, 0.1, 400), rng.normal(size=400)],
             "hardness": rng.normal(size=(400, 3)), "pca8": rng.normal(size=(400, 8))}
    ins = instrument_measures(feats, cat, np.arange(400), n_repeats=2, n_trees=20)
    assert ins["chance"] == 0.25 and ins["n_folds"] == 10
    assert ins["response_balanced_accuracy"] > 0.95
    assert abs(ins["by_features"]["hardness"]["balanced_accuracy"] - 0.25) < 0.08
    assert ins["paired_differences"]["latent-hardness"]["significant"]
    assert instrument_measures(feats, cat.drop(columns="response"), np.arange(400)) == {}


def test_classification_measures_pair_features_on_shared_folds_and_explain_a_degenerate_kmeans():
    rng = np.random.default_rng(5)
    n = 300
    cls = np.where(rng.random(n) < 0.88, "AGN", rng.choice(["NS", "HMXB"], n))
    cat = pd.DataFrame({"name": [f"s{i}" for i in range(n)], "class": cls, "true_model": "powerlaw"})
    signal = (cls == "AGN").astype(float)
    feats = {"latent": np.c_[signal + rng.normal(0, 0.3, n), rng.normal(size=n)],
             "hardness": rng.normal(size=(n, 3)), "pca8": rng.normal(size=(n, 8))}
    res = classification_measures(feats, cat, np.arange(n), n_repeats=2, n_trees=20)["agn_vs_compact"]
    lat, hard = res["supervised"]["latent"], res["supervised"]["hardness"]
    assert len(lat["fold_scores"]) == len(hard["fold_scores"]) == 10
    d = res["paired_differences"]["random_forest"]["latent-hardness"]
    assert d["mean"] == pytest.approx(np.mean(np.subtract(lat["fold_scores"], hard["fold_scores"])))
    assert d["significant"] and d["ci_low"] > 0
    assert res["kmeans"]["hardness"]["balanced_accuracy"] == 0.5 and res["kmeans_note"] == KMEANS_NOTE
    assert supervised_cv(feats["hardness"], cls, "logistic", repeated_folds(cls, n_repeats=1))["n_repeats"] == 1


def test_oracle_family_onehot():
    cat = pd.DataFrame({"true_model": ["powerlaw", "plasma1t", "powerlaw", ""]})
    assert true_family_onehot(cat).tolist() == [[0, 1], [1, 0], [0, 1], [0, 0]]
    assert true_family_onehot(pd.DataFrame({"class": ["AGN"]})) is None
