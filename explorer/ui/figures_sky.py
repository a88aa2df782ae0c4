"""The sky figure: ``figures.map_figure`` on Aitoff plane coordinates, under a graticule (no Streamlit here)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.logic import sky
from explorer.ui import figures


def sky_figure(sources: pd.DataFrame, xy: np.ndarray, frame: str, *, height: int = 560, **map_kwargs) -> go.Figure:
    """Sources at Aitoff coordinates ``xy`` (N, 2), coloured, filtered and selected as on the map
    (``map_kwargs`` go to ``map_figure``), with meridians and parallels underneath; equal aspect."""
    with_xy = sources.assign(sky_x=xy[:, 0], sky_y=xy[:, 1])
    fig = figures.map_figure(with_xy, "sky_x", "sky_y", height=height, x_title="", y_title="", **map_kwargs)
    gx, gy = sky.graticule()
    lx, ly, lt = sky.lon_labels(frame)
    under = [go.Scattergl(x=gx, y=gy, mode="lines", line=dict(color="rgba(128,128,128,0.35)", width=1),
                          hoverinfo="skip", showlegend=False, name="graticule"),
             go.Scatter(x=lx, y=ly, mode="text", text=lt, textfont=dict(size=10, color="#888"), hoverinfo="skip",
                        showlegend=False, name="longitude labels")]
    fig.add_traces(under)
    fig.data = fig.data[-2:] + fig.data[:-2]  # the graticule under the sources
    lon, lat = ("RA", "Dec") if frame == "equatorial" else ("l", "b")
    fig.update_xaxes(visible=False, range=[-185, 185])
    fig.update_yaxes(visible=False, range=[-95, 95], scaleanchor="x", scaleratio=1)
    fig.update_layout(uirevision=f"sky-{frame}", title=dict(text=f"Aitoff projection, {sky.FRAMES[frame]} · "
                                                                  f"{lon} grows to the left", x=0.5, y=0.02,
                                                            yanchor="bottom", font=dict(size=11)))
    return fig
