"""Plotly figures for the explorer pages (no Streamlit here, so they are tested directly).

Every point carries its source ``id`` in ``customdata``; selections are mapped back to sources by that id,
never by the point's index in a trace (traces are split by class and filtered, so indices shift).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.data.classes import CLASSES, UNLABELLED
from explorer.logic.columns import label as col_label
from explorer.logic.runs import class_labels
from explorer.ui.figures_spectrum import house_style
from explorer.ui.figures_spectrum import spectrum_figure  # noqa: F401  (figures.spectrum_figure)

CLASS_COLOURS = {
    "AGN": "#4477AA", "CV": "#EE6677", "HM-STAR": "#228833", "LM-STAR": "#CCBB44",
    "HMXB": "#66CCEE", "LMXB": "#AA3377", "NS": "#E67E22", "YSO": "#6B4C9A", UNLABELLED: "#B8B8B8",
}
EXTRA_COLOURS = ("#332288", "#117733", "#999933", "#882255", "#44AA99", "#DDCC77")
COLOUR_CLASS = "class"
COLOUR_RECON = "recon_error"


def class_order(labels: pd.Series) -> list[str]:
    present = set(labels.unique())
    known = [c for c in CLASSES if c in present]
    other = sorted(present - set(CLASSES) - {UNLABELLED})
    return known + other + ([UNLABELLED] if UNLABELLED in present else [])


def class_colour(label: str, i: int = 0) -> str:
    return CLASS_COLOURS.get(label, EXTRA_COLOURS[i % len(EXTRA_COLOURS)])


def _fmt(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "n/a" if not np.isfinite(f) else (f"{f:.0f}" if f == int(f) and abs(f) >= 10 else f"{f:.3g}")


def hover_text(sources: pd.DataFrame) -> np.ndarray:
    """One hover label per source: name, class, hardness ratios, counts."""
    labels = class_labels(sources).to_numpy()
    name = sources["name"].astype(str).to_numpy()
    cnt = sources["counts"].to_numpy()
    hm, hs, ms = (sources[c].to_numpy(dtype=float, na_value=np.nan) for c in ("hard_hm", "hard_hs", "hard_ms"))
    return np.array([f"<b>{n}</b><br>class: {c}<br>HR hm {_fmt(a)} · hs {_fmt(b)} · ms {_fmt(d)}<br>counts: {_fmt(k)}"
                     for n, c, a, b, d, k in zip(name, labels, hm, hs, ms, cnt)], dtype=object)


def map_figure(sources: pd.DataFrame, x: str, y: str, *, colour: str = COLOUR_CLASS, mask: np.ndarray | None = None,
               hover: np.ndarray | None = None, selected_ids: list[str] | tuple[str, ...] = (),
               focus_id: str | None = None, x_title: str | None = None, y_title: str | None = None,
               height: int = 620, marker_size: float | None = None, log_colour: bool = False,
               dragmode: str = "zoom") -> go.Figure:
    """The latent map: ``x``/``y`` columns of ``sources``, only rows in ``mask``, coloured by class (one trace
    per class, legend hides classes) or by a numeric column (one trace, continuous scale; NaN in grey).
    Selected sources get an outline, the open source a star. WebGL throughout."""
    mask = np.ones(len(sources), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    hover = hover_text(sources) if hover is None else hover
    sub = sources[mask]
    hov = hover[mask]
    n = len(sub)
    size = marker_size or (7 if n < 3000 else 5 if n < 30000 else 3)
    ids = sub["id"].astype(str).to_numpy()
    xs, ys = sub[x].to_numpy(dtype=float), sub[y].to_numpy(dtype=float)
    fig = go.Figure()
    common = dict(mode="markers", hovertemplate="%{text}<extra></extra>")
    if colour == COLOUR_CLASS:
        labels = class_labels(sub).to_numpy()
        order = class_order(pd.Series(labels))
        colours = {lab: class_colour(lab, i) for i, lab in enumerate(order)}
        # unlabelled first, small and pale, so that the labelled classes are drawn on top of them
        for lab in ([UNLABELLED] if UNLABELLED in order else []) + [c for c in order if c != UNLABELLED]:
            m = labels == lab
            pale = lab == UNLABELLED
            fig.add_trace(go.Scattergl(
                x=xs[m], y=ys[m], customdata=ids[m], text=hov[m], name=f"{lab} ({m.sum():,})",
                marker=dict(size=size * (0.8 if pale else 1.25), color=colours[lab], opacity=0.35 if pale else 0.85,
                            line=dict(width=0)), **common))
    else:
        v = sub[colour].to_numpy(dtype=float, na_value=np.nan)
        title = col_label(colour)
        if log_colour:
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where(v > 0, np.log10(v), np.nan)
            title = f"log10 {title}"
        ok = np.isfinite(v)
        if (~ok).any():
            fig.add_trace(go.Scattergl(x=xs[~ok], y=ys[~ok], customdata=ids[~ok], text=hov[~ok],
                                       name=f"no value ({(~ok).sum():,})",
                                       marker=dict(size=size, color="#C8C8C8", opacity=0.5), **common))
        lo, hi = (np.percentile(v[ok], [1, 99]) if ok.any() else (0.0, 1.0))
        if hi <= lo:
            hi = lo + 1e-9
        fig.add_trace(go.Scattergl(
            x=xs[ok], y=ys[ok], customdata=ids[ok], text=hov[ok], name=colour, showlegend=False,
            marker=dict(size=size, color=v[ok], colorscale="Viridis", cmin=lo, cmax=hi, opacity=0.85,
                        colorbar=dict(title=dict(text=title, side="right"), thickness=14)), **common))
    if len(selected_ids):
        sel = np.isin(ids, np.asarray(selected_ids, dtype=str))
        if sel.any():
            fig.add_trace(go.Scattergl(x=xs[sel], y=ys[sel], customdata=ids[sel], text=hov[sel],
                                       name=f"selected ({sel.sum():,})",
                                       marker=dict(size=size + 3, color="rgba(0,0,0,0)",
                                                   line=dict(width=0.8 if sel.sum() > 500 else 1.2,
                                                             color="rgba(0,0,0,0.55)")), **common))
    if focus_id is not None:
        f = ids == focus_id
        if f.any():
            fig.add_trace(go.Scattergl(x=xs[f], y=ys[f], customdata=ids[f], text=hov[f], name="open source",
                                       marker=dict(size=16, symbol="star", color="#FFD700",
                                                   line=dict(width=1.5, color="#111")), **common))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60, b=10), dragmode=dragmode,
                      legend=dict(itemsizing="constant", orientation="h", yanchor="bottom", y=1.01, x=0,
                                  title=dict(text="classes (hide with the Class filter):" if colour == COLOUR_CLASS
                                             else ""),
                                  # a legend click would hide a class in this browser only, lost on the next
                                  # redraw and absent from the link: the Class filter is the one way to hide
                                  itemclick=False, itemdoubleclick=False),
                      xaxis_title=x_title or x, yaxis_title=y_title or y, uirevision="map", hovermode="closest",
                      clickmode="event+select")
    return fig


def add_point(fig: go.Figure, x: float, y: float, label: str, colour: str = "#E4002B") -> go.Figure:
    """Mark a point that is not a catalog source (an uploaded spectrum) on a map."""
    fig.add_trace(go.Scattergl(x=[x], y=[y], mode="markers+text", text=[label], textposition="top center",
                               name=label, hoverinfo="text",
                               marker=dict(size=18, symbol="diamond", color=colour, line=dict(width=1.5, color="#111"))))
    return fig


def histogram_figure(values: np.ndarray, title: str, x_title: str, *, log_x: bool = False, bins: int = 60,
                     height: int = 220, dark: bool = False) -> go.Figure:
    """A histogram binned here (60 bars travel to the browser, not one value per source: 1.3 million values were
    10 MB of JSON), in the app's style (draw with ``theme=None``). ``log_x`` bins log10 of the positive values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)] if log_x else v[np.isfinite(v)]
    x = np.log10(v) if log_x else v
    counts, edges = np.histogram(x, bins=bins) if len(x) else (np.zeros(0), np.zeros(1))
    centres, widths = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    if log_x:
        centres, widths = 10 ** centres, 10 ** edges[1:] - 10 ** edges[:-1]
    fig = go.Figure(go.Bar(x=centres, y=counts, width=widths, marker_color="#4477AA", marker_line_width=0,
                           hovertemplate="%{x:.3g}: %{y:,} sources<extra></extra>"))
    fig.update_layout(house_style(dark), height=height, margin=dict(l=10, r=10, t=30, b=10), bargap=0,
                      title=dict(text=title, font=dict(size=13)), yaxis_title="sources",
                      xaxis=dict(title=x_title, type="log", dtick=1) if log_x else dict(title=x_title))
    return fig


