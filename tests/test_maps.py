"""MapProjector: UMAP's neighbour weights, exact PCA placement, placement on a smooth map, pickle-free save/load."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.maps.projector import MapProjector, knn_weights


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
