"""Measures on arrays: reconstruction measures, baselines, feature sets, classification protocols."""
