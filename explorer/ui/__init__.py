"""Streamlit glue shared by the pages (common), Plotly figures (figures) and the source view."""
