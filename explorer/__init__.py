"""The Streamlit explorer: pages (``explorer/pages``) and the little glue they share. Computation lives in
``core.explore`` (tested without Streamlit); figures in ``explorer.figures`` (Plotly only)."""
