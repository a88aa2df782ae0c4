"""explorer.ui.figures: Plotly only (no Streamlit), checked on small tables."""
from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.logic.spectra import spectrum_table
from explorer.ui import figures


def table(n=12):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": [f"s{i}" for i in range(n)], "name": [f"2CXO J{i:06d}" for i in range(n)],
        "class": (["AGN", "CV", ""] * n)[:n], "counts": rng.integers(10, 100, n),
        "hard_hm": rng.uniform(-1, 1, n), "hard_hs": np.r_[np.nan, rng.uniform(-1, 1, n - 1)],
        "hard_ms": rng.uniform(-1, 1, n), "x": rng.normal(size=n), "y": rng.normal(size=n)})


def ids_in(fig):
    return sorted(i for t in fig.data if t.customdata is not None for i in t.customdata)


def test_class_map_one_webgl_trace_per_class_with_ids():
    s = table()
    mask = np.ones(len(s), bool)
    mask[[0, 1]] = False
    fig = figures.map_figure(s, "x", "y", mask=mask)
    assert all(t.type == "scattergl" for t in fig.data)
    assert [t.name.split(" ")[0] for t in fig.data] == ["unlabelled", "AGN", "CV"]  # unlabelled drawn underneath
    assert ids_in(fig) == sorted(s["id"][mask])
    for t in fig.data:  # every point's position matches its source (looked up by id, not by index)
        for cid, x in zip(t.customdata, t.x):
            assert s.set_index("id").loc[cid, "x"] == x


def test_continuous_map_puts_missing_values_in_grey_and_marks_selection():
    s = table()
    fig = figures.map_figure(s, "x", "y", colour="hard_hs", selected_ids=["s3", "s4"], focus_id="s5")
    names = [t.name for t in fig.data]
    assert names[0].startswith("no value") and list(fig.data[0].customdata) == ["s0"]
    assert fig.data[1].marker.colorbar.title.text == "hardness ratio H-S"  # a readable label, not the column
    assert fig.data[1].marker.colorscale is not None
    assert "selected (2)" in names and "open source" in names
    assert "HR hm" in fig.data[1].text[0]


def test_spectrum_and_other_figures_build():
    edges = np.linspace(0.5, 7, 6)
    t = spectrum_table(edges, np.array([1, 2, 3, 4, 5]), background=np.ones(5) * 0.1,
                       predicted=np.array([1, 2, 3, 4, 5.0]), truth=np.ones(5))
    fig = figures.spectrum_figure(t, title="x", simulated=True)
    assert {"observed", "reconstruction", "noiseless truth (simulation)", "background"} <= {d.name for d in fig.data}
    assert "simulated" in fig.layout.title.text
    s = table()
    s["z0"], s["z1"] = s["x"], s["y"]
    assert len(figures.splom_figure(s, ["z0", "z1"]).data) == 3
    assert len(figures.splom_figure(s, ["z0", "z1"], colour="hard_hm", max_points=5).data[0].dimensions[0].values) == 5
    cm = figures.confusion_figure(np.array([[3, 1], [0, 2]]), ["a", "b"])
    np.testing.assert_allclose(cm.data[0].z, [[0.75, 0.25], [0, 1]])
    tr = figures.traversal_figure(edges, np.full(5, 2.0), start=np.full(5, 1.0), observed=np.ones(5))
    assert [t.name for t in tr.data] == ["observed (start source)", "decoded start", "decoded from sliders"]
    assert tr.data[-1].y[0] == 2.0 and tr.layout.yaxis.title.text == "counts per bin"


def test_spectrum_figure_built_without_validation_is_what_validation_accepts():
    """The spectrum figure skips Plotly's validation (figures_spectrum): Plotly's validating constructor must leave
    every variant unchanged (residual panel or not, log axis with bins at the floor, overlays, no background,
    light or dark page), and the panels keep their traces, axes and titles in the app's own style (drawn with
    ``theme=None``)."""
    import json

    import plotly.graph_objects as go

    from explorer.logic.spectra import SpectrumOptions, view_table

    edges = np.linspace(0.5, 7, 6)
    t = spectrum_table(edges, np.array([1.0, 0, 3, 4, 5]), background=np.full(5, 0.1),
                       predicted=np.array([1.0, 1, 2, 3, 4]), truth=np.ones(5))
    as_json = lambda f: json.dumps({k: v for k, v in f.to_dict().items()}, sort_keys=True, default=str)  # noqa: E731
    for log_y in (False, True):
        for res in (True, False):
            for over in (None, {"neighbour 1: a": np.ones(5), "neighbour 2: b": np.arange(5.0)}):
                for bkg in (True, False):
                    v = view_table(t, SpectrumOptions(unit="rate" if bkg else "counts"), 100.0)
                    v = v if res else v.drop(columns="residual")
                    v = v if bkg else v.assign(background=0.0)
                    fig = figures.spectrum_figure(v, title="T", simulated=bkg, log_y=log_y, overlays=over, height=430,
                                                  dark=bkg)
                    assert as_json(go.Figure(fig.to_dict())) == as_json(fig), (log_y, res, over is not None, bkg)
                    names = [d.name for d in fig.data]
                    assert "reconstruction" in names and ("residual" in names) == res
                    assert ("background" in names) == bkg and ("≤ 0 (at the floor)" in names) == log_y
                    assert fig.layout.yaxis.type == ("log" if log_y else "linear") and fig.layout.height == 430
                    bottom = fig.layout.xaxis2 if res else fig.layout.xaxis
                    assert bottom.title.text == "energy (keV)" and list(bottom.tickvals)[:2] == [0.5, 0.7]
                    assert fig.layout.title.text.startswith("T")
                    assert fig.layout.font.color == ("#FAFAFA" if bkg else "#2F2D2B")  # readable on the page
                    assert all(ax.automargin for ax in (fig.layout.xaxis, fig.layout.yaxis))  # labels never clipped
                    if res:
                        assert fig.data[-1].yaxis == "y2" and fig.layout.shapes[0].yref == "y2"


