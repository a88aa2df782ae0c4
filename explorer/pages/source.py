"""Source: one source in full. Pick it on the map, in a table, or by name here."""
from __future__ import annotations

import streamlit as st

from explorer.logic.filters import search
from explorer.ui import common, source_view

run = common.page_frame("Source")
sources = run.sources

q = st.text_input("Find a source by name or id", key="xle_src_query", placeholder="e.g. 2CXO J0537")
if q:
    hits = search(sources, q, limit=25)
    if hits.empty:
        st.warning(f"No source name or id contains “{q}”.")
    else:
        common.selectable_table(hits[["id", "name", "class", "split", "counts"]], key="src_search",
                                height=min(300, 38 + 35 * len(hits)))

row = common.current_source_row(run)
if row is None:
    st.info("No source open yet: click a point on the map, a row in a table, or search above.",
            icon=":material/touch_app:")
    if st.button("Open a random source", icon=":material/casino:"):
        common.open_source(str(sources["id"].sample(1).iloc[0]))
        st.rerun()
else:
    source_view.render_full(run, row)
