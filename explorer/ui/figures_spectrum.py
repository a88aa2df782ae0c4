"""The spectrum figure (observed counts, reconstruction, truth, background, residuals), built as plain Plotly
JSON and wrapped without validation (no Streamlit here).

Built through ``make_subplots`` and ``update_layout`` it took 30-100 ms per click, most of it Plotly's property
validation; the subplot grid is now made once per shape (``_grid``) and every trace is a dict, so a figure takes
a few milliseconds. ``tests/test_explore_figures.py`` checks that Plotly's validation leaves these figures
unchanged, so skipping it hides no invalid property.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

TICKS = [0.5, 0.7, 1, 1.5, 2, 3, 4, 5, 7]
FONT = '"Source Sans", "Source Sans Pro", sans-serif'  # the app's own font (Streamlit's)


def house_style(dark: bool = False, axes: tuple[str, ...] = ("xaxis", "yaxis")) -> dict[str, Any]:
    """Layout properties that give a figure drawn with ``theme=None`` the app's look, light or dark: fonts,
    transparent background, faint grid, axes that make room for their labels. Streamlit's own Plotly theme
    cost the browser ~70 ms per redraw (it merges a template for every trace type into each figure), most of
    a click on the map (issue 10)."""
    ink = "#FAFAFA" if dark else "#2F2D2B"  # the app's text colour
    grid = "rgba(250,250,250,0.14)" if dark else "rgba(49,51,63,0.10)"
    axis = {"automargin": True, "showgrid": True, "gridcolor": grid, "linecolor": grid, "zerolinecolor": grid}
    return {"font": {"family": FONT, "size": 12, "color": ink}, "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)", "hoverlabel": {"font": {"family": FONT}},
            **{name: dict(axis) for name in axes}}


@lru_cache(maxsize=2)
def _grid(has_res: bool) -> str:
    """The axes of one panel, or of the spectrum above its residuals (x shared), as JSON (copied per figure)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2 if has_res else 1, cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        row_heights=[0.72, 0.28] if has_res else [1.0])
    layout = fig.to_dict()["layout"]
    layout.pop("template", None)
    return json.dumps(layout)


def _scatter(x, y, name: str, mode: str, *, bottom: bool = False, **props: Any) -> dict[str, Any]:
    tr = {"type": "scatter", "x": np.asarray(x), "y": np.asarray(y), "mode": mode, "name": name,
          "xaxis": "x2" if bottom else "x", "yaxis": "y2" if bottom else "y"}
    tr.update({k: v for k, v in props.items() if v is not None})
    return tr


def spectrum_figure(table: pd.DataFrame, *, title: str = "", simulated: bool = False, height: int = 520,
                    log_y: bool = False, overlays: dict[str, np.ndarray] | None = None,
                    residual_title: str = "(data−model)/σ", dark: bool = False) -> go.Figure:
    """Observed values with Poisson error bars, the model's prediction, the noiseless truth and the background
    on top, residuals below; ``overlays`` (name -> values per row) are other sources drawn as thin lines.
    The y unit is ``table.attrs["y_title"]`` (counts per bin by default). In log y, bins at or below zero are
    drawn as open triangles on the axis floor instead of vanishing, and the background is a line, not a fill.
    Styled by ``house_style`` (draw it with ``theme=None``); ``dark`` for a dark page."""
    has_res = "residual" in table
    col = lambda c: table[c].to_numpy(dtype=float)  # noqa: E731
    e = table["energy"].to_numpy(dtype=float)
    y = col("observed")
    unit = table.attrs.get("y_title", "counts per bin")
    floor = None
    if log_y:
        pos = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in
                              [y] + [col(c) for c in ("predicted", "truth") if c in table]])
        floor = float(pos.min()) * 0.5 if len(pos) else 1e-3
    ink = "#E8E8E8" if dark else "#222"  # the observed points and their error bars
    bars = "rgba(232,232,232,{a})" if dark else "rgba(40,40,40,{a})"
    data = []
    for i, (name, values) in enumerate((overlays or {}).items()):
        data.append(_scatter(e, values, name, "lines", legendgroup="neighbours",
                             line=dict(width=1, shape="hvh", color=f"rgba(68,119,170,{0.55 - 0.03 * i:.2f})"),
                             hovertemplate="%{x:.2f} keV: %{y:.3g}<extra>" + name + "</extra>"))
    ok = y > 0 if log_y else np.ones(len(y), bool)
    data.append(_scatter(
        e[ok], y[ok], "observed", "markers", marker=dict(size=5, color=ink),
        error_y=dict(type="data", symmetric=False, array=col("err_hi")[ok], arrayminus=col("err_lo")[ok],
                     thickness=1, width=0, color=bars.format(a=0.45)),
        error_x=dict(type="data", array=col("width")[ok] / 2, thickness=1, width=0, color=bars.format(a=0.25)),
        hovertemplate="%{x:.2f} keV: %{y:.3g}<extra>observed</extra>"))
    if log_y and (~ok).any():
        data.append(_scatter(e[~ok], np.full((~ok).sum(), floor), "≤ 0 (at the floor)", "markers",
                             marker=dict(size=7, symbol="triangle-down-open", color=ink), customdata=y[~ok],
                             hovertemplate="%{x:.2f} keV: %{customdata:.3g}<extra>observed</extra>"))
    if "truth" in table:
        data.append(_scatter(e, col("truth"), "noiseless truth (simulation)", "lines",
                             line=dict(color="#2CA02C", width=2, dash="dash", shape="hvh")))
    if "predicted" in table:
        data.append(_scatter(e, col("predicted"), "reconstruction", "lines",
                             line=dict(color="#D62728", width=2.5, shape="hvh")))
    if "background" in table and float(np.abs(col("background")).sum()) > 0:
        data.append(_scatter(e, col("background"), "background", "lines",
                             line=dict(color="#8C8C8C", width=1, shape="hvh"),
                             fill=None if log_y else "tozeroy", fillcolor="rgba(140,140,140,0.15)"))
    layout = json.loads(_grid(has_res))
    for name, props in house_style(dark, tuple(k for k in layout if k.startswith(("xaxis", "yaxis")))).items():
        if isinstance(props, dict):
            layout.setdefault(name, {}).update(props)
        else:
            layout[name] = props
    x_axes = [layout["xaxis"]] + ([layout["xaxis2"]] if has_res else [])
    for ax in x_axes:
        ax.update(type="log", tickvals=TICKS)
    x_axes[-1]["title"] = {"text": "energy (keV)"}
    if has_res:
        data.append(_scatter(e, col("residual"), "residual", "markers", bottom=True, showlegend=False,
                             marker=dict(size=4, color="#D62728"),
                             hovertemplate="%{x:.2f} keV: %{y:.2f}<extra>residual</extra>"))
        layout["shapes"] = [dict(type="line", line=dict(color="#888", width=1), x0=0, x1=1, xref="x2 domain",
                                 y0=0, y1=0, yref="y2")]
        layout["yaxis2"].update(title={"text": residual_title}, zeroline=False)
    layout["yaxis"].update(title={"text": unit}, type="log" if log_y else "linear")
    if log_y:
        top = max(float(np.nanmax(np.where(np.isfinite(y), y + col("err_hi"), np.nan), initial=floor)), floor * 10)
        layout["yaxis"]["range"] = [float(np.log10(floor * 0.8)), float(np.log10(top * 1.5))]
    if simulated:
        title = f"{title} <span style='font-size:11px;color:#B35900'>· simulated counts</span>"
    layout.update(title=dict(text=title, x=0.01, y=0.985, yanchor="top", font=dict(size=14)), height=height,
                  margin=dict(l=10, r=10, t=78, b=10), hovermode="x unified",
                  legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0, font=dict(size=11),
                              bgcolor="rgba(0,0,0,0)"))
    return go.Figure({"data": data, "layout": layout}, _validate=False)