def test_histogram_is_binned_here_and_counts_every_finite_value():
    """60 bars travel to the browser, not one value per source; log x bins the positive values only."""
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.lognormal(0, 0.5, 5000), [np.nan, np.inf, 0.0, -1.0]])
    lin = figures.histogram_figure(v, "t", "x")
    assert len(lin.data[0].x) == 60 and sum(lin.data[0].y) == 5002  # 0 and -1 are finite
    log = figures.histogram_figure(v, "t", "deviance per bin", log_x=True, dark=True)
    assert sum(log.data[0].y) == 5000 and log.layout.xaxis.type == "log"
    centres, widths = np.asarray(log.data[0].x), np.asarray(log.data[0].width)
    assert np.all(np.diff(centres) > 0) and np.all(widths > 0) and log.layout.font.color == "#FAFAFA"
    assert len(figures.histogram_figure(np.array([np.nan]), "t", "x").data[0].y) == 0  # nothing to bin: no bars


def test_unfolded_figure_draws_the_model_over_the_data_range_only_in_x_ray_conventions():
    """ufspec/eufspec: log-log, the counts view's keV ticks, powers of ten on the flux axis, the decoded model only
    where the data constrain it (the photon grid runs 0.3-10 keV, the data 0.5-7), the truth for simulated rows;
    what Plotly's validation would build."""
    import json

    import plotly.graph_objects as go

    from explorer.ui.figures_spectrum import unfolded_figure

    e = np.geomspace(0.3, 10, 41)
    mid = np.sqrt(e[1:] * e[:-1])
    model = pd.DataFrame({"energy": mid, "flux": mid ** -2.0, "eflux": mid ** -1.0,
                          "constrained": (e[1:] > 0.5) & (e[:-1] < 7.0)})
    edges = np.linspace(0.5, 7.0, 9)
    c = 0.5 * (edges[1:] + edges[:-1])
    data = pd.DataFrame({"energy": c, "e_lo": edges[:-1], "e_hi": edges[1:], "flux": c ** -2.0,
                         "err_lo": 0.1 * c ** -2.0, "err_hi": 0.1 * c ** -2.0, "good": np.r_[False, [True] * 7],
                         "truth": c ** -2.0})
    for col in ("flux", "err_lo", "err_hi", "truth"):
        data["e" + col] = data[col] * c
    for column in ("flux", "eflux"):
        fig = unfolded_figure(model, data, column, title="T", simulated=True)
        as_json = lambda f: json.dumps(f.to_dict(), sort_keys=True, default=str)  # noqa: E731
        assert as_json(go.Figure(fig.to_dict())) == as_json(fig)
        by = {t.name: t for t in fig.data}
        assert set(by) == {"data (unfolded)", "noiseless truth, unfolded the same way", "decoded model"}
        assert min(by["decoded model"].x) > 0.45 and max(by["decoded model"].x) < 7.7  # no model beyond the data
        assert len(by["data (unfolded)"].x) == 7  # the bad-quality bin is not drawn
        np.testing.assert_allclose(by["data (unfolded)"].y, data[column][1:])
        assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.tickvals) == [0.5, 0.7, 1, 1.5, 2, 3, 4, 5, 7]
        assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.exponentformat == "power"
        assert fig.layout.yaxis.title.text.startswith("photons" if column == "flux" else "E·F(E)")
        assert "simulated" in fig.layout.title.text


def test_sky_figure_labels_both_coordinates_above_the_sources():
    from explorer.logic import sky
    from explorer.ui.figures_sky import sky_caption, sky_figure

    s = table()
    xy = sky.project(np.linspace(0, 300, len(s)), np.linspace(-60, 60, len(s)), "equatorial")
    fig = sky_figure(s, xy, "equatorial", colour="hard_hm")
    names = [t.name for t in fig.data]
    assert names[0] == "graticule" and names[-2:] == ["longitude labels", "latitude labels"]
    assert list(fig.data[-1].text) == ["-60°", "-30°", "0°", "+30°", "+60°"]
    assert max(fig.data[-1].x) < -90 and fig.data[-1].textposition == "middle left"  # at the left edge, outside
    assert min(fig.layout.xaxis.range) < min(fig.data[-1].x) - 20  # with room for the text
    assert list(fig.data[-2].text)[:2] == ["0h", "4h"]
    bars = [t.marker.colorbar for t in fig.data if t.name == "hard_hm"]
    assert bars and all(b.len == 0.7 for b in bars)  # not taller than the equal-aspect sky
    assert sky_caption("galactic").startswith("Aitoff projection") and "l grows to the left" in sky_caption("galactic")
