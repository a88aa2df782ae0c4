"""explorer.logic: the Streamlit-free helpers behind the explorer pages, on a tiny real run (real train/encode)."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.io.votable import parse_single_table

from core.errors import DatasetError, SpectrumError
from core.run.folder import RunFolder
from explorer.logic import columns, export, filters, links, live, runs, spectra, upload
from explorer.logic.neighbours import LatentIndex, neighbour_table, outlier_ranking
from tests.explore_support import session_run


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    return session_run(tmp_path_factory)


@pytest.fixture(scope="session")
def view(tiny):
    return runs.load_run(tiny[1])


# ---- runs ---------------------------------------------------------------------------------------------------
def test_load_run_joins_catalog_latents_maps_and_errors(view, tiny):
    s = view.sources
    n = len(view.dataset.catalog)
    assert len(s) == n and view.latents.shape == (n, 8)
    assert list(s["row"]) == list(range(n))
    for col in ("z0", "z7", "umap_x", "umap_y", "pca_x", "pca_y", "recon_error"):
        assert col in s and np.isfinite(s[col]).all(), col
    np.testing.assert_allclose(s["z3"], view.latents[:, 3], rtol=1e-6)
    np.testing.assert_allclose(s[["umap_x", "umap_y"]], np.load(tiny[1] / "map_umap.npy"), rtol=1e-6)
    assert view.simulated and view.notes == []
    assert view.row_of(s["id"].iloc[17]) == 17
    with pytest.raises(KeyError):
        view.row_of("no-such-id")
    assert view.id_of(23) == str(s["id"].iloc[23]) and view.row_of(s["id"].iloc[23]) == 23
    assert [view.row_of(i) for i in s["id"].iloc[[5, 3, 5, 9]]] == [5, 3, 5, 9]  # looked up again: remembered


def test_row_lookups_remember_a_bounded_number_of_ids(tiny, monkeypatch):
    view = runs.load_run(tiny[1])
    monkeypatch.setattr(runs, "MEMO_IDS", 4)
    ids = view.sources["id"].astype(str)
    assert [view.row_of(ids.iloc[i]) for i in range(10)] == list(range(10))
    assert view.id_of(12) == ids.iloc[12] and view.row_of(ids.iloc[12]) == 12
    assert len(view.__dict__["_rows_by_id"]) <= 4
    assert view.row_of(ids.iloc[0]) == 0  # forgotten, found again by a scan


def test_discover_runs_and_default(tiny, tmp_path, monkeypatch):
    run = tiny[1]
    assert runs.discover_runs(run.parent) == [run.resolve()]
    (run.parent / "half").mkdir(exist_ok=True)  # not trained: not listed
    assert runs.discover_runs(run.parent) == [run.resolve()]
    assert runs.default_run_dir({}) == Path("runs/demo")
    assert runs.default_run_dir({"XLE_RUN": str(run)}) == run
    assert RunFolder(tmp_path / "none").state()["exists"] is False
    st = RunFolder(run).state()
    assert st["trained"] and st["encoded"] and st["maps"]


def test_load_run_refuses_missing_and_mismatched(tiny, tmp_path):
    with pytest.raises(DatasetError, match="no run folder"):
        runs.load_run(tmp_path / "nothing")
    bad = tmp_path / "bad"
    shutil.copytree(tiny[1], bad)
    np.save(bad / "latents.npy", np.zeros((3, 8), np.float32))
    with pytest.raises(DatasetError, match="re-run encode"):
        runs.load_run(bad)


def test_numeric_columns_and_class_labels(view):
    num = columns.numeric_columns(view.sources)
    assert "hard_hm" in num and "recon_error" in num and "row" not in num and "id" not in num
    labels = runs.class_labels(view.sources)
    assert (labels == runs.UNLABELLED).sum() == (view.sources["class"] == "").sum() > 0


# ---- filters --------------------------------------------------------------------------------------------------
def test_filters_cut_as_specified(view):
    s = view.sources
    assert filters.apply(s, filters.Filters()).all()
    m = filters.apply(s, filters.Filters(classes=("AGN", runs.UNLABELLED)))
    assert set(runs.class_labels(s)[m]) == {"AGN", runs.UNLABELLED}
    m = filters.apply(s, filters.Filters(splits=("test",), counts=(100, 500)))
    assert (s["split"][m] == "test").all() and s["counts"][m].between(100, 500).all() and m.any()
    m = filters.apply(s, filters.Filters(hardness=(("hard_hm", -0.2, 0.3),)))
    assert s["hard_hm"][m].between(-0.2, 0.3).all() and 0 < m.sum() < len(s)
    name = s["name"].iloc[5]
    m = filters.apply(s, filters.Filters(name=name[5:14].lower()))
    assert m[5]
    hits = filters.search(s, s["id"].iloc[9])
    assert hits["id"].iloc[0] == s["id"].iloc[9]
    assert filters.search(s, "   ").empty


# ---- neighbours, density, outliers ---------------------------------------------------------------------------
def test_neighbours_are_exact_and_exclude_the_source():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 8)).astype(np.float32)
    idx = LatentIndex().fit(z)
    rows, dist = idx.neighbours_of_row(7, k=10)
    brute = np.argsort(np.linalg.norm(z - z[7], axis=1))[1:11]
    assert list(rows) == list(brute) and 7 not in rows
    assert np.all(np.diff(dist) >= 0)
    rows2, dist2 = idx.neighbours_of_vector(z[7], k=3)
    assert rows2[0] == 7 and dist2[0] == pytest.approx(0, abs=1e-6)


def test_density_is_low_for_an_isolated_point():
    rng = np.random.default_rng(2)
    z = np.vstack([rng.normal(size=(100, 8)), np.full((1, 8), 12.0)]).astype(np.float32)
    dens = LatentIndex().fit(z).log_density(k=5)
    assert np.argmin(dens) == 100


def test_outlier_ranking_orders_and_masks(view):
    s = view.sources
    score = np.arange(len(s), dtype=float)
    score[3] = np.nan
    t = outlier_ranking(s, score, n=5, highest=True, score_name="err")
    assert list(t["err"]) == sorted(score[np.isfinite(score)])[-5:][::-1]
    mask = np.zeros(len(s), bool)
    mask[[1, 2, 3]] = True
    t = outlier_ranking(s, score, mask=mask, n=5, highest=False)
    assert list(t["id"]) == list(s["id"].iloc[[1, 2]])
    nb = neighbour_table(s, np.array([4, 2]), np.array([0.1, 0.2]))
    assert list(nb["rank"]) == [1, 2] and list(nb["id"]) == list(s["id"].iloc[[4, 2]])


# ---- spectra -------------------------------------------------------------------------------------------------
def test_spectrum_table_errors_and_residuals():
    edges = np.array([0.5, 1.0, 2.0, 4.0])
    t = spectra.spectrum_table(edges, np.array([0, 4, 9]), predicted=np.array([1.0, 4.0, 4.0]),
                               truth=np.array([1, 2, 3]), weights=np.array([1, 0, 1]))
    assert list(t["energy"]) == [0.75, 1.5, 3.0]
    assert t["err_lo"][0] == 0 and t["err_hi"][0] == pytest.approx(1 + np.sqrt(0.75))
    np.testing.assert_allclose(t["residual"], [-1.0, 0.0, 2.5])
    assert list(t["good"]) == [True, False, True]
    with pytest.raises(ValueError):
        spectra.spectrum_table(edges, np.ones(4))


# ---- export --------------------------------------------------------------------------------------------------
def test_export_round_trips_through_astropy(view):
    sel = view.sources.iloc[:7].drop(columns=["row"])
    sel = sel.assign(warnings=[["a"], [], None, ["b", "c"], [], [], []])  # list-valued column (real catalogs)
    csv = pd.read_csv(io.BytesIO(export.to_bytes(sel, "CSV")))
    assert list(csv["id"]) == list(sel["id"])
    vot = parse_single_table(io.BytesIO(export.to_bytes(sel, "VOTable", meta={"run": "tiny"}))).to_table()
    assert list(vot["id"]) == list(sel["id"]) and np.allclose(vot["hard_hm"], sel["hard_hm"], equal_nan=True)
    with fits.open(io.BytesIO(export.to_bytes(sel, "FITS", meta={"simulated": True}))) as hdul:
        data = hdul[1].data
        assert list(data["id"]) == list(sel["id"]) and hdul[1].header["SIMULATE"] is True
        assert data["simulated"].all()
    assert export.filename("x", "VOTable") == "x.vot"
    with pytest.raises(ValueError):
        export.to_bytes(sel, "XLS")


def test_csc_links():
    url = links.csc_url("2CXO J053747.4-691019")
    assert url.startswith(links.CSC_CLI) and "2CXO%20J053747.4-691019" in url
    assert "version=cur" in url  # release 1.1 (the default) has no 2CXO names
    assert links.csc_url("2CXO J0537' OR 1=1 --") is None  # a quote would end the ADQL string
    assert links.csc_url("my upload") is None and links.csc_url(None) is None
    assert "Ident=2CXO" in links.simbad_url("2CXO J0537")


# ---- live classifier metrics ---------------------------------------------------------------------------------
def test_live_metrics_on_filtered_rows(view):
    from core.spectra.hardness import HARDNESS_COLUMNS

    feats = {"latent": view.latents, "hardness": view.sources[list(HARDNESS_COLUMNS)].to_numpy()}
    out = live.evaluate(feats, view.sources, "agn_vs_compact", [("latent",), ("latent", "hardness"), ("hardness",)],
                        "logistic")
    assert set(out["results"]) == {"latent", "latent+hardness", "hardness"}
    assert out["classes"] == ["AGN", "compact"]
    for r in out["results"].values():
        assert 0 <= r["balanced_accuracy"] <= 1 and r["n_repeats"] == live.REPEATS["logistic"]
        assert r["n_folds"] >= 2 * r["n_repeats"] and np.array(r["confusion"]).sum() == out["n"] * r["n_repeats"]
        assert r["ci95"][0] <= r["balanced_accuracy"] <= r["ci95"][1]
    mask = view.sources["split"].to_numpy() == "train"
    small = live.evaluate(feats, view.sources, "eight_class", [("latent",)], "kmeans", mask=mask)
    assert small["n"] == int((mask & (view.sources["class"] != "")).sum())
    summary = live.summary_table(out)
    assert {"± std over folds", "95% low", "95% high", "folds"} <= set(summary) and (summary["folds"] >= 10).all()
    assert live.recall_table(out).shape == (2, 3) and "0.5" in live.KMEANS_CAPTION
    with pytest.raises(Exception, match="widen the filters"):
        live.evaluate(feats, view.sources, "eight_class", [("latent",)], "logistic",
                      mask=(view.sources["class"] == "AGN").to_numpy())


# ---- upload --------------------------------------------------------------------------------------------------
def test_upload_checks_before_reading(tmp_path):
    with pytest.raises(upload.UploadError, match="exactly one PHA"):
        upload.save_uploads({"arf": [("a.arf", b"x")]}, tmp_path)
    with pytest.raises(upload.UploadError, match="limit per file"):
        upload.save_uploads({"pha": [("big.pi", b"0" * (upload.MAX_FILE_MB * 2**20 + 1))]}, tmp_path)
    with pytest.raises(upload.UploadError, match="empty"):
        upload.save_uploads({"pha": [("e.pi", b"")]}, tmp_path)
    paths = upload.save_uploads({"pha": [("../../etc/evil name.pi", b"abc")]}, tmp_path)
    assert paths["pha"][0] == tmp_path / "evil_name.pi" and paths["pha"][0].read_bytes() == b"abc"


def test_upload_real_spectrum_is_placed(view, real_data, tmp_path):
    from core.model.checkpoint import load_model

    names = ["9774.pi", "9774.arf", "9774.rmf", "9774_bg.pi"]
    files = {"pha": [(names[0], (real_data / "spectra" / names[0]).read_bytes())],
             "other": [(n, (real_data / "spectra" / n).read_bytes()) for n in names[1:]]}
    paths = upload.save_uploads(files, tmp_path)
    grid = upload.grid_of(view.dataset.energy_edges, view.dataset.info)
    spec = upload.read_upload(paths, grid)
    res = upload.place_spectrum(spec, load_model(view.run_dir), view.run_dir, LatentIndex().fit(view.latents))
    assert res.latent.shape == (8,) and set(res.coords) == {"umap", "pca"}
    assert np.isfinite(res.coords["umap"]).all() and len(res.neighbour_rows) == 10
    # the source counts are the maximum-likelihood ones: sum_i c_i s_i / mu_i = sum_i s_i, s = mu - background
    good = spec.weights > 0
    src = (res.predicted - spec.background)[good]
    assert float((spec.counts[good] * src / res.predicted[good]).sum()) == pytest.approx(float(src.sum()), rel=1e-4)
    assert src.sum() > 0.9 * float(spec.counts[good].sum() - spec.background[good].sum())


def test_upload_bad_file_gets_the_readers_error(view, real_data, tmp_path):
    paths = upload.save_uploads({"pha": [("with_nan.fits", (real_data / "spectra" / "with_nan.fits").read_bytes())]},
                                tmp_path)
    with pytest.raises(SpectrumError) as err:
        upload.read_upload(paths, upload.grid_of(view.dataset.energy_edges, view.dataset.info))
    assert "with_nan.fits" in str(err.value) and err.value.reason


def test_metrics_tables_flatten_metrics_json():
    m = {"classification": {"eight_class": {"n": 5, "supervised": {
             "latent": {"balanced_accuracy": 0.3271, "balanced_accuracy_std": 0.03},
             "hardness": {"balanced_accuracy": 0.262}}, "kmeans": {"latent": {"balanced_accuracy": 0.2}}}},
         "reconstruction": {"autoencoder": {"deviance_per_bin": 1.3, "kl_to_truth": 0.03}, "note": "x"}}
    t = runs.metrics_table(m)
    assert list(t["protocol"]) == ["supervised", "kmeans"]
    assert t.loc[0, "latent"] == "0.327 ± 0.030" and t.loc[0, "hardness"] == "0.262"
    r = runs.reconstruction_table(m)
    assert list(r["model"]) == ["autoencoder"] and r.loc[0, "kl_to_truth"] == 0.03
    assert runs.metrics_table({}).empty
    m["classification"]["eight_class"]["supervised"]["latent"]["ci95"] = [0.29, 0.3642]
    m["classification"]["eight_class"]["paired_differences"] = {"random_forest": {
        "latent-hardness": {"mean": 0.065, "ci_low": 0.02, "ci_high": 0.11, "significant": True},
        "latent-pca8": {"mean": 0.01, "ci_low": -0.02, "ci_high": 0.04, "significant": False}}}
    m["classification"]["eight_class"]["kmeans_note"] = "degenerate"
    assert runs.metrics_table(m).loc[0, "latent"] == "0.327 [0.290, 0.364]"
    d = runs.differences_table(m)
    assert list(d["verdict"]) == ["significant", "not significant", "degenerate"]
    assert d.loc[1, "95% interval"] == "[-0.020, +0.040]"
