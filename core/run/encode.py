"""Encoding a dataset with a trained run: latents, reconstruction errors, 2-D maps, map placement.

Files written into the run folder (docs/formats.md): latents.npy, encoded.json, map_umap.npy, map_pca.npy,
map_placement.npz, recon_error.npy, and reconstructions.npy on demand.

Placing new spectra on the saved maps never unpickles anything: ``map_placement.npz`` holds plain arrays.
- PCA map: the mean and the two components; placement is exact.
- UMAP map: the reference latents and their embedding. A new latent is placed at the weighted mean of the
  embedding of its k nearest reference latents, with UMAP's own fuzzy-membership weights
  w_j = exp(-(d_j - rho) / sigma) (rho = distance to the nearest neighbour, sigma such that sum_j w_j = log2 k).
  This is how umap-learn's ``transform`` initialises new points; umap-learn then refines them by a few epochs
  of its layout optimisation, which we skip. So placements are close to, not identical with, what
  ``UMAP.transform`` would give, and a training spectrum encoded again lands where it already is.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.atomic import write_bytes_atomic, write_json_atomic
from core.data.dataset import Dataset, load_dataset
from core.errors import ConfigError, DatasetError
from core.evaluation.measures import deviance_per_bin, predicted_counts
from core.model.autoencoder import SpectrumAutoencoder
from core.model.checkpoint import load_model

PLACEMENT_FILE = "map_placement.npz"
UMAP_NEIGHBORS = 15


def _batches(n: int, size: int) -> range:
    return range(0, n, size)


@torch.no_grad()
def encode_spectra(model: SpectrumAutoencoder, counts: np.ndarray, background: np.ndarray,
                   weights: np.ndarray | None = None, batch_size: int = 2048) -> np.ndarray:
    """Latents (N, D) float32 of spectra (N, B), encoded in batches on the model's device."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in _batches(len(counts), batch_size):
        args = [torch.as_tensor(np.array(a[i:i + batch_size], dtype=np.float32), device=device)
                for a in (counts, background) + ((weights,) if weights is not None else ())]
        out.append(model.encode(*args).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.latent_dim), np.float32)


