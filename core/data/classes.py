"""Source classes of the labelled training set (Yang et al. 2022) and the tasks built on them (docs/design.md)."""
from __future__ import annotations

CLASSES: tuple[str, ...] = ("AGN", "CV", "HM-STAR", "LM-STAR", "HMXB", "LMXB", "NS", "YSO")
COMPACT: tuple[str, ...] = ("HMXB", "LMXB", "NS", "CV")  # the stellar-mass compact objects of "AGN vs compact"
UNLABELLED = "unlabelled"  # how a source without a class ("" in the catalog) is shown