UNFOLDED_UNITS = {"flux": "photons cm⁻² s⁻¹ keV⁻¹", "eflux": "E·F(E), keV cm⁻² s⁻¹ keV⁻¹"}


def unfolded_figure(model: pd.DataFrame, data: pd.DataFrame, column: str, *, title: str = "",
                    simulated: bool = False, height: int = 480, dark: bool = False) -> go.Figure:
    """The unfolded spectrum (``explorer.logic.unfolded.unfolded_spectrum``'s tables) as XSPEC's ufspec/eufspec
    draws it: log-log, the data with their error bars over the bins of good quality, the decoded model over the
    data's energy range only (outside it no count constrains the model), the noiseless truth for simulated rows;
    the energy ticks of the counts view, powers of ten on the flux axis. ``column``: "flux" or "eflux"."""
    prefix = "" if column == "flux" else "e"
    d = data[data["good"] & np.isfinite(data[column]) & (data[column] > 0)]
    m = model[model["constrained"]]
    ink = "#E8E8E8" if dark else "#222"
    traces = [_scatter(d["energy"], d[column], "data (unfolded)", "markers", marker=dict(size=5, color=ink),
                       error_y=dict(type="data", symmetric=False, array=d[prefix + "err_hi"].to_numpy(),
                                    arrayminus=d[prefix + "err_lo"].to_numpy(), thickness=1, width=0),
                       error_x=dict(type="data", array=((d["e_hi"] - d["e_lo"]) / 2).to_numpy(), thickness=1,
                                    width=0),
                       hovertemplate="%{x:.2f} keV: %{y:.3g}<extra>data</extra>")]
    if "truth" in data:
        t = data[np.isfinite(data[prefix + "truth"]) & (data[prefix + "truth"] > 0)]
        traces.append(_scatter(t["energy"], t[prefix + "truth"], "noiseless truth, unfolded the same way", "lines",
                               line=dict(color="#2CA02C", width=2, dash="dash", shape="hvh")))
    traces.append(_scatter(m["energy"], m[column], "decoded model", "lines", line=dict(color="#D62728", width=2),
                           hovertemplate="%{x:.2f} keV: %{y:.3g}<extra>model</extra>"))
    layout: dict[str, Any] = house_style(dark)
    layout["xaxis"].update(type="log", tickvals=TICKS, title={"text": "energy (keV)"})
    layout["yaxis"].update(type="log", exponentformat="power", title={"text": UNFOLDED_UNITS[column]})
    if simulated:
        title = f"{title} <span style='font-size:11px;color:#B35900'>· simulated counts</span>"
    layout.update(title=dict(text=title, x=0.01, y=0.985, yanchor="top", font=dict(size=14)), height=height,
                  margin=dict(l=10, r=10, t=78, b=10),
                  legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0, font=dict(size=11),
                              bgcolor="rgba(0,0,0,0)"))
    return go.Figure({"data": traces, "layout": layout}, _validate=False)