def latent_bar(z: np.ndarray, spread: np.ndarray | None = None, height: int = 220) -> go.Figure:
    """The source's latent values; grey bars show the 5-95 % range of the whole run for scale."""
    names = [f"z{i}" for i in range(len(z))]
    fig = go.Figure()
    if spread is not None:
        fig.add_trace(go.Bar(x=names, y=spread[1] - spread[0], base=spread[0], marker_color="rgba(150,150,150,0.25)",
                             name="5–95 % of run", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=names, y=z, mode="markers", marker=dict(size=11, color="#D62728"), name="this source",
                             hovertemplate="%{x} = %{y:.3f}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False, barmode="overlay")
    return fig


def splom_figure(sources: pd.DataFrame, columns: list[str], *, colour: str = COLOUR_CLASS,
                 mask: np.ndarray | None = None, height: int = 900, max_points: int | None = None,
                 seed: int = 0, log_colour: bool = False) -> go.Figure:
    """Scatter matrix of ``columns`` coloured like the map (class traces, unlabelled underneath, or a continuous
    column, log10 when ``log_colour``)."""
    mask = np.ones(len(sources), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    sub = sources[mask]
    if max_points is not None and len(sub) > max_points:
        sub = sub.sample(max_points, random_state=seed)
    size = 3 if len(sub) > 3000 else 4
    dims = lambda d: [dict(label=c, values=d[c]) for c in columns]  # noqa: E731
    fig = go.Figure()
    common = dict(diagonal_visible=False, showupperhalf=False)
    if colour == COLOUR_CLASS:
        labels = class_labels(sub).to_numpy()
        order = class_order(pd.Series(labels))
        colours = {lab: class_colour(lab, i) for i, lab in enumerate(order)}
        for lab in ([UNLABELLED] if UNLABELLED in order else []) + [c for c in order if c != UNLABELLED]:
            d = sub[labels == lab]
            fig.add_trace(go.Splom(dimensions=dims(d), name=lab, customdata=d["id"].astype(str),
                                   text=d["name"].astype(str),
                                   marker=dict(size=size, color=colours[lab],
                                               opacity=0.35 if lab == UNLABELLED else 0.7), **common))
    else:
        v = sub[colour].to_numpy(dtype=float, na_value=np.nan)
        if log_colour:
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where(v > 0, np.log10(v), np.nan)
            title = f"log10 {col_label(colour)}"
        else:
            title = col_label(colour)
        ok = np.isfinite(v)
        lo, hi = (np.percentile(v[ok], [1, 99]) if ok.any() else (0.0, 1.0))
        fig.add_trace(go.Splom(dimensions=dims(sub), customdata=sub["id"].astype(str), text=sub["name"].astype(str),
                               marker=dict(size=size, color=np.where(ok, v, lo), colorscale="Viridis", cmin=lo,
                                           cmax=max(hi, lo + 1e-9), showscale=True,
                                           colorbar=dict(title=dict(text=title))), **common))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), dragmode="select",
                      legend=dict(itemsizing="constant"))
    return fig


def confusion_figure(matrix: np.ndarray, labels: list[str], title: str = "", height: int = 420) -> go.Figure:
    """Row-normalised confusion matrix (each row: the recall distribution of a true class); counts on hover."""
    m = np.asarray(matrix, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = m / m.sum(axis=1, keepdims=True)
    fig = go.Figure(go.Heatmap(z=frac, x=labels, y=labels, colorscale="Blues", zmin=0, zmax=1,
                               text=m.astype(int), texttemplate="%{z:.2f}",
                               hovertemplate="true %{y} → predicted %{x}<br>%{text} sources (%{z:.2f})<extra></extra>",
                               colorbar=dict(title=dict(text="fraction"))))
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="predicted", yaxis_title="true",
                      yaxis=dict(autorange="reversed"))
    return fig


def traversal_figure(edges: np.ndarray, now: np.ndarray, *, start: np.ndarray | None = None,
                     observed: np.ndarray | None = None, y_title: str = "counts per bin",
                     height: int = 460) -> go.Figure:
    """The decoded spectrum for the slider values, the starting point's decoded spectrum and the starting source's
    observed counts for reference, all in ``y_title``'s unit."""
    e = 0.5 * (edges[1:] + edges[:-1])
    fig = go.Figure()
    if observed is not None:
        fig.add_trace(go.Scatter(x=e, y=observed, mode="markers", name="observed (start source)",
                                 marker=dict(size=4, color="rgba(30,30,30,0.45)")))
    if start is not None:
        fig.add_trace(go.Scatter(x=e, y=start, mode="lines", name="decoded start",
                                 line=dict(color="#888", width=1.5, dash="dot", shape="hvh")))
    fig.add_trace(go.Scatter(x=e, y=now, mode="lines", name="decoded from sliders",
                             line=dict(color="#D62728", width=3, shape="hvh")))
    fig.update_xaxes(type="log", title_text="energy (keV)", tickvals=[0.5, 0.7, 1, 1.5, 2, 3, 4, 5, 7])
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    return fig
