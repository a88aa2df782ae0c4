"""What each catalog column means, for people and for other tools: a readable label, its unit, a one-line
definition and an IVOA UCD. The colour chooser shows the label and unit; the VOTable export writes unit, UCD
and definition into each FIELD, so TOPCAT or Aladin know that ``ra`` is a right ascension in degrees.

Columns not listed get a label made from their name and no unit (``describe`` never fails).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.spectra.spectrum import split_warnings



@dataclass(frozen=True)
class Column:
    label: str
    unit: str = ""  # VOUnit / astropy unit string; "" for dimensionless or text
    ucd: str = ""
    definition: str = ""


_HR = "CSC bands s 0.5-1.2, m 1.2-2.0, h 2.0-7.0 keV; -1 all soft, +1 all hard"
KNOWN: dict[str, Column] = {
    "id": Column("id", ucd="meta.id;meta.main", definition="identifier of the source in this dataset"),
    "name": Column("name", ucd="meta.id", definition="Chandra Source Catalog name (2CXO Jhhmmss.s+ddmmss)"),
    "class": Column("class", ucd="src.class", definition="source class (Yang et al. 2022); 'unlabelled' if none"),
    "predicted_class": Column("predicted class", ucd="src.class",
                              definition="class predicted by a published classifier (not a label)"),
    "split": Column("split", ucd="meta.code", definition="train / val / test partition (fixed by source name)"),
    "ra": Column("right ascension", "deg", "pos.eq.ra;meta.main", "ICRS right ascension"),
    "dec": Column("declination", "deg", "pos.eq.dec;meta.main", "ICRS declination"),
    "counts": Column("total counts", "ct", "phot.count", "all counts of the spectrum on the energy grid"),
    "hard_hm": Column("hardness ratio H-M", "", "phot.color", f"(h - m)/(h + m) from this spectrum; {_HR}"),
    "hard_hs": Column("hardness ratio H-S", "", "phot.color", f"(h - s)/(h + s) from this spectrum; {_HR}"),
    "hard_ms": Column("hardness ratio M-S", "", "phot.color", f"(m - s)/(m + s) from this spectrum; {_HR}"),
    "catalog_hard_hm": Column("catalog hardness H-M", "", "phot.color", "the catalog's (h - m)/(h + m)"),
    "catalog_hard_hs": Column("catalog hardness H-S", "", "phot.color", "the catalog's (h - s)/(h + s)"),
    "catalog_hard_ms": Column("catalog hardness M-S", "", "phot.color", "the catalog's (m - s)/(m + s)"),
    "exposure": Column("exposure", "s", "time.duration;obs.exposure", "exposure time of the observation"),
    "significance": Column("significance (S/N)", "", "stat.snr", "detection signal-to-noise ratio"),
    "recon_error": Column("reconstruction error", "", "stat.fit.goodness",
                          "Poisson deviance per bin between the counts and the autoencoder's reconstruction"),
    "P_intra": Column("variability within an observation", "", "src.var;stat.probability",
                      "probability that the source varies within one observation (P_intra)"),
    "P_inter": Column("variability between observations", "", "src.var;stat.probability",
                      "probability that the source varies between observations (P_inter)"),
    "var_prob_b": Column("variability probability (broad band)", "", "src.var;stat.probability",
                         "CSC probability that the source is variable, 0.5-7 keV"),
    "true_nh": Column("simulated N_H", "10+22cm-2", "phys.absorption.gal",
                      "hydrogen column of the simulated model (simulated data only)"),
    "nh_gal": Column("Galactic N_H", "10+22cm-2", "phys.absorption.gal", "Galactic hydrogen column on this line of sight"),
    "csc_nh": Column("CSC power-law N_H", "10+22cm-2", "phys.absorption", "N_H of the CSC power-law fit"),
    "true_gamma": Column("simulated photon index", "", "spect.index", "photon index of the simulated power law"),
    "csc_gamma": Column("CSC photon index", "", "spect.index", "photon index of the CSC power-law fit"),
    "true_kt": Column("simulated temperature kT", "keV", "phys.temperature", "plasma temperature of the simulated model"),
    "expected_source_counts": Column("expected source counts", "ct", "phot.count",
                                     "source counts the simulation aimed at (before Poisson noise)"),
    "simulated": Column("simulated", "", "meta.code", "true when the counts are simulated, not observed"),
    "labelled": Column("labelled", "", "meta.code", "true when the source has a class label"),
    "response": Column("response", "", "instr.setup", "the Chandra ARF/RMF pair the spectrum went through"),
    "counts_above_10kev": Column("counts above 10 keV", "ct", "phot.count",
                                 "events at >= 10 keV, where the mirrors collect almost no photons: particle "
                                 "background or pile-up (real spectra)"),
    "background_above_10kev": Column("background counts above 10 keV", "ct", "phot.count;instr.background",
                                     "the background's scaled expectation at >= 10 keV (real spectra)"),
    "expected_above_10kev": Column("expected counts above 10 keV", "ct", "phot.count",
                                   "background + the source's own hardest (Gamma = 0) tail at >= 10 keV, "
                                   "without pile-up (real spectra)"),
    "counts_per_frame": Column("counts per frame", "ct", "phot.count",
                               "observed counts x frame time / exposure (under heavy pile-up a lower bound of the "
                               "incident rate); pile-up matters from about 0.1 for a point source (real spectra)"),
    "warnings": Column("reader warnings", "", "meta.note", "what ingest noted reading the file, e.g. possible "
                       "pile-up (real spectra)"),
}
for _b, _band in (("s", "0.5-1.2"), ("m", "1.2-2.0"), ("h", "2.0-7.0")):
    KNOWN[f"area_{_b}"] = Column(f"effective area, {_band} keV", "cm2", "instr.area",
                                 f"mean ARF effective area in the {_band} keV band")
for _m, _name in (("umap", "UMAP"), ("pca", "PC")):
    for _i, _ax in ((1, "x"), (2, "y")):
        KNOWN[f"{_m}_{_ax}"] = Column(f"{_name} {_i}", "", "", f"coordinate {_i} of the {_name} map of the latents")


def describe(column: str) -> Column:
    """The description of a column (a generic one for unknown names; latent axes ``z<k>``)."""
    if column in KNOWN:
        return KNOWN[column]
    m = re.fullmatch(r"z(\d+)", column)
    if m:
        return Column(f"latent axis z{m.group(1)}", "", "", f"coordinate {m.group(1)} of the autoencoder's latent space")
    return Column(column.replace("_", " "))


def label(column: str) -> str:
    """Label with unit, for a chooser or an axis: ``exposure (s)``."""
    d = describe(column)
    return f"{d.label} ({d.unit})" if d.unit else d.label


COLOUR_CLASS = "class"
COLOUR_RECON = "recon_error"


def colour_options(sources: pd.DataFrame) -> dict[str, str]:
    """value -> readable label for the colour chooser: class, reconstruction error, hardness ratios, then the
    other numeric columns (map coordinates and bookkeeping left out)."""
    opts = {COLOUR_CLASS: "class"}
    if COLOUR_RECON in sources and np.isfinite(sources[COLOUR_RECON].to_numpy(dtype=float)).any():
        opts[COLOUR_RECON] = label(COLOUR_RECON)
    numeric = numeric_columns(sources)
    skip = {COLOUR_RECON, "row"} | {c for c in numeric if c.startswith(("umap_", "pca_"))}
    for c in ("hard_hm", "hard_hs", "hard_ms"):
        if c in numeric:
            opts[c] = label(c)
    for c in numeric:
        if c not in opts and c not in skip:
            opts[c] = label(c)
    return opts


def all_positive(values: np.ndarray) -> bool:
    """True when a log scale shows every finite value (all finite values > 0, at least one)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return len(v) > 0 and bool((v > 0).all())


