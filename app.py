"""X-ray Latent Explorer: ``streamlit run app.py`` (or ./scripts/run). Only declares the pages."""
import streamlit as st

st.set_page_config(page_title="X-ray Latent Explorer", page_icon=":material/scatter_plot:", layout="wide")

pages = {
    "Explore": [
        st.Page("explorer/pages/map.py", title="Map", icon=":material/scatter_plot:", default=True),
        st.Page("explorer/pages/source.py", title="Source", icon=":material/show_chart:"),
        st.Page("explorer/pages/sky.py", title="Sky", icon=":material/public:"),
        st.Page("explorer/pages/pairs.py", title="Pairwise", icon=":material/grid_on:"),
        st.Page("explorer/pages/outliers.py", title="Outliers", icon=":material/crisis_alert:"),
    ],
    "Measure and learn": [
        st.Page("explorer/pages/classify.py", title="Classifier metrics", icon=":material/analytics:"),
        st.Page("explorer/pages/traversal.py", title="Latent traversal", icon=":material/tune:"),
    ],
    "Your data": [
        st.Page("explorer/pages/upload.py", title="Your spectrum", icon=":material/upload_file:"),
        st.Page("explorer/pages/run.py", title="Run", icon=":material/info:"),
    ],
    "Learn": [
        st.Page("explorer/pages/help.py", title="Help: reading the explorer", icon=":material/school:"),
    ],
}
st.navigation(pages).run()
