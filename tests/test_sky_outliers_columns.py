"""explorer.logic's sky projection, count-aware outlier score, column descriptions and latent-axis reading, on
small made-up inputs whose answers are known."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from astropy.io.votable import parse

from explorer.logic import columns, export, interpret, sky
from explorer.logic.neighbours import count_aware_score


def test_aitoff_known_points_and_galactic_centre():
    x, y = sky.aitoff(np.array([0.0, 0.0, 90.0, 180.0 - 1e-9]), np.array([0.0, 90.0, 0.0, 0.0]))
    np.testing.assert_allclose([x[0], y[0]], [0, 0], atol=1e-9)
    np.testing.assert_allclose(y[1], 90.0, atol=1e-6)
    assert x[2] < 0  # longitude grows to the left
    np.testing.assert_allclose(abs(x[3]), 180.0, atol=1e-4)  # the edge of the ellipse
    l, b = sky.lonlat(np.array([266.405]), np.array([-28.936]), "galactic")  # Sgr A*
    assert abs(((l[0] + 180) % 360) - 180) < 0.1 and abs(b[0]) < 0.1
    xy = sky.project(np.array([10.0, np.nan]), np.array([20.0, 0.0]), "galactic")
    assert np.isfinite(xy[0]).all() and np.isnan(xy[1]).all()
    gx, gy = sky.graticule()
    assert np.nanmax(np.abs(gx)) <= 180.01 and np.nanmax(np.abs(gy)) <= 90.01


def test_count_aware_score_removes_the_trend_with_counts():
    rng = np.random.default_rng(0)
    counts = 10 ** rng.uniform(1, 4, 2000)
    dev = 0.8 + 0.3 * np.log10(counts) ** 2 + rng.normal(0, 0.05, 2000)  # grows with counts, as deviance does
    dev[123] *= 1.8  # one real misfit at modest counts
    z, pct = count_aware_score(dev, counts)
    raw_top = np.argsort(-dev)[:10]
    aware_top = np.argsort(-z)[:10]
    assert np.median(counts[raw_top]) > 5000  # the raw ranking lists the brightest
    assert aware_top[0] == 123 and counts[123] < 5000
    assert abs(np.corrcoef(np.log(counts), z)[0, 1]) < 0.1
    assert 0 < np.nanmin(pct) and np.nanmax(pct) < 100
    z2, _ = count_aware_score(np.array([np.nan, 0.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    assert np.isnan(z2[:2]).all() and np.isfinite(z2[2])


def test_columns_read_as_words_with_units():
    assert columns.label("exposure") == "exposure (s)"
    assert columns.label("z3") == "latent axis z3"
    assert columns.label("area_s") == "effective area, 0.5-1.2 keV (cm2)"
    for raw in ("P_intra", "var_prob_b", "area_s", "z0"):
        assert columns.label(raw) != raw
    s = pd.DataFrame({"hard_hs": [-0.5, 0.2, 0.9], "counts": [10, 20, 30], "recon_error": [1.0, 2.0, 3.0],
                      "umap_x": [1.0, 2.0, 3.0]})
    opts = columns.colour_options(s)
    assert opts["hard_hs"] == "hardness ratio H-S" and opts["counts"] == "total counts (ct)" and "umap_x" not in opts
    assert columns.all_positive(s["counts"]) and not columns.all_positive(s["hard_hs"])
    shown = [columns.shown_value(v) for v in (0.5522388059701492, np.float32(1e-7), np.nan, None, 4424, "AGN",
                                               float("inf"), True, np.float32("nan"))]
    assert shown == ["0.552239", "1e-07", "", "", "4424", "AGN", "inf", "True", ""]
    assert columns.shown_value(217.1234567, "ra") == "217.123457"  # positions to 1e-6 degrees
    assert columns.shown_value(-5.00012345, "dec") == "-5.00012345"


def test_reader_notes_split_a_rows_warnings_with_pile_up_first():
    """ingest stores a file's warnings as one text (core.spectra.spectrum.join_warnings); the page takes them
    apart again, whole, even where a warning held the separator itself."""
    from core.io.pileup import PileupSigns
    from core.spectra.spectrum import join_warnings

    piled = PileupSigns(1129.0, 10.4, 47.5, 0.69).excess_warning()
    row = pd.Series({"warnings": join_warnings(["no ANCRFILE; used source.arf", piled])})
    assert columns.reader_notes(row) == [piled, "no ANCRFILE, used source.arf"]
    assert columns.reader_notes(pd.Series({"warnings": ""})) == []
    assert columns.reader_notes(pd.Series({"warnings": np.nan})) == []
    assert columns.reader_notes(pd.Series({"counts": 3})) == []  # simulated rows have no such column
    assert columns.describe("counts_per_frame").unit == "ct"


def test_votable_export_carries_units_ucds_and_the_simulated_flag():
    df = pd.DataFrame({"id": ["a"], "ra": [1.0], "exposure": [1e4], "class": [""]})
    t = parse(io.BytesIO(export.to_bytes(df, "VOTable", meta={"simulated": True}))).get_first_table()
    assert str(t.get_field_by_id("exposure").unit) == "s" and t.get_field_by_id("ra").ucd == "pos.eq.ra;meta.main"
    assert "right ascension" in t.get_field_by_id("ra").description
    assert [(p.name, p.value) for p in t.params] == [("simulated", True)]


def test_latent_axes_are_read_from_metrics_or_computed():
    metrics = {"split": "test", "spearman": {"z0": {"hard_hm": 0.1, "hard_hs": -0.8, "hard_ms": 0.05},
                                             "z1": {"hard_hm": 0.05, "hard_hs": 0.1, "hard_ms": -0.02}}}
    table = interpret.spearman_table(metrics)  # a metrics.json from before spearman_n: no intervals
    assert table.where == "metrics.json (test split)" and table.rho.loc["z0", "hard_hs"] == -0.8 and table.n == {}
    reading = interpret.tracks(table).set_index("axis")
    assert "strongly" in reading.loc["z0", "reading"] and "softer" in reading.loc["z0", "reading"]
    assert "no clear link" in reading.loc["z1", "reading"] and reading.loc["z0", "interval"] == ""
    rng = np.random.default_rng(1)
    s = pd.DataFrame({"z0": rng.normal(size=50)})
    s["hard_hm"], s["hard_hs"], s["hard_ms"] = s["z0"], -s["z0"], rng.normal(size=50)
    s.loc[3, "hard_ms"] = np.nan
    table = interpret.spearman_table({}, s, ["z0"])
    assert table.where.startswith("computed") and abs(table.rho.loc["z0", "hard_hm"] - 1.0) < 1e-12
    assert table.n == {"hard_hm": 50, "hard_hs": 50, "hard_ms": 49}


def _one_axis(rho: float, n: int, axes: int = 8) -> pd.Series:
    """The reading of axis z0 (rho with hard_hs) in a table of ``axes`` axes x 3 ratios on n sources."""
    sp = {f"z{a}": {"hard_hm": 0.0, "hard_hs": rho if a == 0 else 0.0, "hard_ms": 0.0} for a in range(axes)}
    table = interpret.spearman_table({"split": "all", "spearman": sp,
                                      "spearman_n": {"hard_hm": n, "hard_hs": n, "hard_ms": n}})
    return interpret.tracks(table).set_index("axis").loc["z0"]


def test_a_reading_holds_for_the_whole_table_not_one_cell():
    """rho = -0.45 on 30 sources excludes 0 at 95% for one cell (-0.70 to -0.11), but a table of 8 axes x 3 ratios
    reads every cell at 1 - 0.05/24: its interval includes 0 and the reading says so. On a thousand sources the
    same rho is a link; a perfect order on 5 sources has no interval and is not read as one."""
    from core.evaluation.correlation import interval

    assert interval(-0.45, 30)[1] < 0
    few = _one_axis(-0.45, 30)
    assert "not shown by these data" in few["reading"] and "30 sources" in few["reading"]
    low, high = (float(x) for x in few["interval"].split(" to "))
    assert low < -0.7 and high > 0
    assert "strongly" not in few["reading"] and "somewhat" not in few["reading"]
    assert "somewhat tracks" in _one_axis(-0.45, 1000)["reading"]
    assert "weakly linked to hardness ratio H-S" in _one_axis(0.15, 1690)["reading"]  # small, yet not noise
    assert "no clear link" in _one_axis(0.15, 100)["reading"]
    perfect = _one_axis(1.0, 5)
    assert "on 5 sources only: cannot tell" in perfect["reading"] and perfect["interval"] == ""
    unseen = interpret.spearman_table({"split": "unseen", "spearman": {"z0": {"hard_hm": 0.1}}})
    assert unseen.where == "metrics.json (rows of sources the run was not trained on)"
