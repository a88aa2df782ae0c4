"""Build the simulated demo dataset (see docs/design.md, "The demo dataset").

Every source is a real catalog row; its spectrum is simulated: its model family is drawn from its class's
mixture (``families``: literature-based, documented there), its parameters reproduce the source's catalog
hardness ratios (``invert``), the model is folded through one of four real CSC responses, the source counts
follow from its significance given its background, and counts are Poisson-sampled.

The background. Its spectral shape is the real background of the response's observation (a detector property: a
front-illuminated ACIS-I chip and a back-illuminated S3 chip see different particle backgrounds). Its level is
drawn per source, independently of the response (``background_level``): the background counts in a source's
extraction region are surface brightness x region area x exposure, and the last two belong to the source (the
region grows with the PSF, ~100x in area from on-axis to 10' off-axis; CSC exposures span 1 ks to 1 Ms), not to
which of four observations lent the response. Before, each response carried its own observation's fixed level
(1.0, 3.8, 31 and 255 counts), so the background fraction alone named the response (balanced accuracy 0.99), a
cue no real spectrum gives. The level is log-uniform over the span of those four real levels.
Deterministic: the same seed gives the same bytes (random streams are keyed by seed and chunk, never by timing).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

import core
from core.data.dataset import DatasetFolderWriter
from core.data.responses import ResponseCollector
from core.spectra.energy import EnergyGrid
from core.simulate.families import fit_parameters, model_photons
from core.simulate.population import draw_significance, load_population
from core.simulate.responses import load_csc_responses
from core.spectra.hardness import hardness_matrix
from core.data.partition import splits_of

CHUNK = 4096
MIN_SIGNIFICANCE = 2.0
BACKGROUND_COUNTS = (1.0, 255.0)  # expected background counts in the source region: the four real levels' span
SIMULATED_NOTE = ("SIMULATED: counts are simulated from real catalog values (hardness ratios, significance, "
                  "CSC fits) folded through real Chandra responses; they are not observed spectra.")


def source_counts(significance: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Expected source counts S with S / sqrt(S + B) equal to the significance (S/N at least 2)."""
    s2 = np.clip(significance, MIN_SIGNIFICANCE, None) ** 2
    return 0.5 * (s2 + np.sqrt(s2 ** 2 + 4 * s2 * background))


def background_level(n: int, rng: np.random.Generator) -> np.ndarray:
    """Expected background counts (n,) in each source's region, log-uniform over ``BACKGROUND_COUNTS``, drawn
    without looking at the response (see the module docstring)."""
    lo, hi = np.log(BACKGROUND_COUNTS)
    return np.exp(rng.uniform(lo, hi, n))