@torch.no_grad()
def decode_latents(model: SpectrumAutoencoder, latents: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Decoded source shapes (N, B) float32, rows summing to 1."""
    device = next(model.parameters()).device
    model.eval()
    out = [model.decode(torch.as_tensor(latents[i:i + batch_size], device=device)).cpu().numpy()
           for i in _batches(len(latents), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.config.n_bins), np.float32)


def ids_checksum(ids: Any) -> str:
    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()


def load_latents(run_dir: Path, ds: Dataset) -> np.ndarray:
    """The run's saved latents (N, D), only if they encode exactly this dataset's rows, in its order.

    ``encoded.json`` records the checksum of the ids encoded; a run encoded on another dataset (another seed of
    the demo has the same number of rows) would otherwise pair latents with the wrong sources.
    """
    run_dir = Path(run_dir)
    enc, path = run_dir / "encoded.json", run_dir / "latents.npy"
    if not enc.is_file() or not path.is_file():
        raise DatasetError(f"{run_dir}: not encoded yet; run `python -m core encode --run {run_dir} --data <dataset>`")
    if json.loads(enc.read_text()).get("ids_sha256") != ids_checksum(ds.catalog["id"]):
        raise DatasetError(f"{run_dir}: its latents encode another dataset than {ds.path}; run `python -m core "
                           f"encode --run {run_dir} --data {ds.path}`")
    latents = np.load(path, allow_pickle=False)
    if latents.ndim != 2 or latents.shape[0] != len(ds.catalog):
        raise DatasetError(f"{path} has shape {latents.shape} but {ds.path} has {len(ds.catalog)} rows (a damaged "
                           f"file?); re-run encode on this dataset")
    return latents


def _save_npy(path: Path, arr: np.ndarray) -> None:
    import io

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    write_bytes_atomic(path, buf.getvalue())


def fit_maps(latents: np.ndarray, seed: int = 0, n_neighbors: int = UMAP_NEIGHBORS) -> dict[str, np.ndarray]:
    """PCA and UMAP maps of the latents, and the arrays needed to place new latents on them."""
    z = np.asarray(latents, dtype=np.float64)
    mean = z.mean(axis=0)
    _, _, vt = np.linalg.svd(z - mean, full_matrices=False)
    components = vt[:2]
    # a fixed sign per axis, so re-running gives the same picture
    components *= np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])[:, None]
    k = int(min(n_neighbors, len(z) - 1))
    import umap  # slow import (numba); only when a map is made

    import warnings

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": the single thread is what we want
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        emb = umap.UMAP(n_neighbors=k, min_dist=0.1, n_components=2, random_state=seed).fit_transform(z)
    return {"pca_mean": mean, "pca_components": components, "map_pca": (z - mean) @ components.T,
            "umap_reference": z.astype(np.float32), "umap_embedding": np.asarray(emb, dtype=np.float32),
            "umap_n_neighbors": np.array(k)}


def knn_weights(dist: np.ndarray, n_iter: int = 64) -> np.ndarray:
    """UMAP's fuzzy membership of each row's k neighbours (N, k), normalised to sum 1 per row."""
    k = dist.shape[1]
    rho = dist[:, :1]
    d = np.maximum(dist - rho, 0.0)
    target = np.log2(k)
    lo, hi = np.zeros(len(d)), np.full(len(d), np.inf)
    sigma = np.ones(len(d))
    for _ in range(n_iter):  # bisection on sigma, all rows at once
        s = np.exp(-d / sigma[:, None]).sum(axis=1)
        too_big = s > target
        hi = np.where(too_big, sigma, hi)
        lo = np.where(too_big, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2, 0.5 * (lo + hi))
    w = np.exp(-d / np.maximum(sigma[:, None], 1e-12))
    return w / w.sum(axis=1, keepdims=True)


def place_with(placement: dict[str, np.ndarray], latents: np.ndarray, chunk: int = 1024) -> dict[str, np.ndarray]:
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != placement["pca_mean"].shape[0]:
        raise ConfigError(f"latents of shape {z.shape}; this run's maps need (M, {placement['pca_mean'].shape[0]})")
    ref = placement["umap_reference"].astype(np.float64)
    emb = placement["umap_embedding"].astype(np.float64)
    k = int(placement["umap_n_neighbors"])
    ref_sq = (ref ** 2).sum(axis=1)
    umap_xy = np.empty((len(z), 2))
    for i in range(0, len(z), chunk):
        q = z[i:i + chunk]
        d2 = np.maximum((q ** 2).sum(axis=1)[:, None] - 2 * q @ ref.T + ref_sq[None, :], 0.0)  # (m, R)
        nn = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.sqrt(np.take_along_axis(d2, nn, axis=1))
        order = np.argsort(dist, axis=1)
        nn, dist = np.take_along_axis(nn, order, axis=1), np.take_along_axis(dist, order, axis=1)
        w = knn_weights(dist)
        umap_xy[i:i + chunk] = np.einsum("mk,mkc->mc", w, emb[nn])
    pca_xy = (z - placement["pca_mean"]) @ placement["pca_components"].T
    return {"umap": umap_xy.astype(np.float32), "pca": pca_xy.astype(np.float32)}


def place_on_map(run_dir: Path, latents: np.ndarray) -> dict[str, np.ndarray]:
    """2-D coordinates {"umap": (M, 2), "pca": (M, 2)} of new latents on a run's saved maps."""
    path = Path(run_dir) / PLACEMENT_FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing; run `python -m core encode --run {run_dir}` first")
    with np.load(path, allow_pickle=False) as npz:
        placement = {k: npz[k] for k in npz.files}
    return place_with(placement, latents)


def reconstruction_errors(shapes: np.ndarray, ds: Dataset) -> np.ndarray:
    """Poisson deviance per bin of each spectrum's reconstruction, (N,) float32."""
    w = ds.weights
    mu = predicted_counts(shapes, ds.spectra, ds.background, w)
    return deviance_per_bin(ds.spectra, mu, w).astype(np.float32)


def encode_run(run_dir: Path, data_dir: Path | None = None, reconstructions: bool = False, seed: int = 0,
               device: str = "cpu") -> None:
    """Encode a whole dataset (default: the run's training dataset) and write the run's encode files."""
    from core.run.evaluate import run_dataset_path

    run_dir = Path(run_dir)
    model = load_model(run_dir, device=device)
    ds = load_dataset(Path(data_dir) if data_dir is not None else run_dataset_path(run_dir))
    if ds.n_bins != model.config.n_bins:
        raise ConfigError(f"{ds.path} has {ds.n_bins} bins per spectrum; the model of {run_dir} expects "
                          f"{model.config.n_bins}")
    latents = encode_spectra(model, ds.spectra, ds.background, ds.weights)
    shapes = decode_latents(model, latents)
    maps = fit_maps(latents, seed=seed)
    _save_npy(run_dir / "latents.npy", latents.astype(np.float32))
    _save_npy(run_dir / "recon_error.npy", reconstruction_errors(shapes, ds))
    if reconstructions:
        _save_npy(run_dir / "reconstructions.npy", shapes.astype(np.float32))
    else:
        (run_dir / "reconstructions.npy").unlink(missing_ok=True)  # never leave one from another encoding
    _save_npy(run_dir / "map_pca.npy", maps["map_pca"].astype(np.float32))
    _save_npy(run_dir / "map_umap.npy", maps["umap_embedding"])
    import io

    buf = io.BytesIO()
    np.savez(buf, **{k: v for k, v in maps.items() if k.startswith(("pca_", "umap_"))})
    write_bytes_atomic(run_dir / PLACEMENT_FILE, buf.getvalue())
    write_json_atomic(run_dir / "encoded.json", {
        "dataset": str(ds.path.resolve()), "n": len(latents), "ids_sha256": ids_checksum(ds.catalog["id"]),
        "latent_dim": int(latents.shape[1]), "reconstructions": bool(reconstructions), "umap_seed": seed,
        "umap_placement": "weighted k nearest neighbours in latent space (UMAP transform's initialisation)",
    })
