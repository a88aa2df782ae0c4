"""The demo population: one row per real catalog source, with the targets the simulation must reproduce.

Labelled sources: every row of ``muwclass_cscv2_td.csv`` (Yang et al. 2022), joined on name to the CSC columns
of ``muwclass_cscv2_td_ave.csv`` (Galactic N_H, the CSC power-law fit). Their hardness-ratio targets are computed
from the catalog's band energy fluxes Fh, Fm, Fs (``catalog_hr_source = "td_energy_flux"``).
Unlabelled sources: ``umlcaxs_uniquely_classified.csv`` (Perez-Diaz et al. 2024) minus the labelled ones; their
targets are the CSC hard_hm, hard_hs, hard_ms, computed from photon fluxes (``"csc_photon_flux"``); their
model-predicted class is kept in ``predicted_class``, never in ``class``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.spectra.hardness import hardness_ratio
from core.data.fetch import fetch

# Weak priors (centre of the parameter the HR fit leans to when hardness ratios leave it free).
KT_PRIOR = {"HM-STAR": 0.6, "LM-STAR": 0.5, "YSO": 2.0, "CV": 10.0}
GAMMA_PRIOR = 1.8


def load_population() -> pd.DataFrame:
    td = pd.read_csv(fetch("catalogs/muwclass_cscv2_td.csv"))
    ave = pd.read_csv(fetch("catalogs/muwclass_cscv2_td_ave.csv")).set_index("name")
    lab = pd.DataFrame({
        "name": td["CSCv2_name"], "ra": td["CSCv2_RA"], "dec": td["CSCv2_DEC"], "class": td["True_Class"],
        "labelled": True, "predicted_class": td["Class"].fillna(""), "significance": td["CSCv2_S/N"],
        "significance_source": "CSCv2_S/N", "P_intra": td["P_intra"], "P_inter": td["P_inter"],
        "catalog_hard_hm": hardness_ratio(td["Fh"], td["Fm"]), "catalog_hard_hs": hardness_ratio(td["Fh"], td["Fs"]),
        "catalog_hard_ms": hardness_ratio(td["Fm"], td["Fs"]), "catalog_hr_source": "td_energy_flux",
    })
    lab["nh_gal"] = lab["name"].map(ave["nh_gal"]) / 100.0  # 1e20 -> 1e22 cm-2
    lab["csc_gamma"] = lab["name"].map(ave["powlaw_gamma_mean"])
    lab["csc_nh"] = lab["name"].map(ave["powlaw_nh_mean"]) / 100.0

    um = pd.read_csv(fetch("catalogs/umlcaxs_uniquely_classified.csv"))
    um = um[~um["name"].isin(set(lab["name"]))]
    unl = pd.DataFrame({
        "name": um["name"], "ra": um["ra"], "dec": um["dec"], "class": "", "labelled": False,
        "predicted_class": um["master_class"], "significance": np.nan,
        "significance_source": "drawn from labelled sources with S/N > 5",
        "P_intra": np.nan, "P_inter": np.nan,
        "catalog_hard_hm": um["hard_hm"], "catalog_hard_hs": um["hard_hs"], "catalog_hard_ms": um["hard_ms"],
        "catalog_hr_source": "csc_photon_flux", "nh_gal": np.nan, "csc_gamma": um["powlaw_gamma"],
        "csc_nh": np.nan, "var_prob_b": um["var_prob_b"],
    })
    pop = pd.concat([lab, unl], ignore_index=True)
    return pop


def draw_significance(pop: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Unlabelled sources (CSC flux significance > 5, no S/N in their table) get an S/N drawn from the labelled
    sources above 5; labelled ones keep their own."""
    sig = pop["significance"].to_numpy(dtype=float).copy()
    pool = sig[pop["labelled"].to_numpy() & (sig > 5)]
    missing = ~np.isfinite(sig)
    sig[missing] = rng.choice(pool, size=int(missing.sum()))
    return sig
