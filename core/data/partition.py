"""A fixed train/validation/test split by source name: the same source lands in the same split in every
dataset and for every seed, so runs compare."""
from __future__ import annotations

import hashlib

import numpy as np

FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}


def split_of(name: str) -> str:
    u = int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big") / 2**64
    if u < FRACTIONS["train"]:
        return "train"
    return "val" if u < FRACTIONS["train"] + FRACTIONS["val"] else "test"


def splits_of(names) -> np.ndarray:
    return np.array([split_of(str(n)) for n in names], dtype=object)
