"""The sky figure: ``figures.map_figure`` on Aitoff plane coordinates, under a graticule (no Streamlit here)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.logic import sky
from explorer.ui import figures


def sky_figure(sources: pd.DataFrame, xy: np.ndarray, frame: str, *, height: int = 420, **map_kwargs) -> go.Figure:
    """Sources at Aitoff coordinates ``xy`` (N, 2), coloured, filtered and selected as on the map
    (``map_kwargs`` go to ``map_figure``), with meridians and parallels underneath; equal aspect."""
    with_xy = sources.assign(sky_x=xy[:, 0], sky_y=xy[:, 1])
    fig = figures.map_figure(with_xy, "sky_x", "sky_y", height=height, x_title="", y_title="", **map_kwargs)
    gx, gy = sky.graticule()
    fig.add_trace(go.Scattergl(x=gx, y=gy, mode="lines", line=dict(color="rgba(128,128,128,0.35)", width=1),
                               hoverinfo="skip", showlegend=False, name="graticule"))
    fig.data = fig.data[-1:] + fig.data[:-1]  # the graticule under the sources, its labels above them
    for (x, y, text), pos, name in ((sky.lon_labels(frame), "top center", "longitude labels"),
                                    (sky.lat_labels(), "middle left", "latitude labels")):
        fig.add_trace(go.Scatter(x=x, y=y, mode="text", text=text, textposition=pos, hoverinfo="skip",
                                 textfont=dict(size=11, color="#555"), showlegend=False, name=name))
    fig.update_xaxes(visible=False, range=[-215, 200])
    fig.update_yaxes(visible=False, range=[-95, 95], scaleanchor="x", scaleratio=1)
    fig.update_traces(selector=_has_colorbar, marker_colorbar=dict(len=0.7, lenmode="fraction", y=0.5))
    fig.update_layout(uirevision=f"sky-{frame}")
    return fig


def _has_colorbar(trace) -> bool:
    marker = getattr(trace, "marker", None)
    return marker is not None and marker.colorbar.title.text is not None


def sky_caption(frame: str) -> str:
    """What the figure shows, under it (a title inside the figure was cut off at narrow widths)."""
    lon, lat = ("RA", "Dec") if frame == "equatorial" else ("l", "b")
    return f"Aitoff projection, {sky.FRAMES[frame]}: {lon} grows to the left (as on the sky), {lat} up."
