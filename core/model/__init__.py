"""The transformer autoencoder: configuration, model and checkpoint files."""
from core.model.autoencoder import SpectrumAutoencoder
from core.model.checkpoint import load_model, save_model
from core.model.config import ModelConfig

__all__ = ["ModelConfig", "SpectrumAutoencoder", "load_model", "save_model"]
