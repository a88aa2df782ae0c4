"""The Streamlit explorer: ``pages/`` (one file per page, declared in app.py), ``ui/`` (cached loaders, sidebar
widgets, Plotly figures, the source view) and ``logic/`` (everything that computes, without Streamlit)."""
