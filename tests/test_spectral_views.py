"""explorer.logic.spectra's views: grouping as grppha 'group min', units, background subtraction, energy range,
honest residuals for zero-count bins, neighbour overlays and the CSV of the plotted data."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from explorer.logic import links
from explorer.logic.spectra import (SpectrumOptions, deviance_residuals, export_csv, group_min_counts, overlay,
                                    spectrum_table, view_table)

EDGES = np.linspace(0.5, 7.0, 11)  # 10 bins of 0.65 keV


def table(counts, bkg=None, pred=None):
    return spectrum_table(EDGES, np.asarray(counts, float), background=None if bkg is None else np.asarray(bkg, float),
                          predicted=None if pred is None else np.asarray(pred, float))


def test_grouping_reaches_the_minimum_and_drops_a_short_tail_like_grppha():
    counts = np.array([5, 0, 3, 9, 1, 1, 1, 0, 2, 1])
    g = group_min_counts(counts, 5)
    assert list(g) == [0, 1, 1, 1, 2, 2, 2, 2, 2, -1]  # the last bin (1 count) cannot make 5: bad
    sums = np.bincount(g[g >= 0], weights=counts[g >= 0])
    assert (sums >= 5).all()
    assert list(group_min_counts(counts, 0)) == list(range(10))
    assert list(group_min_counts(counts, 1, good=np.array([1, 1, 0, 1, 1, 1, 1, 1, 1, 1], bool)))[:3] == [0, 1, -1]


def test_units_background_and_energy_range():
    t = table([10] * 10, bkg=[2] * 10, pred=[10] * 10)
    counts = view_table(t, SpectrumOptions(), exposure=1000.0)
    assert counts.attrs["y_title"] == "counts per bin" and counts["observed"].sum() == 100
    rate = view_table(t, SpectrumOptions(unit="rate"), exposure=1000.0)
    np.testing.assert_allclose(rate["observed"], 10 / (1000.0 * 0.65))
    net = view_table(t, SpectrumOptions(subtract_background=True), exposure=1000.0)
    np.testing.assert_allclose(net["observed"], 8.0)
    np.testing.assert_allclose(net["predicted"], 8.0)
    assert net.attrs["y_title"].startswith("net")
    cut = view_table(t, SpectrumOptions(e_range=(1.0, 4.5)), exposure=1000.0)
    assert cut["e_lo"].min() >= 1.0 and cut["e_hi"].max() <= 4.5 + 1e-9 and len(cut) == 5
    grouped = view_table(t, SpectrumOptions(min_counts=30, unit="rate"), exposure=1000.0)
    assert len(grouped) == 3  # 30, 30, 30 and a short tail of 10 dropped
    np.testing.assert_allclose(grouped["observed"], 30 / (1000.0 * 3 * 0.65))


def test_zero_count_bins_get_honest_residuals():
    # a faint tail: 0 counts where the model expects 0.2 per bin
    d = deviance_residuals(np.zeros(5), np.full(5, 0.2))
    np.testing.assert_allclose(d, -np.sqrt(0.4))
    assert deviance_residuals(np.array([4.0]), np.array([4.0]))[0] == 0.0
    t = table([0, 0, 0, 0, 0, 1, 0, 0, 1, 0], pred=[0.2] * 10)
    grouped = view_table(t, SpectrumOptions(min_counts=1, residuals="deviance"), exposure=1.0)
    ungrouped = view_table(t, SpectrumOptions(residuals="sigma"), exposure=1.0)
    # grouping to >= 1 count puts the zero bins into groups with data: no row of only-zero bins left
    assert (grouped["observed"] > 0).all() and (ungrouped["observed"] == 0).sum() == 8
    assert np.abs(grouped["residual"]).max() < 1.5


def test_neighbour_overlay_is_scaled_to_the_same_counts_and_csv_has_units():
    t = table([10] * 10, bkg=[0] * 10, pred=[10] * 10)
    y = overlay(t, np.full(10, 1.0), np.zeros(10), SpectrumOptions(), exposure=1.0)
    np.testing.assert_allclose(y, 10.0)  # 10 counts scaled to the source's 100
    view = view_table(t, SpectrumOptions(unit="rate"), exposure=2.0)
    csv = pd.read_csv(io.BytesIO(export_csv(view, {"neighbour 1": overlay(t, np.arange(10.0), np.zeros(10),
                                                                          SpectrumOptions(unit="rate"), 2.0)})))
    assert "observed [counts s⁻¹ keV⁻¹]" in csv.columns and "energy [keV]" in csv.columns
    assert "neighbour 1 [counts s⁻¹ keV⁻¹]" in csv.columns and len(csv) == 10


def test_links_by_position():
    s = links.simbad_cone_url(83.633, 22.0145)
    assert s.startswith("https://simbad.cds.unistra.fr/simbad/sim-coo?") and "83.633000" in s and "arcsec" in s
    c = links.csc_cone_url(83.633, 22.0145)
    assert "coneSearch" in c and "ra=83.633000" in c and "version=cur" in c
    assert links.simbad_cone_url(float("nan"), 0) is None and links.csc_cone_url(400, 0) is None
