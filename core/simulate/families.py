"""Model families of the demo, drawn per source from a class-conditional mixture that follows the literature.

Why mixtures: with one fixed family per class (the first demo), the family alone named the class, and any
feature that could tell a power law from a plasma read the label from the simulation rather than from physics
(measured in issue 8: family + hardness beat the latent). Real classes overlap in spectral shape, so each class
here draws its family, and the family's secondary parameters, from a mixture; unlabelled sources draw from the
mixture of their model-predicted class. The "oracle" feature set (true family one-hot + hardness,
core.evaluation.features) shows how much the family still tells.

Families (every one absorbed by tbabs; "primary" is the parameter inverted from the catalog hardness ratios, the
secondary ones are drawn from the listed values):
- ``powerlaw``: Gamma. ``powerlaw_fe``: + Fe K-alpha 6.4 keV, EW 0.05/0.1/0.2 keV.
- ``powerlaw_bbody``: + blackbody: an AGN soft excess (kT 0.12 keV, 20% / 40% of the 0.5-7 keV photons), a
  neutron-star surface (kT 0.2 keV) or a boundary layer (kT 1 or 2 keV), with 30% / 60% of the photons. One
  family, as a spectral fit would call it (tbabs*(po+bb)), whatever the origin of the blackbody.
- ``powerlaw_diskbb``: + multicolour disk (kT_in 0.5/1.0/1.5 keV) with 30% / 60% of the photons.
- ``powerlaw_scattered`` (only in the ``obscured`` mixtures, ``build-demo --mixtures obscured``; not the
  default, see docs/autoencoder.md, issue 8's fifth pass): an obscured source as Seyfert 2 fits describe it,
  tbabs*po + tbabs_fg*f*po: the spectrum (power law and line) seen through N_H and, with f = 1% / 3% / 10% of
  its unabsorbed 0.5-7 keV photons, scattered around the absorber (or, for a partial coverer, not covered), so
  seen through the foreground column only: the source's Galactic column (``nh_gal``) where the population has
  one, else ``SCATTER_NH`` (3e20 cm-2, high latitude), never more than N_H. The hardness-ratio inversion
  assumes ``SCATTER_NH``. With or without an Fe K-alpha line (EW 0.1 keV). A single absorber on every
  component (the other families) leaves a heavily absorbed source with no soft photons at all, which real
  obscured AGN have (NGC 4258 in ``../shared/data``: this model fits it at deviance 1.01 per bin, N_H 6e22,
  6.5% of its counts scattered; the demo's other families at best 1.72).

Mixtures (weights) and reasons:
- AGN: powerlaw .40, powerlaw_fe .35, powerlaw_bbody (soft excess) .25. Absorbed power laws with Gamma ~1.8-1.9
  describe AGN in the Chandra band; a narrow Fe K-alpha line is common in Seyferts (Nandra et al. 2007, MNRAS
  382, 194) and a soft excess appears in a large fraction of type 1 objects (Piconcelli et al. 2005, A&A 432, 15;
  Scott et al. 2012, MNRAS 422, 2633). With ``obscured``: powerlaw .30, powerlaw_fe .30, powerlaw_bbody .20,
  powerlaw_scattered .20: obscured (Compton-thin) AGN show a scattered soft component of typically 0.5-5%, up
  to ~10% (Turner et al. 1997, ApJS 113, 23; Guainazzi & Bianchi 2007, MNRAS 374, 1290; Ueda et al. 2007, ApJ
  664, L79). It only shows where the inversion gives a high N_H; at low N_H the variant is a plain power law with
  1-10% more flux below ~1 keV.
- CV: plasma2t .45, plasma1t .25, powerlaw_fe .30 (``obscured``: powerlaw_fe .20, powerlaw_scattered .10). The
  X-rays of CVs come from a multi-temperature cooling plasma (Baskill, Wheatley & Osborne 2005, MNRAS 357, 626;
  Mukai 2017, PASP 129, 062001); magnetic CVs are hard, often fitted with power laws at Chandra's counts, with
  6.4 keV fluorescence (Ezuka & Ishida 1999, ApJS 120, 277), often behind a partial-covering absorber (with
  ``obscured``: powerlaw_scattered is that form, covering fraction 1 / (1 + f)).
- HMXB: powerlaw .40, powerlaw_fe .30, powerlaw_bbody .15 (kT 0.2), powerlaw_diskbb .15 (``obscured``: powerlaw
  .30, powerlaw_fe .25, the same two .15, powerlaw_scattered .15). Hard power laws with Fe lines (Walter et al.
  2015, A&ARv 23, 2; Torrejon et al. 2010, ApJ 715, 947), a soft excess in many pulsars (Hickox, Narayan &
  Kallman 2004, ApJ 614, 881), disks in black-hole HMXBs in soft states (Cyg X-1, LMC X-3; Done, Gierlinski &
  Kubota 2007, A&ARv 15, 1); the obscured supergiant systems seen through their donor's wind with a scattered
  soft component (Walter et al. 2015; Torrejon et al. 2010; only with ``obscured``).
- LMXB: powerlaw .35, powerlaw_diskbb .30, powerlaw_bbody .20 (kT 1 or 2) and .15 (kT 0.2). Disk and
  boundary-layer thermal components beside a Comptonised tail (Lin, Remillard & Homan 2007, ApJ 667, 1073; Done
  et al. 2007); quiescent neutron-star LMXBs show a soft thermal atmosphere plus a power law (Rutledge et al.
  2001, ApJ 551, 921; Heinke et al. 2003, ApJ 598, 501).
- NS: bbody .35, powerlaw .35, powerlaw_bbody .30 (kT 0.2). Thermal surface emission, magnetospheric power
  laws, or both (Becker 2009, ASSL 357, 91; Kaspi 2010, PNAS 107, 7147).
- HM-STAR: plasma1t .40, plasma2t .60 (Naze 2009, A&A 506, 1055; Gudel & Naze 2009, A&ARv 17, 309).
- LM-STAR: plasma1t .35, plasma2t .65 (coronae, Gudel 2004, A&ARv 12, 71).
- YSO: plasma1t .30, plasma2t .70 (COUP: Preibisch et al. 2005, ApJS 160, 401, two-temperature fits).
Unlabelled sources use their predicted class: QSO, Seyfert_1/2 -> AGN; Orion_V*, TTau* -> YSO; XB -> LMXB.
These weights are a reasoned simulation choice, not a census: they set how much the family overlaps between
classes, and so how much the oracle can gain.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from core.simulate.invert import GAMMA, LOG_KT, FamilyGrid, invert, make_grid
from core.simulate.models import absorption, thermal
from core.simulate.population import GAMMA_PRIOR, KT_PRIOR

BAND = (0.5, 7.0)  # keV: component fractions are of the unabsorbed photons in this band
SOFT_EXCESS_KT = 0.12
BBODY_KT_PRIOR = 0.25  # keV, centre of the weak prior for a lone blackbody
FE_KALPHA_KEV = 6.4
SCATTER_NH = 0.03  # 1e22 cm-2: the foreground column scattered light sees where the source has no nh_gal (3e20)


@dataclass(frozen=True)
class Variant:
    """A family with its secondary parameters fixed: one inversion grid each."""
    family: str
    fe_ew: float = 0.0  # keV
    second: str = ""  # "bbody", "diskbb", "plasma", "scatter"
    second_kt: float = np.nan  # keV (absolute), or for "plasma" the hot/cool temperature ratio; unused by "scatter"
    fraction: float = 0.0  # of the 0.5-7 keV photons in the second component ("scatter": of the unabsorbed ones)

    @property
    def primary(self) -> str:
        return "gamma" if self.family.startswith("powerlaw") else "kt"


def _variants(family: str, **choices) -> list[Variant]:
    out = [Variant(family)]
    for key, values in choices.items():
        out = [Variant(**{**v.__dict__, key: x}) for v in out for x in values]
    return out


FAMILY_VARIANTS: dict[str, dict[str, list[Variant]]] = {
    "powerlaw": {"": _variants("powerlaw")},
    "powerlaw_fe": {"": _variants("powerlaw_fe", fe_ew=(0.05, 0.1, 0.2))},
    "powerlaw_bbody": {"agn": _variants("powerlaw_bbody", second=("bbody",), second_kt=(SOFT_EXCESS_KT,),
                                        fraction=(0.2, 0.4)),
                       "soft": _variants("powerlaw_bbody", second=("bbody",), second_kt=(0.2,), fraction=(0.3, 0.6)),
                       "hot": _variants("powerlaw_bbody", second=("bbody",), second_kt=(1.0, 2.0), fraction=(0.3, 0.6))},
    "powerlaw_diskbb": {"": _variants("powerlaw_diskbb", second=("diskbb",), second_kt=(0.5, 1.0, 1.5),
                                      fraction=(0.3, 0.6))},
    "bbody": {"": _variants("bbody")},
    "plasma1t": {"": _variants("plasma1t")},
    "plasma2t": {"": _variants("plasma2t", second=("plasma",), second_kt=(3.0, 8.0), fraction=(0.3, 0.6))},
    "powerlaw_scattered": {"": _variants("powerlaw_scattered", fe_ew=(0.0, 0.1), second=("scatter",),
                                         fraction=(0.01, 0.03, 0.1))},
}
# class -> ((family, flavour of its variants), weight)
Mixtures = dict[str, tuple[tuple[tuple[str, str], float], ...]]
MIXTURES: Mixtures = {
    "AGN": ((("powerlaw", ""), .40), (("powerlaw_fe", ""), .35), (("powerlaw_bbody", "agn"), .25)),
    "CV": ((("plasma2t", ""), .45), (("plasma1t", ""), .25), (("powerlaw_fe", ""), .30)),
    "HMXB": ((("powerlaw", ""), .40), (("powerlaw_fe", ""), .30), (("powerlaw_bbody", "soft"), .15),
             (("powerlaw_diskbb", ""), .15)),
    "LMXB": ((("powerlaw", ""), .35), (("powerlaw_diskbb", ""), .30), (("powerlaw_bbody", "hot"), .20),
             (("powerlaw_bbody", "soft"), .15)),
    "NS": ((("bbody", ""), .35), (("powerlaw", ""), .35), (("powerlaw_bbody", "soft"), .30)),
    "HM-STAR": ((("plasma1t", ""), .40), (("plasma2t", ""), .60)),
    "LM-STAR": ((("plasma1t", ""), .35), (("plasma2t", ""), .65)),
    "YSO": ((("plasma1t", ""), .30), (("plasma2t", ""), .70)),
}
# ``build-demo --mixtures obscured``: the same, with obscured sources that show scattered light (issue 8's fifth pass)
MIXTURES_OBSCURED: Mixtures = {
    **MIXTURES,
    "AGN": ((("powerlaw", ""), .30), (("powerlaw_fe", ""), .30), (("powerlaw_bbody", "agn"), .20),
            (("powerlaw_scattered", ""), .20)),
    "CV": ((("plasma2t", ""), .45), (("plasma1t", ""), .25), (("powerlaw_fe", ""), .20),
           (("powerlaw_scattered", ""), .10)),
    "HMXB": ((("powerlaw", ""), .30), (("powerlaw_fe", ""), .25), (("powerlaw_bbody", "soft"), .15),
             (("powerlaw_diskbb", ""), .15), (("powerlaw_scattered", ""), .15)),
}
MIXTURE_SETS: dict[str, Mixtures] = {"default": MIXTURES, "obscured": MIXTURES_OBSCURED}
PREDICTED_TO_CLASS = {"QSO": "AGN", "Seyfert_1": "AGN", "Seyfert_2": "AGN", "Orion_V*": "YSO", "TTau*": "YSO",
                      "XB": "LMXB"}
FAMILIES = tuple(FAMILY_VARIANTS)


def mixture_families(mixtures: Mixtures) -> set[str]:
    """The families a mixture set can draw."""
    return {family for options in mixtures.values() for (family, _), _ in options}


def mixture_class(pop: pd.DataFrame) -> np.ndarray:
    """The class whose mixture a source draws from: its label, else its predicted class mapped to a label."""
    cls = pop["class"].fillna("").astype(str).to_numpy()
    pred = pop["predicted_class"].fillna("").astype(str).map(lambda c: PREDICTED_TO_CLASS.get(c, c)).to_numpy()
    out = np.where(cls != "", cls, pred)
    unknown = sorted(set(out) - set(MIXTURES))
    if unknown:
        raise ValueError(f"no model mixture for class(es) {unknown}")
    return out


def _in_band(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    mid = 0.5 * (lo + hi)
    return (mid >= BAND[0]) & (mid < BAND[1])


def _unit(flux: np.ndarray, band: np.ndarray) -> np.ndarray:
    return flux / np.maximum(flux[:, band].sum(axis=1, keepdims=True), 1e-300)


def bbody_photons(kt: np.ndarray, mid: np.ndarray, width: np.ndarray) -> np.ndarray:
    x = np.clip(mid[None, :] / kt[:, None], 1e-6, 700)
    return mid[None, :] ** 2 / np.expm1(x) * width[None, :]


def diskbb_photons(kt_in: np.ndarray, mid: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Multicolour disk: blackbodies of T(r) ~ r^-3/4 summed over radius, T from kT_in down to kT_in / 100."""
    t = np.geomspace(0.01, 1.0, 40)  # T / T_in
    dlogt = np.log(t[1] / t[0])
    out = np.zeros((len(kt_in), len(mid)))
    for ti in t:  # dN/dE ~ E^2 sum T^(-11/3) / (exp(E/T) - 1) T dlogT, in units of T_in
        out += ti ** (-8.0 / 3.0) * bbody_photons(kt_in * ti, mid, width) * dlogt
    return out