def numeric_columns(sources: pd.DataFrame) -> list[str]:
    """Catalog columns that can colour the map on a continuous scale (numeric, not constant, not bookkeeping)."""
    skip = {"row", "simulated", "labelled"}
    out = []
    for c in sources.columns:
        if c in skip or not pd.api.types.is_numeric_dtype(sources[c]) or pd.api.types.is_bool_dtype(sources[c]):
            continue
        v = sources[c].to_numpy(dtype=float, na_value=np.nan)
        if np.isfinite(v).sum() > 1 and np.nanstd(v) > 0:
            out.append(c)
    return out


def reader_notes(row: pd.Series) -> list[str]:
    """The readers' notes on one real spectrum (catalog ``warnings``, ``core.spectra.spectrum.join_warnings``),
    pile-up first: none for simulated rows or rows without notes."""
    notes = split_warnings(row.get("warnings", ""))
    return sorted(notes, key=lambda n: not n.startswith("possible pile-up"))


def shown_value(value, column: str = "") -> str:
    """A catalog value as a person reads it: floats to 6 significant digits (a hardness ratio of 0.5522388059701492
    reads 0.552239; positions, ``ra``/``dec``, to 1e-6 degrees, finer than Chandra's), NaN and missing as an empty
    cell, everything else as it is."""
    digits = 9 if column in ("ra", "dec") else 6
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{float(value):.{digits}g}"
    return str(value)
