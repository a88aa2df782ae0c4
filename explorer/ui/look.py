"""How pages look beyond Streamlit's defaults: the phone layout (the chart right after the title) and whether
the reader's page is dark (for figures drawn in the app's own style)."""
from __future__ import annotations

import streamlit as st


def dark_theme() -> bool:
    """Whether the reader's page is dark (Streamlit infers it from the page background; light when unknown), for
    figures drawn in the app's own style (``figures_spectrum.house_style``)."""
    theme = getattr(st.context, "theme", None)
    return getattr(theme, "type", None) == "dark"


def narrow_layout() -> None:
    """At phone width (below 640 px) the chart of a page (a container keyed ``xle_first``) comes right after
    the title, before the notices and controls."""
    st.html("<style>@media (max-width: 640px) { "  # every wrapper up from the chart (the map's is in a fragment)
            "[data-testid='stLayoutWrapper']:has(.st-key-xle_first) { order: -1; } "
            "[data-testid='stMainBlockContainer'] [data-testid='stElementContainer']:has(h1) { order: -2; } }"
            "</style>")