def variant_photons(v: Variant, nh22: np.ndarray, primary: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    foreground: np.ndarray | None = None) -> np.ndarray:
    """Absorbed photons per bin (n, E) of ``v``; ``primary`` is Gamma or kT (keV), per source. ``foreground``
    (1e22 cm-2, per source; None or NaN: ``SCATTER_NH``) is the column that the scattered light of
    ``powerlaw_scattered`` passes through, never more than N_H."""
    mid, width = 0.5 * (lo + hi), hi - lo
    band = _in_band(lo, hi)
    p = np.asarray(primary, dtype=np.float64)
    if v.primary == "gamma":
        raw = mid[None, :] ** (-p[:, None]) * width[None, :]
        norm = 1.0 / np.maximum(raw[:, band].sum(axis=1), 1e-300)
        main = raw * norm[:, None]
        i = np.searchsorted(hi, FE_KALPHA_KEV)
        if v.fe_ew > 0 and 0 <= i < len(lo) and lo[i] <= FE_KALPHA_KEV:  # unresolved line: the RMF broadens it
            main[:, i] += v.fe_ew * FE_KALPHA_KEV ** (-p) * norm  # EW x continuum photons per keV at 6.4 keV
    else:
        main = _unit(bbody_photons(p, mid, width) if v.family == "bbody" else thermal(p, lo, hi), band)
    absorbed = absorption(nh22, mid)
    if v.second == "scatter":  # the intrinsic spectrum (power law and line) seen through the foreground only
        fg = np.full(len(p), SCATTER_NH) if foreground is None else np.asarray(foreground, dtype=np.float64)
        fg = np.minimum(nh22, np.where(np.isfinite(fg), fg, SCATTER_NH))
        return main * absorbed + v.fraction * main * absorption(fg, mid)
    if v.second:
        if v.second == "plasma":
            extra = thermal(p / v.second_kt, lo, hi)
        else:  # a fixed temperature: one spectrum for every source
            comp = {"bbody": bbody_photons, "diskbb": diskbb_photons}[v.second]
            extra = comp(np.array([v.second_kt]), mid, width)
        main = (1 - v.fraction) * main + v.fraction * _unit(extra, band)
    return main * absorbed


