"""A selection of catalog rows as downloadable bytes: CSV, VOTable or FITS (astropy does the formats). VOTable
and FITS columns carry units (and the VOTable UCDs and definitions) from ``explorer.logic.columns``."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import astropy.units as u
from astropy.io.votable.tree import Info, Param
from astropy.io.votable import from_table
from astropy.table import Table

from explorer.logic.columns import describe

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
    table = Table(cols)
    for name in table.colnames:
        d = describe(name)
        if d.unit:
            table[name].unit = u.Unit(d.unit, format="vounit")
        if d.ucd:
            table[name].meta["ucd"] = d.ucd
        if d.definition:
            table[name].description = d.definition
    return table


def _votable_bytes(table: Table, meta: dict) -> bytes:
    """A VOTable whose FIELDs carry unit, UCD and definition, with ``meta`` as INFO elements and the
    ``simulated`` flag also as a boolean PARAM that tools can test."""
    vot = from_table(table)
    res, tab = vot.resources[0], vot.resources[0].tables[0]
    for f in tab.fields:  # VOUnit strings as written in columns.py (astropy would write "cm**2")
        if describe(f.name).unit:
            f.unit = describe(f.name).unit
    for key, value in meta.items():
        res.infos.append(Info(name=str(key), value=str(value)))
    if "simulated" in meta:
        tab.params.append(Param(vot, name="simulated", datatype="boolean", value=bool(meta["simulated"]),
                                ucd="meta.code"))
        tab.params[-1].description = ("true: the counts of these sources are simulated from catalog values, "
                                      "not Chandra observations")
    buf = io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()


def to_bytes(df: pd.DataFrame, fmt: str, *, meta: dict | None = None) -> bytes:
    """``df`` written as ``fmt`` (a key of ``FORMATS``); ``meta`` goes into the VOTable/FITS header."""
    if fmt == "CSV":
        return df.to_csv(index=False).encode()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    table = _astropy_table(df)
    if fmt == "VOTable":
        return _votable_bytes(table, dict(meta or {}))
    for key, value in (meta or {}).items():
        table.meta[str(key)[:8].upper() if fmt == "FITS" else str(key)] = value
    buf = io.BytesIO()
    table.write(buf, format="fits")
    return buf.getvalue()


def filename(stem: str, fmt: str) -> str:
    return f"{stem}.{FORMATS[fmt][0]}"


def mime(fmt: str) -> str:
    return FORMATS[fmt][1]
