"""Encoding a dataset with a trained run: latents, reconstruction errors, 2-D maps and their placement state.

Files written into the run folder (named in ``core.run.folder``; docs/formats.md): latents.npy, encoded.json,
map_umap.npy, map_pca.npy, map_placement.npz (``core.maps.projector.MapProjector``), recon_error.npy, and
reconstructions.npy on demand.

Responses: a model with ``instrument="fold"`` sees every spectrum through its own response (the dataset's
``responses.npz``, ``dataset_instrument``); ``instrument``/``index`` None means the model's reference response.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from core.data.dataset import Dataset, load_dataset
from core.errors import ConfigError, DatasetError
from core.evaluation.measures import deviance_per_bin, predicted_counts
from core.maps.projector import MapProjector
from core.maps.quality import map_trustworthiness
from core.parallel import run_chunks
from core.model.autoencoder import SpectrumAutoencoder
from core.model.inference import EncoderInference
from core.model.instrument import Instrument, instrument_for
from core.model.refine import refine_latents
from core.run.folder import (CONFIG, ENCODED, HISTORY, LATENTS, PLACEMENT, RECON_ERROR, RECONSTRUCTIONS, WEIGHTS,
                             RunFolder, ids_checksum)


def _batches(n: int, size: int) -> range:
    return range(0, n, size)


def dataset_instrument(model: SpectrumAutoencoder, ds: Dataset) -> tuple[Instrument | None, np.ndarray | None]:
    """(Instrument on the model's device, response index per row) for a dataset; (None, None) for "none" models."""
    if not model.config.folds:
        return None, None
    device = next(model.parameters()).device
    instrument, index = instrument_for(ds.responses, len(ds.catalog), model.photon_edges.cpu().numpy(),
                                       ds.energy_edges)
    return instrument.to(device), index


def _index(index: np.ndarray | None, i: int, size: int, device) -> torch.Tensor | None:
    return None if index is None else torch.as_tensor(np.asarray(index[i:i + size], dtype=np.int64), device=device)


# spectra handed to the encoder at a time: 16 of its chunks of 512, so that two or more threads stay evenly busy
# (batches of 2048 ran ~7% slower on two threads, measured)
ENCODE_BATCH = 8192


@torch.no_grad()
def encode_spectra(model: SpectrumAutoencoder, counts: np.ndarray, background: np.ndarray,
                   weights: np.ndarray | None = None, batch_size: int = ENCODE_BATCH,
                   instrument: Instrument | None = None, index: np.ndarray | None = None) -> np.ndarray:
    """Latents (N, D) float32 of spectra (N, B) seen through responses ``index`` of ``instrument``, encoded in
    batches on the model's device by the inference path (``core.model.inference``: the same function as
    ``model.encode``, about four times as fast on a CPU; on a CPU its chunks run on torch's thread count)."""
    device = next(model.parameters()).device
    model.eval()
    encoder = EncoderInference(model, threads=torch.get_num_threads() if device.type == "cpu" else 1)
    out = []
    for i in _batches(len(counts), batch_size):
        c, b = (torch.as_tensor(np.array(a[i:i + batch_size], dtype=np.float32), device=device)
                for a in (counts, background))
        w = None if weights is None else torch.as_tensor(np.array(weights[i:i + batch_size], dtype=np.float32),
                                                         device=device)
        out.append(encoder(c, b, w, instrument, _index(index, i, batch_size, device)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.latent_dim), np.float32)


@torch.no_grad()
def counts_shapes(model: SpectrumAutoencoder, latents: np.ndarray, instrument: Instrument | None = None,
                  index: np.ndarray | None = None, batch_size: int = 2048) -> np.ndarray:
    """Decoded source counts shapes (N, B) float32 through each row's response, rows summing to 1."""
    device = next(model.parameters()).device
    model.eval()
    out = [model.counts_shape(torch.as_tensor(np.asarray(latents[i:i + batch_size], dtype=np.float32), device=device),
                              instrument, _index(index, i, batch_size, device)).cpu().numpy()
           for i in _batches(len(latents), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.config.n_bins), np.float32)


@torch.no_grad()
def decode_latents(model: SpectrumAutoencoder, latents: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Decoded source counts shapes (N, B) float32 through the model's reference response, rows summing to 1."""
    device = next(model.parameters()).device
    model.eval()
    out = [model.decode(torch.as_tensor(latents[i:i + batch_size], device=device)).cpu().numpy()
           for i in _batches(len(latents), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.config.n_bins), np.float32)


def reconstruction_errors(shapes: np.ndarray, ds: Dataset, rows: slice = slice(None)) -> np.ndarray:
    """Poisson deviance per bin of the reconstructions ``shapes`` of the spectra ``rows``, (n,) float32."""
    w = None if ds.weights is None else ds.weights[rows]
    counts, background = ds.spectra[rows], ds.background[rows]
    mu = predicted_counts(shapes, counts, background, w)
    return deviance_per_bin(counts, mu, w).astype(np.float32)


@lru_cache(maxsize=2)
def _worker_inputs(run_dir: str, data_dir: str, device: str):
    """The model, the (memory-mapped) dataset and its responses on the model's device, once per process."""
    model, ds = RunFolder(run_dir).load_model(device), load_dataset(Path(data_dir))
    return model, ds, *dataset_instrument(model, ds)


def encode_chunk(task: tuple[str, str, str, int, int, bool, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(latents, reconstruction errors, decoded counts shapes or None) of the dataset rows [start, stop), each
    spectrum seen through its own response."""
    run_dir, data_dir, device, start, stop, want_shapes, refine_steps = task
    model, ds, instrument, index = _worker_inputs(run_dir, data_dir, device)
    rows = slice(start, stop)
    w = None if ds.weights is None else ds.weights[rows]
    idx = None if index is None else index[rows]
    latents = encode_spectra(model, ds.spectra[rows], ds.background[rows], w, instrument=instrument, index=idx)
    latents = refine_latents(model, latents, ds.spectra[rows], ds.background[rows], w, instrument, idx, refine_steps)
    shapes = counts_shapes(model, latents, instrument, idx)
    return latents, reconstruction_errors(shapes, ds, rows), shapes if want_shapes else None


def encode_run(run_dir: Path, data_dir: Path | None = None, reconstructions: bool = False, seed: int = 0,
               device: str = "cpu", progress: bool = False, chunk: int = 65536, workers: int = 1,
               scheduler: str | None = None, refine_steps: int = 0) -> None:
    """Encode a whole dataset (default: the run's own dataset) and write the run's encode files.

    The spectra are encoded in chunks of ``chunk`` rows, serially or on Dask workers (``core.parallel``): the
    latents are the same either way (each spectrum is encoded on its own). Memory stays bounded by a chunk at a
    time, besides the (N, latent_dim) latents and, with ``reconstructions``, the (N, B) float32 decoded shapes.
    ``refine_steps`` > 0: each latent is then refined by maximum likelihood (``core.model.refine``)."""
    run = RunFolder(run_dir)
    model = run.load_model(device)
    ds = load_dataset(Path(data_dir) if data_dir is not None else run.dataset_path())
    if ds.n_bins != model.config.n_bins:
        raise ConfigError(f"{ds.path} has {ds.n_bins} bins per spectrum; the model of {run.path} expects "
                          f"{model.config.n_bins}")
    n = len(ds.catalog)
    tasks = [(str(run.path.resolve()), str(ds.path.resolve()), device, i, min(i + chunk, n), reconstructions,
              refine_steps)
             for i in range(0, n, chunk)]
    parts = run_chunks(encode_chunk, tasks, workers=workers, scheduler=scheduler, desc="encoding",
                       progress=progress)
    latents = np.concatenate([p[0] for p in parts])
    errors = np.concatenate([p[1] for p in parts])
    shapes = np.concatenate([p[2] for p in parts]) if reconstructions else None
    projector = MapProjector(seed=seed, progress=progress).fit(latents)
    quality = {name: map_trustworthiness(latents, xy) for name, xy in projector.maps_.items()}
    run.write_array(LATENTS, latents)
    run.write_array(RECON_ERROR, errors)
    if shapes is not None:
        run.write_array(RECONSTRUCTIONS, shapes)
    else:
        run.remove(RECONSTRUCTIONS)  # never leave one from another encoding
    for name, xy in projector.maps_.items():
        run.write_array(f"map_{name}.npy", xy)
    run.write_bytes(PLACEMENT, projector.to_bytes())
    run.write_json(ENCODED, {
        "dataset": str(ds.path.resolve()), "n": n, "ids_sha256": ids_checksum(ds.catalog["id"]),
        "dataset_sha256": ds.fingerprint, "refine_steps": int(refine_steps), "latent_dim": int(latents.shape[1]),
        "reconstructions": bool(reconstructions), "umap_seed": seed,
        "umap_placement": "weighted k nearest neighbours in latent space (UMAP transform's initialisation)",
        "umap_landmarks": int(len(projector.umap_reference_)),
        "map_trustworthiness": quality,  # k = 10, on a random sample of 5,000 (core.maps.quality)
    })


def encode_into(run_dir: Path, out_dir: Path, data_dir: Path | None = None, overwrite: bool = False,
                **kwargs) -> Path:
    """``encode_run`` into a new run folder ``out_dir``: the model's config, weights and training history are
    copied from ``run_dir`` (not its checkpoint, metrics or encodings), then the dataset is encoded there. The
    run folder is not touched, and the new one appears whole or not at all. The app finds it under ``runs/``."""
    import shutil

    from core.atomic import atomic_dir

    src = RunFolder(run_dir)
    if not src.has(CONFIG) or not src.has(WEIGHTS):
        raise DatasetError(f"{src.path}: no trained model here ({CONFIG} and {WEIGHTS} from `python -m core train`)")
    if Path(out_dir).resolve() == src.path.resolve():
        raise ConfigError(f"--out {out_dir} is the run folder itself: leave --out out to encode in place")
    with atomic_dir(Path(out_dir), overwrite=overwrite) as tmp:
        for name in (CONFIG, WEIGHTS, HISTORY):
            if src.has(name):
                shutil.copy2(src.file(name), tmp / name)
        encode_run(tmp, data_dir if data_dir is not None else src.dataset_path(), **kwargs)
    return Path(out_dir)
