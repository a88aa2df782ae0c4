"""X-ray Latent Explorer core: readers, datasets, the autoencoder, maps and metrics. Never imports streamlit."""
__version__ = "0.1.0"
