"""``ingest --catalog``: a table of sources matched to the ingested spectra by ``name``, read before any spectrum
(a table that cannot serve is refused at once, not after every file was read)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import XLEError


def read_catalog(catalog_path: Path) -> pd.DataFrame:
    """The table ``--catalog`` names, indexed by ``name``; read before any spectrum, so that a table that cannot
    serve is refused at once rather than after every file was read."""
    catalog_path = Path(catalog_path)
    try:
        cat = pd.read_parquet(catalog_path) if catalog_path.suffix == ".parquet" else pd.read_csv(catalog_path)
    except (OSError, ValueError) as exc:  # missing, unreadable, not a table
        raise XLEError(f"{catalog_path}: the catalog cannot be read ({type(exc).__name__}: {exc})") from None
    if "name" not in cat.columns:
        raise XLEError(f"{catalog_path}: a catalog for ingest needs a 'name' column to match spectra on")
    return cat.drop_duplicates("name").set_index("name")


def join_catalog(table: pd.DataFrame, cat: pd.DataFrame) -> pd.DataFrame:
    """Copy ``class`` and ``hard_hm/hs/ms`` (as ``catalog_hard_*``) from ``read_catalog``'s table on ``name``."""
    for src, dst in (("class", "class"), ("hard_hm", "catalog_hard_hm"), ("hard_hs", "catalog_hard_hs"),
                     ("hard_ms", "catalog_hard_ms")):
        if src in cat.columns:
            matched = table["name"].map(cat[src])
            table[dst] = matched.fillna("" if dst == "class" else np.nan).to_numpy()
    return table