def build_demo(out: Path, seed: int = 0, n: int | None = None, grid: EnergyGrid | None = None,
               overwrite: bool = False, progress: bool = True, mixtures: str = "default") -> Path:
    grid = grid or EnergyGrid()
    responses = load_csc_responses(grid)
    pop = load_population()
    pop["significance"] = draw_significance(pop, np.random.default_rng([seed, 1]))
    pop = pd.concat([pop, fit_parameters(pop, seed, mixtures)], axis=1)
    if n is None:
        rows = pop.reset_index(drop=True)
        ids = rows["name"].to_numpy(dtype=object)
    else:
        if n < 1:
            raise ValueError(f"--n {n}: need at least one spectrum")
        draw = np.random.default_rng([seed, 2]).integers(0, len(pop), n)
        rows = pop.iloc[draw].reset_index(drop=True)
        ids = np.array([f"{name}#{i}" for i, name in enumerate(rows["name"])], dtype=object)
    total = len(rows)
    resp_index = np.empty(total, dtype=int)
    counts_col = np.empty(total, dtype=np.int64)
    hr = np.empty((total, 3))
    expected_src = np.empty(total)
    expected_bkg = np.empty(total)
    e_lo, e_hi = responses[0].energy_lo, responses[0].energy_hi
    with DatasetFolderWriter(out, total, grid.n_bins, with_truth=True, overwrite=overwrite) as w:
        chunks = range(0, total, CHUNK)
        for ci, start in enumerate(tqdm(chunks, desc="simulating spectra", unit="chunk", disable=not progress,
                                        file=sys.stderr)):
            sl = slice(start, min(start + CHUNK, total))
            part = rows.iloc[sl]
            rng = np.random.default_rng([seed, 100, ci])
            r_idx = rng.integers(0, len(responses), len(part))
            level = background_level(len(part), np.random.default_rng([seed, 101, ci]))
            photons = model_photons(part, e_lo, e_hi)  # (c, E)
            truth = np.empty((len(part), grid.n_bins))
            bkg_exp = np.empty_like(truth)
            bkg_ratio = np.empty(len(part))
            for k, resp in enumerate(responses):
                sel = r_idx == k
                folded = photons[sel] @ resp.matrix  # (c_k, B)
                truth[sel] = folded / folded.sum(1, keepdims=True)
                bkg_exp[sel] = resp.background / resp.background.sum()
                bkg_ratio[sel] = resp.background_ratio
            bkg_exp *= level[:, None]
            s = source_counts(part["significance"].to_numpy(float), bkg_exp.sum(1))
            truth *= s[:, None]
            counts = rng.poisson(truth + bkg_exp)
            background = rng.poisson(bkg_exp / bkg_ratio[:, None]) * bkg_ratio[:, None]
            w.spectra[sl] = counts
            w.background[sl] = background
            w.truth[sl] = truth
            area = {b: np.array([r.band_area[b] for r in responses])[r_idx] for b in ("s", "m", "h")}
            hr[sl] = hardness_matrix(counts, grid.edges, background, band_area=area)
            counts_col[sl] = counts.sum(1)
            resp_index[sl] = r_idx
            expected_src[sl] = s
            expected_bkg[sl] = level
        table = rows.copy()
        table.insert(0, "id", ids)
        table["split"] = splits_of(table["name"])
        table["counts"] = counts_col
        table["hard_hm"], table["hard_hs"], table["hard_ms"] = hr.T
        table["exposure"] = np.array([r.exposure for r in responses])[resp_index]
        table["response"] = np.array([r.name for r in responses], dtype=object)[resp_index]
        for b in ("s", "m", "h"):
            table[f"area_{b}"] = np.array([r.band_area[b] for r in responses])[resp_index]
        table["expected_source_counts"] = expected_src
        table["expected_background_counts"] = expected_bkg
        table["simulated"] = True
        info = {
            "simulated": True, "kind": "demo", "note": SIMULATED_NOTE, "seed": seed, "n": total,
            "n_requested": n, **({} if mixtures == "default" else {"mixtures": mixtures}),  # default: bytes as before
            "grid": grid.to_dict(), "responses": [r.name for r in responses],
            "catalogs": ["catalogs/muwclass_cscv2_td.csv", "catalogs/muwclass_cscv2_td_ave.csv",
                         "catalogs/umlcaxs_uniquely_classified.csv", "catalogs/tbabs.data"],
            "columns": {"catalog_hard_*": "the targets: CSC hardness ratios (photon flux) for unlabelled sources, "
                                          "ratios of the Yang et al. band energy fluxes for labelled ones "
                                          "(catalog_hr_source says which)",
                        "hard_*": "from the simulated counts: background-subtracted band counts on the grid, "
                                  "each divided by the band's mean ARF (area_s/m/h, cm2)"},
            "software": {"core": core.__version__, "numpy": np.__version__},
        }
        stored = ResponseCollector(grid.edges)  # each row's response, for the instrument-aware model
        order = [stored.add_folded(r.name, r.photon_arf, r.photon_rmf) for r in responses]
        w.finish(table, grid.edges, info, stored.build(np.asarray(order)[resp_index]))
    return Path(out)