@lru_cache(maxsize=64)
def variant_grid(v: Variant) -> FamilyGrid:
    second = GAMMA if v.primary == "gamma" else LOG_KT
    return make_grid(lambda nh, s, lo, hi: variant_photons(v, nh, s if v.primary == "gamma" else 10 ** s, lo, hi),
                     second)


def draw_variants(classes: np.ndarray, rng: np.random.Generator, mixtures: Mixtures = MIXTURES) -> list[Variant]:
    """One variant per source: its family from its class's mixture, then the family's secondary values."""
    out: list[Variant] = []
    u_family, u_variant = rng.random(len(classes)), rng.random(len(classes))
    for c, a, b in zip(classes, u_family, u_variant):
        options, weights = zip(*mixtures[c])
        k = min(int(np.searchsorted(np.cumsum(weights) / sum(weights), a, side="right")), len(options) - 1)
        family, flavour = options[k]
        variants = FAMILY_VARIANTS[family][flavour]
        out.append(variants[min(int(b * len(variants)), len(variants) - 1)])
    return out


VARIANTS: tuple[Variant, ...] = tuple(v for flavours in FAMILY_VARIANTS.values() for vs in flavours.values() for v in vs)
PARAMETER_COLUMNS = ("true_model", "true_variant", "true_nh", "true_gamma", "true_kt", "true_kt2", "true_kt_bb",
                     "true_kt_disk", "true_fe_ew", "true_fraction")


