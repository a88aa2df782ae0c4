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
    tr = figures.traversal_figure(edges, np.full(5, 0.2), start=np.full(5, 0.2), total=10.0)
    assert tr.data[-1].y[0] == 2.0
