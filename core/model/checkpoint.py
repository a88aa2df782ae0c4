"""Model files: ``model.safetensors`` (weights + config in its metadata). Nothing here unpickles.

``checkpoint.pt`` (the resumable training state) is written and read by ``core.run.train`` with
``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from core.atomic import write_bytes_atomic
from core.errors import ConfigError, DatasetError
from core.model.autoencoder import SpectrumAutoencoder
from core.model.config import ModelConfig

WEIGHTS_FILE = "model.safetensors"
FORMAT = "xle-spectrum-autoencoder/1"


def save_model(model: SpectrumAutoencoder, path: Path) -> None:
    """Write the weights and buffers (energy grid included) atomically, with the config in the metadata."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "model_config": model.config.to_json()}
    write_bytes_atomic(Path(path), st_save(tensors, metadata=meta))


def read_weights(path: Path) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no model weights here (train a run with `python -m core train`)")
    data = path.read_bytes()
    from safetensors import safe_open  # metadata only; the tensors are parsed once below

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if "model_config" not in meta:
        raise ConfigError(f"{path}: safetensors metadata has no model_config; not a model written by save_model")
    return ModelConfig.from_dict(json.loads(meta["model_config"])), st_load(data)


def model_from_state(config: ModelConfig, state: dict[str, torch.Tensor]) -> SpectrumAutoencoder:
    model = SpectrumAutoencoder(config, energy_edges=state["energy_edges"].numpy())
    model.load_state_dict(state)
    return model


def load_model(run_dir: Path, device: str = "cpu") -> SpectrumAutoencoder:
    """The best model of a run folder (or a ``.safetensors`` file), in eval mode on ``device``."""
    run_dir = Path(run_dir)
    path = run_dir if run_dir.suffix == ".safetensors" else run_dir / WEIGHTS_FILE
    config, state = read_weights(path)
    return model_from_state(config, state).to(device).eval()
