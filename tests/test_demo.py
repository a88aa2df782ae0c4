"""build-demo: the simulated demo dataset reproduces its sources' real hardness ratios, is deterministic,
has the dataset schema, and scales to large --n without a second in-memory copy of the spectra."""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from core.data.dataset import REQUIRED_COLUMNS, load_dataset
from core.spectra.energy import EnergyGrid
from core.simulate.demo import build_demo
from core.simulate.families import (FAMILIES, MIXTURES, SCATTER_NH, VARIANTS, mixture_class, mixture_families,
                                    variant_photons)
from core.simulate.models import absorption, powerlaw, thermal
from core.simulate.responses import load_csc_responses
from core.data.partition import split_of

CLASSES = {"AGN", "CV", "HM-STAR", "LM-STAR", "HMXB", "LMXB", "NS", "YSO"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo", seed=0, progress=False)


def test_demo_schema_and_population(demo):
    d = load_dataset(demo)
    t = d.catalog
    assert set(REQUIRED_COLUMNS) <= set(t.columns)
    assert d.simulated and d.info["simulated"] is True and "SIMULATED" in d.info["note"]
    assert t["simulated"].all()
    # every labelled source of the Yang et al. table, plus the umlcaxs sources not already labelled
    assert t["labelled"].sum() == 2941
    assert 10_500 < len(t) < 11_300
    assert set(t.loc[t["labelled"], "class"]) == CLASSES
    assert (t.loc[~t["labelled"], "class"] == "").all()
    assert (t.loc[~t["labelled"], "predicted_class"] != "").all()
    assert t["id"].is_unique
    assert set(t["split"]) == {"train", "val", "test"}
    assert d.spectra.shape == d.truth.shape == d.background.shape == (len(t), EnergyGrid().n_bins)
    np.testing.assert_array_equal(d.spectra.sum(1), t["counts"].to_numpy())
    assert np.all(d.spectra == np.round(d.spectra)) and np.all(d.spectra >= 0)
    assert np.all(d.truth >= 0) and np.all(d.truth.sum(1) > 0)
    # parameters stored for every source; families drawn from class mixtures, so no class has a single family
    # and no family names a class (core/simulate/families.py)
    assert set(t["true_model"]) == mixture_families(MIXTURES) == set(FAMILIES) - {"powerlaw_scattered"}
    has_pl = t["true_model"].str.startswith("powerlaw")
    assert t.loc[has_pl, "true_gamma"].notna().all() and t.loc[~has_pl, "true_gamma"].isna().all()
    plasma = t["true_model"].str.startswith("plasma")
    assert t.loc[plasma, "true_kt"].notna().all() and t.loc[~plasma, "true_kt"].isna().all()
    assert t.loc[t["true_model"] == "plasma2t", "true_kt2"].notna().all()
    assert t.loc[t["true_model"] == "bbody", "true_kt_bb"].notna().all()
    assert (t.loc[t["true_model"] == "powerlaw_fe", "true_fe_ew"] > 0).all()
    lab = t[t["labelled"]]
    per_class = lab.groupby("class")["true_model"].nunique()
    assert (per_class >= 2).all(), per_class
    assert set(lab.loc[lab["class"] == "AGN", "true_model"]) == {"powerlaw", "powerlaw_fe", "powerlaw_bbody"}
    assert {"plasma1t", "plasma2t", "powerlaw_fe"} == set(lab.loc[lab["class"] == "CV", "true_model"])
    assert "mixtures" not in d.info  # the default mixtures (build-demo --mixtures obscured adds scattered light)
    # families are shared between classes: a family alone does not name the class
    assert (lab.groupby("true_model")["class"].nunique().drop(["bbody"]) >= 2).all()
    assert set(lab.loc[lab["class"] == "YSO", "true_model"]) == {"plasma1t", "plasma2t"}
    # unlabelled sources draw from the mixture of their predicted class
    unl = t[~t["labelled"]]
    assert set(unl.loc[unl["predicted_class"] == "TTau*", "true_model"]) <= {"plasma1t", "plasma2t"}
    assert set(unl.loc[unl["predicted_class"] == "QSO", "true_model"]) <= {"powerlaw", "powerlaw_fe",
                                                                           "powerlaw_bbody"}
    assert t["response"].nunique() == 4


@pytest.mark.parametrize("source", ["csc_photon_flux", "td_energy_flux"])
@pytest.mark.parametrize("ratio", ["hard_hm", "hard_ms"])
def test_demo_reproduces_catalog_hardness(demo, source, ratio):
    """Spearman >= 0.8 between ratios from simulated counts and the catalog's, for sources with >= 100 counts.

    Checked per catalog: the CSC's ratios are of photon fluxes, those of the labelled set come from the Yang et
    al. band energy fluxes; the two scales are not the same quantity, so they are not pooled."""
    t = load_dataset(demo).catalog
    sel = (t["counts"] >= 100) & (t["catalog_hr_source"] == source) & t[ratio].notna() & t[f"catalog_{ratio}"].notna()
    assert sel.sum() > 1000
    rho = spearmanr(t.loc[sel, ratio], t.loc[sel, f"catalog_{ratio}"]).statistic
    assert rho >= 0.8, f"{source} {ratio}: Spearman {rho:.3f}"


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = build_demo(tmp_path / "a", seed=3, n=1500, progress=False)
    b = build_demo(tmp_path / "b", seed=3, n=1500, progress=False)
    c = build_demo(tmp_path / "c", seed=4, n=1500, progress=False)
    for name in ("catalog.parquet", "spectra.npy", "background.npy", "truth.npy", "dataset.json", "energy_edges.npy"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "spectra.npy").read_bytes() != (c / "spectra.npy").read_bytes()


def test_split_is_fixed_by_source_name(tmp_path):
    d = load_dataset(build_demo(tmp_path / "n", seed=5, n=2000, progress=False)).catalog
    assert all(split_of(n) == s for n, s in zip(d["name"], d["split"]))
    # --n draws some sources several times (ids name#i differ): every draw of a source lands on the same side
    repeated = d.groupby("name").filter(lambda g: len(g) > 1)
    assert repeated["name"].nunique() > 50
    assert (repeated.groupby("name")["split"].nunique() == 1).all()
    counts = d["split"].value_counts(normalize=True)
    assert 0.6 < counts["train"] < 0.8 and 0.1 < counts["test"] < 0.2


def test_large_n_keeps_one_copy_of_spectra_at_most(tmp_path):
    """Heap growth from --n 20,000 to --n 220,000 stays below the size of one spectra array at 220,000: the
    arrays go to memory maps chunk by chunk and are never gathered in memory."""
    load_csc_responses(EnergyGrid())  # warm caches so they do not count
    build_demo(tmp_path / "warm", n=100, progress=False)
    peaks = {}
    for n in (20_000, 220_000):
        tracemalloc.start()
        build_demo(tmp_path / f"n{n}", n=n, progress=False)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    one_copy = 220_000 * EnergyGrid().n_bins * 4
    assert peaks[220_000] - peaks[20_000] < one_copy, (peaks, one_copy)
    assert load_dataset(tmp_path / "n220000").spectra.shape[0] == 220_000


def test_models_behave_physically():
    lo = np.linspace(0.3, 9.3, 901)[:-1]
    hi = lo + 0.01
    mid = 0.5 * (lo + hi)
    soft, hard = mid < 1.2, mid > 2.0
    # absorption removes soft photons first
    ab = absorption(np.array([0.01, 1.0, 10.0]), mid)
    assert np.all(np.diff(ab[:, soft].mean(1)) < 0) and ab[:, hard].mean(1)[2] > ab[:, soft].mean(1)[2]
    # steeper power law is softer
    pl = powerlaw(np.array([1.0, 3.0]), lo, hi)
    ratio = pl[:, hard].sum(1) / pl[:, soft].sum(1)
    assert ratio[0] > ratio[1]
    # hot plasma is harder and shows Fe XXV at 6.7 keV; cool plasma has its lines below 1 keV
    th = thermal(np.array([0.3, 8.0]), lo, hi)
    fe = np.searchsorted(hi, 6.7)
    assert th[1, fe] > 1.5 * th[1, fe - 3]
    assert th[0, hard].sum() / th[0].sum() < th[1, hard].sum() / th[1].sum()


def test_build_demo_cli(tmp_path, capsys):
    """The command in this process (its model grids are cached per process: a subprocess spent ~20 s on them;
    test_cli runs `python -m core` itself)."""
    from core.cli import main

    out = tmp_path / "cli"
    assert main(["build-demo", "--out", str(out), "--n", "300", "--seed", "1"]) == 0
    assert "SIMULATED" in capsys.readouterr().out
    assert load_dataset(out).catalog.shape[0] == 300
    assert main(["build-demo", "--out", str(out), "--n", "300"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_family_components_behave_physically():
    lo = np.linspace(0.3, 9.3, 1801)[:-1]
    hi = lo + 0.005
    mid = 0.5 * (lo + hi)
    nh, gamma = np.array([0.01]), np.array([1.8])
    plain = variant_photons(VARIANTS[0], nh, gamma, lo, hi)[0]  # the plain power law
    fe = variant_photons(next(v for v in VARIANTS if v.fe_ew == 0.2), nh, gamma, lo, hi)[0]
    line = fe - plain
    assert mid[np.argmax(line)] == pytest.approx(6.4, abs=0.01)
    # equivalent width: line photons / continuum photons per keV at 6.4 keV
    i = np.argmax(line)
    assert line.sum() / (plain[i] / (hi[i] - lo[i])) == pytest.approx(0.2, rel=0.02)
    soft = variant_photons(next(v for v in VARIANTS if v.second == "bbody" and v.second_kt == 0.12
                                and v.fraction == 0.4), nh, gamma, lo, hi)[0]
    band = (mid >= 0.5) & (mid < 7.0)
    assert soft[band].sum() == pytest.approx(plain[band].sum(), rel=0.02)  # both unit photon flux in 0.5-7 keV
    assert soft[mid < 1].sum() > 1.3 * plain[mid < 1].sum()  # the soft excess adds soft photons
    disk_cool = variant_photons(next(v for v in VARIANTS if v.second == "diskbb" and v.second_kt == 0.5
                                     and v.fraction == 0.6), nh, np.array([3.0]), lo, hi)[0]
    disk_hot = variant_photons(next(v for v in VARIANTS if v.second == "diskbb" and v.second_kt == 1.5
                                    and v.fraction == 0.6), nh, np.array([3.0]), lo, hi)[0]
    assert disk_hot[mid > 2].sum() > disk_cool[mid > 2].sum()
    two_t = variant_photons(next(v for v in VARIANTS if v.family == "plasma2t" and v.second_kt == 8.0
                                 and v.fraction == 0.6), nh, np.array([4.0]), lo, hi)[0]
    one_t = variant_photons(next(v for v in VARIANTS if v.family == "plasma1t"), nh, np.array([4.0]), lo, hi)[0]
    assert two_t[mid < 1].sum() > 1.5 * one_t[mid < 1].sum()  # the cool component


def test_scattered_component_sees_only_the_galactic_column():
    """An obscured AGN (powerlaw_scattered, tbabs*po + tbabs_fg*f*po): below 1 keV the direct power law is gone
    and what is left is f times the intrinsic power law through the foreground column (SCATTER_NH, or the
    source's own Galactic column when given, never more than N_H); above 5 keV it is the plain absorbed power law
    plus that scattered light."""

    lo = np.linspace(0.3, 9.3, 1801)[:-1]
    hi = lo + 0.005
    mid = 0.5 * (lo + hi)
    nh, gamma = np.array([10.0]), np.array([1.8])
    f = 0.03
    scat = variant_photons(next(v for v in VARIANTS if v.family == "powerlaw_scattered" and v.fraction == f
                                and v.fe_ew == 0), nh, gamma, lo, hi)[0]
    plain = variant_photons(VARIANTS[0], nh, gamma, lo, hi)[0]
    intrinsic = variant_photons(VARIANTS[0], np.array([0.0]), gamma, lo, hi)[0]
    soft = mid < 1.0
    assert plain[soft].sum() < 1e-6 * intrinsic[soft].sum()
    hard = mid > 5.0
    seen_through_galaxy = intrinsic * absorption(np.array([SCATTER_NH]), mid)[0]
    assert scat[soft].sum() == pytest.approx(f * seen_through_galaxy[soft].sum(), rel=1e-3)
    np.testing.assert_allclose(scat[hard], plain[hard] + f * seen_through_galaxy[hard], rtol=1e-9)
    # the source's own Galactic column, where known, absorbs the scattered light instead
    v = next(v for v in VARIANTS if v.family == "powerlaw_scattered" and v.fraction == f and v.fe_ew == 0)
    own = variant_photons(v, nh, gamma, lo, hi, foreground=np.array([0.5]))[0]
    through_own = intrinsic * absorption(np.array([0.5]), mid)[0]
    assert own[soft].sum() == pytest.approx(f * through_own[soft].sum(), rel=1e-3)
    assert own[soft].sum() < 0.2 * scat[soft].sum()
    unknown = variant_photons(v, nh, gamma, lo, hi, foreground=np.array([np.nan]))[0]
    np.testing.assert_array_equal(unknown, scat)
    # a column below the foreground one is not raised by the scattered light: then it is the plain power law x (1 + f)
    thin = np.array([0.01])
    np.testing.assert_allclose(variant_photons(next(v for v in VARIANTS if v.family == "powerlaw_scattered"
                                                    and v.fraction == f and v.fe_ew == 0), thin, gamma, lo, hi)[0],
                               (1 + f) * variant_photons(VARIANTS[0], thin, gamma, lo, hi)[0], rtol=1e-12)


def test_obscured_mixtures_add_scattered_sources_to_agn_cv_and_hmxb_only(tmp_path):
    """``build-demo --mixtures obscured``: powerlaw_scattered appears, drawn only by the classes whose mixture has
    it, with its secondary values; the dataset says which mixtures it used; an unknown name is refused."""
    out = build_demo(tmp_path / "obscured", n=3000, mixtures="obscured", progress=False)
    d = load_dataset(out)
    t = d.catalog
    assert d.info["mixtures"] == "obscured" and d.simulated
    scattered = (t["true_model"] == "powerlaw_scattered").to_numpy()
    assert 0.05 < scattered.mean() < 0.3
    assert set(mixture_class(t[scattered])) <= {"AGN", "CV", "HMXB"}
    assert t.loc[scattered, "true_fraction"].isin([0.01, 0.03, 0.1]).all()
    assert t.loc[scattered, "true_gamma"].notna().all()
    assert t.loc[scattered, ["true_kt_bb", "true_kt_disk", "true_kt2"]].isna().all().all()
    assert set(t["true_model"]) - {"powerlaw_scattered"} <= mixture_families(MIXTURES)
    with pytest.raises(ValueError, match="mixtures 'nope'"):
        build_demo(tmp_path / "bad", n=10, mixtures="nope", progress=False)


def test_background_level_does_not_name_the_response(demo):
    """The background counts in a source's region are drawn per source, not per response (core/simulate/demo.py):
    every response spans the same levels, and the dataset's background follows each row's drawn level."""
    from scipy.stats import kruskal

    from core.simulate.demo import BACKGROUND_COUNTS

    d = load_dataset(demo)
    t = d.catalog
    level = t["expected_background_counts"].to_numpy()
    assert BACKGROUND_COUNTS[0] <= level.min() and level.max() <= BACKGROUND_COUNTS[1]
    groups = [np.log(level[t["response"] == r]) for r in sorted(t["response"].unique())]
    assert len(groups) == 4 and kruskal(*groups).pvalue > 0.001
    for g in groups:  # each response sees faint and bright backgrounds alike
        assert abs(np.median(g) - np.median(np.log(level))) < 0.2 and g.min() < np.log(3) and g.max() > np.log(80)
    # the stored background is a Poisson draw around the drawn level
    bkg = np.asarray(d.background, dtype=np.float64).sum(axis=1)
    assert spearmanr(bkg, level).correlation > 0.95
