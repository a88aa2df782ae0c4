"""MapProjector: UMAP's neighbour weights, exact PCA placement, placement on a smooth map, pickle-free save/load."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.maps import neighbours
from core.maps.neighbours import knn_weights
from core.maps.projector import MapProjector
from core.maps.quality import map_trustworthiness


def test_knn_weights_follow_umaps_membership():
    w = knn_weights(np.array([[0.0, 1.0, 2.0, 3.0]]))
    assert w.sum() == pytest.approx(1.0) and np.all(np.diff(w[0]) < 0)
    # unnormalised, the nearest neighbour has weight 1 and all k sum to log2 k: w / w[0] sums to log2 4 = 2
    assert (w[0] / w[0, 0]).sum() == pytest.approx(2.0, rel=1e-6)


def _smooth_projector(rng: np.random.Generator) -> tuple[MapProjector, np.ndarray]:
    """A fitted state whose 'UMAP' embedding is 10 x the first two latent coordinates (a smooth map)."""
    ref = rng.uniform(0, 1, size=(2000, 3))
    p = MapProjector(n_neighbors=5)
    p.pca_mean_, p.pca_components_ = ref.mean(axis=0), np.eye(3)[:2]
    p.umap_reference_, p.umap_embedding_ = ref.astype(np.float32), (10 * ref[:, :2]).astype(np.float32)
    p.n_neighbors_ = 5
    return p, ref


def test_transform_is_exact_for_pca_and_close_on_a_smooth_map():
    rng = np.random.default_rng(0)
    p, ref = _smooth_projector(rng)
    new = rng.uniform(0.2, 0.8, size=(50, 3))
    xy = p.transform(new)
    assert xy["pca"] == pytest.approx((new - ref.mean(axis=0))[:, :2], abs=1e-6)
    assert np.abs(xy["umap"] - 10 * new[:, :2]).max() < 1.0  # neighbours lie within ~0.1 in latent space
    with pytest.raises(ConfigError, match=r"\(M, 3\)"):
        p.transform(new[:, :2])


def test_save_load_round_trip_without_pickle(tmp_path):
    p, _ = _smooth_projector(np.random.default_rng(1))
    p.save(tmp_path / "map_placement.npz")
    with np.load(tmp_path / "map_placement.npz", allow_pickle=False) as npz:  # plain arrays only
        assert {"pca_mean", "pca_components", "umap_reference", "umap_embedding", "umap_n_neighbors"} == set(npz.files)
    q = MapProjector.load(tmp_path / "map_placement.npz")
    z = np.random.default_rng(2).uniform(size=(7, 3))
    for name in ("umap", "pca"):
        np.testing.assert_array_equal(p.transform(z)[name], q.transform(z)[name])
    with pytest.raises(ConfigError, match="missing"):
        MapProjector.load(tmp_path / "nothing.npz")
    with pytest.raises(ConfigError, match="not fitted"):
        MapProjector().transform(z)


def test_fit_makes_both_maps_and_places_fitted_latents_near_their_embedding():
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(0, 1, (150, 4)), rng.normal(6, 1, (150, 4))]).astype(np.float32)
    p = MapProjector(seed=0).fit(z)
    assert p.maps_["umap"].shape == (300, 2) and p.maps_["pca"].shape == (300, 2)
    again = p.transform(z)
    np.testing.assert_allclose(again["pca"], p.maps_["pca"], atol=1e-5)
    span = np.ptp(p.maps_["umap"], axis=0).max()
    shift = np.linalg.norm(again["umap"] - p.maps_["umap"], axis=1)
    assert np.median(shift) < 0.05 * span  # close to, not equal to, where UMAP put them


def _clusters(n: int, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, size=(5, 6))
    return (centres[rng.integers(0, 5, n)] + rng.normal(0, 1, size=(n, 6))).astype(np.float32)


@pytest.mark.parametrize("exact_limit", [neighbours.EXACT_LIMIT, 0])  # exact search, then pynndescent
def test_landmark_maps_place_every_latent_and_keep_landmarks(monkeypatch, exact_limit):
    monkeypatch.setattr(neighbours, "EXACT_LIMIT", exact_limit)
    z = _clusters(1200)
    p = MapProjector(seed=0, n_landmarks=300).fit(z)
    assert p.umap_reference_.shape == (300, 6) and p.maps_["umap"].shape == (1200, 2)
    np.testing.assert_array_equal(p.maps_["umap"][p.landmarks_], p.umap_embedding_)
    assert np.isfinite(p.maps_["umap"]).all()
    # placed latents sit among their latent neighbours: the map keeps neighbourhoods
    assert map_trustworthiness(z, p.maps_["umap"], sample=1200) > 0.9
    assert map_trustworthiness(z, np.random.default_rng(0).normal(size=(1200, 2)), sample=1200) < 0.6


def test_the_same_neighbours_from_pynndescent_and_brute_force():
    rng = np.random.default_rng(5)
    ref, q = rng.normal(size=(3000, 8)), rng.normal(size=(200, 8))
    exact = neighbours.NeighbourSearch(ref).query(q, 10)
    approx = neighbours.NeighbourSearch(ref).query(q, 10, n_total=10**9)  # forces the index
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact[0], approx[0])])
    assert recall > 0.95
    same = approx[0][:, 0] == exact[0][:, 0]
    assert same.mean() > 0.95  # distances, not squared distances, where the nearest one is found
    np.testing.assert_allclose(approx[1][same, 0], exact[1][same, 0], rtol=1e-4)


def test_trustworthiness_of_small_maps_lowers_k_and_has_no_score_below_three_points():
    z = np.random.default_rng(1).normal(size=(12, 8))
    score = map_trustworthiness(z, z[:, :2])
    assert score is not None and 0.0 <= score <= 1.0
    assert map_trustworthiness(z[:2], z[:2, :2]) is None
