"""A selection of catalog rows as downloadable bytes: CSV, VOTable or FITS (astropy does the formats)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from astropy.table import Table

FORMATS = {"CSV": ("csv", "text/csv"),
           "VOTable": ("vot", "application/x-votable+xml"),
           "FITS": ("fits", "application/fits")}


def _astropy_table(df: pd.DataFrame) -> Table:
    """Columns astropy can write: numbers and booleans kept, everything else (lists, objects) as text."""
    cols = {}
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s):
            cols[str(name)] = s.to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(s) and not s.isna().any():
            cols[str(name)] = s.to_numpy(dtype=np.int64)
        elif pd.api.types.is_numeric_dtype(s):
            cols[str(name)] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            cols[str(name)] = np.array(["" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                                        for v in s], dtype=str)
    return Table(cols)


def to_bytes(df: pd.DataFrame, fmt: str, *, meta: dict | None = None) -> bytes:
    """``df`` written as ``fmt`` (a key of ``FORMATS``); ``meta`` goes into the VOTable/FITS header."""
    if fmt == "CSV":
        return df.to_csv(index=False).encode()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    table = _astropy_table(df)
    for key, value in (meta or {}).items():
        table.meta[str(key)[:8].upper() if fmt == "FITS" else str(key)] = value
    buf = io.BytesIO()
    if fmt == "VOTable":
        table.write(buf, format="votable")
    else:
        table.write(buf, format="fits")
    return buf.getvalue()


def filename(stem: str, fmt: str) -> str:
    return f"{stem}.{FORMATS[fmt][0]}"


def mime(fmt: str) -> str:
    return FORMATS[fmt][1]
