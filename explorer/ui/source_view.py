"""One source laid out: spectrum with reconstruction, truth and residuals; catalog row; latents; neighbours."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.logic import links
from explorer.logic.neighbours import neighbour_table
from explorer.logic.runs import RunView
from explorer.logic.spectra import spectrum_table
from core.evaluation.measures import predicted_counts
from explorer.ui import common, figures


def decoded_shape(run: RunView, row: int) -> np.ndarray:
    """The decoded source shape (B,) of a source: stored reconstructions when encode wrote them, else the
    model decodes the stored latent."""
    if run.reconstructions is not None:
        return np.asarray(run.reconstructions[row], dtype=float)
    from core.run.encode import decode_latents

    model = common.get_model(*common.run_key(run))
    return decode_latents(model, np.asarray(run.latents[row:row + 1], dtype=np.float32))[0].astype(float)


def source_table(run: RunView, row: int) -> pd.DataFrame:
    ds = run.dataset
    counts = np.asarray(ds.spectra[row], dtype=float)
    bkg = np.asarray(ds.background[row], dtype=float)
    w = None if ds.weights is None else np.asarray(ds.weights[row])
    pred = predicted_counts(decoded_shape(run, row)[None], counts[None], bkg[None], None if w is None else w[None])[0]
    truth = None if ds.truth is None else np.asarray(ds.truth[row], dtype=float) + bkg
    return spectrum_table(ds.energy_edges, counts, background=bkg, predicted=pred, truth=truth, weights=w)


def _title(r: pd.Series) -> str:
    cls = r["class"] or "unlabelled"
    return f"{r['name']} · {cls} · {int(r['counts']):,} counts"


def link_buttons(name: str) -> None:
    csc, simbad = links.csc_url(name), links.simbad_url(name)
    cols = st.columns(2)
    if csc:
        cols[0].link_button("CSC page", csc, icon=":material/open_in_new:", help=f"{name} in the Chandra Source Catalog")
    if simbad:
        cols[1].link_button("SIMBAD", simbad, icon=":material/open_in_new:")


def render_spectrum(run: RunView, row: int, *, height: int = 480, key: str = "spec") -> None:
    r = run.sources.iloc[row]
    log_y = st.toggle("log counts axis", key=f"{key}_log", value=False)
    table = source_table(run, row)
    st.plotly_chart(figures.spectrum_figure(table, title=_title(r), simulated=bool(r.get("simulated", False)),
                                            height=height, log_y=log_y), key=f"{key}_fig", width="stretch")
    parts = [f"reconstruction error (deviance/bin): **{r['recon_error']:.3f}**" if np.isfinite(r["recon_error"]) else ""]
    if "truth" in table:
        parts.append("green dashed: the noiseless truth the simulation drew these counts from")
    st.caption(" · ".join(p for p in parts if p))


def render_neighbours(run: RunView, row: int, *, k: int = 10, key: str = "nb") -> None:
    idx = common.get_index(*common.run_key(run))
    rows, dist = idx.neighbours_of_row(row, k)
    table = neighbour_table(run.sources, rows, dist)
    st.markdown(f"**{k} nearest neighbours** in the {run.latent_dim}-d latent space (click a row to open it)")
    common.selectable_table(table, key=f"{key}_{row}", hide=("id",))


def render_full(run: RunView, row: int) -> None:
    r = run.sources.iloc[row]
    head = st.columns([3, 1])
    head[0].subheader(f"{r['name']}")
    head[0].caption(f"id `{r['id']}` · class **{r['class'] or 'unlabelled'}** · split {r['split']}")
    with head[1]:
        link_buttons(str(r["name"]))
    render_spectrum(run, row, height=520, key="src")
    left, right = st.columns([1, 1])
    with left:
        st.markdown("**Latent values** (grey: 5–95 % of the run)")
        spread = np.percentile(run.latents, [5, 95], axis=0)
        st.plotly_chart(figures.latent_bar(np.asarray(run.latents[row], dtype=float), spread), key="src_latent",
                        width="stretch")
        st.dataframe(pd.DataFrame([np.round(np.asarray(run.latents[row], dtype=float), 4)],
                                  columns=run.latent_columns), hide_index=True, width="stretch")
        render_neighbours(run, row, key="src_nb")
    with right:
        st.markdown("**Catalog row**")
        skip = {"row"} | set(run.latent_columns)
        vals = {k: v for k, v in r.items() if k not in skip}
        st.dataframe(pd.DataFrame({"column": list(vals), "value": [str(v) for v in vals.values()]}),
                     hide_index=True, width="stretch", height=560)


def render_compact(run: RunView, row: int) -> None:
    """The map page's side panel: the spectrum and its reconstruction, key numbers, a link to the full page."""
    r = run.sources.iloc[row]
    render_spectrum(run, row, height=430, key="map_src")
    facts = {"hard_hm": r["hard_hm"], "hard_hs": r["hard_hs"], "hard_ms": r["hard_ms"]}
    st.caption(" · ".join(f"{k} {v:+.2f}" for k, v in facts.items() if np.isfinite(v)))
    c = st.columns([1, 1, 1])
    if c[0].button("Source page", icon=":material/open_in_full:", key="map_open_full",
                   help="catalog row, latent values and the 10 nearest neighbours"):
        common.open_source(str(r["id"]), go_to_page=True)
    csc = links.csc_url(str(r["name"]))
    if csc:
        c[1].link_button("CSC", csc, icon=":material/open_in_new:", help="this source in the Chandra Source Catalog")
    if c[2].button("Traverse", icon=":material/tune:", key="map_traverse", help="move its latent values by hand"):
        common.open_source(str(r["id"]))
        st.switch_page(common.PAGES["traversal"])