def _primary_prior(v: Variant, pop: pd.DataFrame, classes: np.ndarray) -> np.ndarray:
    if v.primary == "gamma":
        g = pop["csc_gamma"].to_numpy(float)
        return np.where(np.isfinite(g), g, GAMMA_PRIOR)
    if v.family == "bbody":
        return np.full(len(pop), np.log10(BBODY_KT_PRIOR))
    return np.log10(pd.Series(classes).map(KT_PRIOR).fillna(1.0).to_numpy(float))


def fit_parameters(pop: pd.DataFrame, seed: int, mixtures: str = "default") -> pd.DataFrame:
    """Family, variant and parameters per population row (``PARAMETER_COLUMNS``): the family drawn from the
    class mixture (``MIXTURE_SETS[mixtures]``), N_H and Gamma or kT chosen to reproduce the catalog hardness
    ratios (core.simulate.invert)."""
    if mixtures not in MIXTURE_SETS:
        raise ValueError(f"mixtures {mixtures!r}: choose one of {sorted(MIXTURE_SETS)}")
    classes = mixture_class(pop)
    drawn = draw_variants(classes, np.random.default_rng([seed, 4]), MIXTURE_SETS[mixtures])
    vid = np.array([VARIANTS.index(v) for v in drawn])
    rng = np.random.default_rng([seed, 3])
    out = pd.DataFrame(np.nan, index=pop.index, columns=list(PARAMETER_COLUMNS[2:]), dtype=float)
    out.insert(0, "true_variant", vid)
    out.insert(0, "true_model", np.array([v.family for v in drawn], dtype=object))
    targets = pop[["catalog_hard_hm", "catalog_hard_hs", "catalog_hard_ms"]].to_numpy(float)
    energy_flux = (pop["catalog_hr_source"] == "td_energy_flux").to_numpy()
    log_gal = np.log10(pop["nh_gal"].to_numpy(float))
    log_nh_prior = np.log10(pop["csc_nh"].to_numpy(float).clip(1e-4))
    for k in np.unique(vid):
        v, sel = VARIANTS[k], vid == k
        prior = _primary_prior(v, pop.loc[sel], classes[sel])
        log_nh, shape = invert(variant_grid(v), 0.5 if v.primary == "gamma" else 0.3, targets[sel], energy_flux[sel],
                               log_gal[sel], prior, log_nh_prior[sel], rng)
        idx = out.index[sel]
        out.loc[idx, "true_nh"] = 10 ** log_nh
        primary = {"gamma": "true_gamma"}.get(v.primary, "true_kt_bb" if v.family == "bbody" else "true_kt")
        out.loc[idx, primary] = shape if v.primary == "gamma" else 10 ** shape
        if v.fe_ew:
            out.loc[idx, "true_fe_ew"] = v.fe_ew
        if v.second:
            out.loc[idx, "true_fraction"] = v.fraction
        if v.second in ("plasma", "diskbb", "bbody"):
            col = {"plasma": "true_kt2", "diskbb": "true_kt_disk"}.get(v.second, "true_kt_bb")
            out.loc[idx, col] = 10 ** shape / v.second_kt if v.second == "plasma" else v.second_kt
    return out


def model_photons(table: pd.DataFrame, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Absorbed photons per bin (n, E) of rows carrying ``PARAMETER_COLUMNS`` (and ``nh_gal``, 1e22 cm-2, where
    known: the column the scattered light of ``powerlaw_scattered`` sees)."""
    out = np.empty((len(table), len(lo)))
    vid = table["true_variant"].to_numpy(int)
    gal = table["nh_gal"].to_numpy(float) if "nh_gal" in table.columns else np.full(len(table), np.nan)
    for k in np.unique(vid):
        v, sel = VARIANTS[k], vid == k
        col = "true_gamma" if v.primary == "gamma" else ("true_kt_bb" if v.family == "bbody" else "true_kt")
        out[sel] = variant_photons(v, table["true_nh"].to_numpy(float)[sel], table[col].to_numpy(float)[sel], lo, hi,
                                   foreground=gal[sel])
    return out
