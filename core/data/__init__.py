"""Data in: the dataset folder (dataset), ingest of real spectra, the data registry (fetch), classes, partition."""
