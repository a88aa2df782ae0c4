"""The simulated demo dataset: real catalog values and real responses, simulated counts (labelled as such)."""
