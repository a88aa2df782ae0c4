"""``MapProjector``: the 2-D maps of a latent space (PCA and UMAP), and the placement of new latents on them.

Estimator style: ``fit(latents)`` makes both maps of the fitted latents (``maps_``), ``transform(latents)``
places any latents on them, ``save``/``load`` keep the fitted state as plain arrays (``map_placement.npz``,
read with ``allow_pickle=False``: nothing is ever unpickled).
- PCA map: the latents' mean and their first two principal axes (sign fixed so re-running gives the same
  picture); exact, for any number of latents.
- UMAP map: umap-learn's embedding of the reference latents: all of them up to ``n_landmarks``, else a random
  sample of ``n_landmarks`` (the landmarks). Every other latent is placed at the weighted mean of the embedding
  of its k nearest reference latents, with UMAP's own fuzzy-membership weights (``core.maps.neighbours``),
  found by pynndescent when the search is large. This is how umap-learn's ``transform`` initialises new points,
  without the few epochs of layout optimisation it runs after. Fitting UMAP on 20,000 landmarks and placing the
  rest is several times faster than umap-learn on everything, with a map as trustworthy
  (``benchmarks/bench_maps.py`` measures both side by side). Placements are close to, not identical with, ``UMAP.transform``; a fitted latent placed again
  does not land exactly where UMAP put it, since the weighted mean of its neighbours is not its optimised
  position: on the demo run it moved by a median 0.24% of the map's larger side (90th percentile 0.84%).
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from tqdm import tqdm

from core.atomic import write_bytes_atomic
from core.errors import ConfigError
from core.maps.neighbours import NeighbourSearch, knn_weights

UMAP_NEIGHBORS = 15
UMAP_MIN_DIST = 0.1
N_LANDMARKS = 20_000  # UMAP is fitted on at most this many latents; the rest are placed
MAP_NAMES = ("umap", "pca")  # map_<name>.npy in a run folder
_STATE = ("pca_mean", "pca_components", "umap_reference", "umap_embedding", "umap_n_neighbors")


class MapProjector:
    """PCA and UMAP maps of latents (N, D); see the module docstring."""

    def __init__(self, n_neighbors: int = UMAP_NEIGHBORS, min_dist: float = UMAP_MIN_DIST, seed: int = 0,
                 n_landmarks: int | None = N_LANDMARKS, progress: bool = False) -> None:
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.seed = seed
        self.n_landmarks = n_landmarks
        self.progress = progress

    def fit(self, latents: np.ndarray) -> "MapProjector":
        z = np.asarray(latents, dtype=np.float64)
        if z.ndim != 2 or len(z) < 3:
            raise ConfigError(f"a map needs at least 3 latents of shape (N, D); got {z.shape}")
        if self.n_landmarks is not None and self.n_landmarks < 3:
            raise ConfigError(f"n_landmarks={self.n_landmarks}: need at least 3 (or None for all latents)")
        self.pca_mean_ = z.mean(axis=0)
        _, _, vt = np.linalg.svd(z - self.pca_mean_, full_matrices=False)
        components = vt[:2]
        components *= np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])[:, None]
        self.pca_components_ = components
        landmarks = None
        if self.n_landmarks is not None and len(z) > self.n_landmarks:
            landmarks = np.sort(np.random.default_rng(self.seed).choice(len(z), self.n_landmarks, replace=False))
        ref = z if landmarks is None else z[landmarks]
        self.n_neighbors_ = int(min(self.n_neighbors, len(ref) - 1))
        import umap  # slow import (numba); only when a map is made

        if self.progress:  # a minute at 10^5 landmarks without a bar: say what is going on
            print(f"fitting UMAP on {len(ref):,} latents{' (landmarks)' if landmarks is not None else ''}…",
                  flush=True)

        with warnings.catch_warnings():  # "n_jobs overridden by random_state": the single thread is what we want
            warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
            emb = umap.UMAP(n_neighbors=self.n_neighbors_, min_dist=self.min_dist, n_components=2,
                            random_state=self.seed).fit_transform(ref)
        self.umap_reference_ = ref.astype(np.float32)
        self.umap_embedding_ = np.asarray(emb, dtype=np.float32)
        if landmarks is None:
            umap_xy = self.umap_embedding_
        else:
            umap_xy = self.transform(z)["umap"]
            umap_xy[landmarks] = self.umap_embedding_  # landmarks keep their optimised places
        self.landmarks_ = landmarks
        self.maps_ = {"umap": umap_xy, "pca": ((z - self.pca_mean_) @ self.pca_components_.T).astype(np.float32)}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "pca_mean_"):
            raise ConfigError("MapProjector is not fitted: call fit(latents) or MapProjector.load(path)")

    def transform(self, latents: np.ndarray, chunk: int = 8192) -> dict[str, np.ndarray]:
        """{"umap": (M, 2), "pca": (M, 2)} float32 positions of latents (M, D) on the fitted maps."""
        self._check_fitted()
        z = np.asarray(latents, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.pca_mean_.shape[0]:
            raise ConfigError(f"latents of shape {z.shape}; this run's maps need (M, {self.pca_mean_.shape[0]})")
        emb = self.umap_embedding_.astype(np.float64)
        search = NeighbourSearch(self.umap_reference_, self.seed)
        umap_xy = np.empty((len(z), 2), dtype=np.float32)
        starts = range(0, len(z), chunk)
        for i in tqdm(starts, desc="placing on the map", unit="chunk", disable=not self.progress or len(starts) < 4):
            nn, dist = search.query(z[i:i + chunk], self.n_neighbors_, n_total=len(z))
            umap_xy[i:i + chunk] = np.einsum("mk,mkc->mc", knn_weights(dist), emb[nn])
        pca_xy = (z - self.pca_mean_) @ self.pca_components_.T
        return {"umap": umap_xy, "pca": pca_xy.astype(np.float32)}

    def to_bytes(self) -> bytes:
        """The fitted state as an ``.npz`` of plain arrays (the ``map_placement.npz`` format)."""
        self._check_fitted()
        buf = io.BytesIO()
        np.savez(buf, pca_mean=self.pca_mean_, pca_components=self.pca_components_,
                 umap_reference=self.umap_reference_, umap_embedding=self.umap_embedding_,
                 umap_n_neighbors=np.array(self.n_neighbors_))
        return buf.getvalue()

    def save(self, path: Path) -> None:
        write_bytes_atomic(Path(path), self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> "MapProjector":
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path} is missing; run `python -m core encode` on this run first")
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in _STATE if k not in npz.files]
            if missing:
                raise ConfigError(f"{path}: not a map placement file (lacks {missing})")
            state = {k: npz[k] for k in _STATE}
        self = cls(n_neighbors=int(state["umap_n_neighbors"]))
        self.pca_mean_, self.pca_components_ = state["pca_mean"], state["pca_components"]
        self.umap_reference_, self.umap_embedding_ = state["umap_reference"], state["umap_embedding"]
        self.n_neighbors_ = int(state["umap_n_neighbors"])
        return self
