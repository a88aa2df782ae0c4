"""The Streamlit explorer: pages (``explorer/pages``) and the little glue they share. Computation lives in
``explorer.logic`` (tested without Streamlit); figures in ``explorer.ui.figures`` (Plotly only)."""
