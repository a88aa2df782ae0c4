"""Spectra on a fixed energy grid: the grid and CSC bands (energy), hardness ratios (hardness), Spectrum."""
