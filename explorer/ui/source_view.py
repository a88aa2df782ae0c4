"""One source laid out: spectrum with reconstruction, truth and residuals; catalog row; latents; neighbours."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.logic import links
from explorer.logic.columns import label, reader_notes, shown_value
from explorer.logic.neighbours import neighbour_table
from explorer.logic.runs import RunView
from explorer.logic.spectra import (RESIDUALS, UNITS, SpectrumOptions, export_csv, overlay, spectrum_table,
                                     view_table)
from explorer.logic.unfolded import row_counts_shape, unfolded_spectrum
from core.evaluation.measures import predicted_counts
from explorer.ui import common, figures, look, sampui
from explorer.ui import keys as K
from explorer.ui.figures_spectrum import unfolded_figure


def decoded_shape(run: RunView, row: int) -> np.ndarray:
    """The decoded source shape (B,) of a source: stored reconstructions when encode wrote them, else the
    model decodes the stored latent (through the source's own response)."""
    if run.reconstructions is not None:
        return np.asarray(run.reconstructions[row], dtype=float)
    model = common.get_model(*common.run_key(run))
    return row_counts_shape(model, run.dataset, row, run.latents[row])


def source_table(run: RunView, row: int) -> pd.DataFrame:
    """The row's spectrum table, computed once per row (a recolouring or a selection reruns the page with the
    same source open; the fit of the predicted counts is most of the time of a click)."""
    return _source_table(*common.run_key(run), row)


@st.cache_data(show_spinner=False, max_entries=64)
def _source_table(run_dir: str, mtime: float, row: int) -> pd.DataFrame:
    run = common.get_run(run_dir, mtime)
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


def link_buttons(r: pd.Series) -> None:
    """CSC and SIMBAD by name and, when the row has a position, by coordinates; SAMP to DS9 / Aladin."""
    name = str(r["name"])
    ra, dec = r.get("ra"), r.get("dec")
    by_name = [("CSC (name)", links.csc_url(name)), ("SIMBAD (name)", links.simbad_url(name))]
    by_pos = [("CSC (cone 6″)", links.csc_cone_url(ra, dec)), ("SIMBAD (cone 5″)", links.simbad_cone_url(ra, dec))]
    found = [(label, href) for label, href in by_name + by_pos if href]
    cols = st.columns(len(found) + 1)
    for c, (label, href) in zip(cols, found):
        c.link_button(label, href, icon=":material/open_in_new:", width="stretch")
    if links.simbad_cone_url(ra, dec):
        sampui.point_button(float(ra), float(dec), key=f"samp_pt_{r['id']}", where=cols[-1])


UNFOLDED_VIEWS = {"counts": None, "photons": "flux", "E·F(E)": "eflux"}


def render_unfolded(run: RunView, row: int, column: str, *, height: int, key: str) -> None:
    """The unfolded spectrum (issue 8): photons cm-2 s-1 keV-1 or E·F(E), data and the decoded photon model."""
    try:
        model_t, data = unfolded_spectrum(common.get_model(*common.run_key(run)), run.dataset, row, run.latents[row])
    except ValueError as exc:
        st.info(str(exc))
        return
    r = run.sources.iloc[row]
    fig = unfolded_figure(model_t, data, column, title=f"{r['name']} · unfolded",
                          simulated=bool(r.get("simulated", False)), height=height, dark=look.dark_theme())
    st.plotly_chart(fig, key=f"{key}_unfolded", width="stretch", config={"displaylogo": False}, theme=None)
    st.caption("Unfolded as XSPEC's ufspec: the model's flux at each bin times data / folded model. The decoded "
               "model is the photon spectrum before the ARF x RMF, drawn over the data's energy range (outside it "
               "no count constrains it); its wiggles narrower than the detector's resolution (~0.1-0.2 keV FWHM) "
               "are smoothed away by the RMF, so the counts do not constrain them either. The unfolded data "
               "depend on the model, as any unfolding does.")


def spectrum_options(key: str, edges: np.ndarray, *, expanded: bool) -> tuple[SpectrumOptions, bool]:
    """The spectrum's view controls (unit, background, grouping, energy range, residuals, log axis)."""
    with st.expander("Spectrum view: units, background, grouping, energy range", expanded=expanded,
                     icon=":material/tune:"):
        c = st.columns(3)
        common._init(K.SPEC_UNIT, "counts", lambda v: v in UNITS)
        unit = c[0].segmented_control("Unit", list(UNITS), format_func=UNITS.get, key=K.SPEC_UNIT) or "counts"
        common._init(K.SPEC_SUB, False)
        sub = c[1].toggle("subtract background", key=K.SPEC_SUB,
                          help="observed minus the background expected in the source region (scaled by area "
                               "and exposure)")
        common._init(K.SPEC_LOG, False)
        log_y = c[2].toggle("log y axis", key=K.SPEC_LOG)
        c = st.columns(3)
        common._init(K.SPEC_GROUP, 0, lambda v: isinstance(v, int) and 0 <= v <= 500)
        mn = c[0].number_input("Group to ≥ N counts", 0, 500, step=5, key=K.SPEC_GROUP,
                               help="adjacent bins added until each group holds N counts, as grppha 'group min N' "
                                    "(0: no grouping); a last group short of N is left out, as grppha marks it bad")
        lo, hi = float(edges[0]), float(edges[-1])
        rng = c[1].slider("Energy range (keV)", lo, hi, (lo, hi), 0.1, key=f"{key}_erange")
        common._init(K.SPEC_RES, "sigma", lambda v: v in RESIDUALS)
        res = c[2].segmented_control("Residuals", list(RESIDUALS), format_func=RESIDUALS.get,
                                     key=K.SPEC_RES, help="σ = √model, the error the model expects (a zero-count "
                                     "bin is not a many-σ outlier); deviance: the signed square root of each bin's "
                                     "Poisson deviance. Grouping makes both behave like χ.") or "sigma"
    full = tuple(rng) == (lo, hi)
    return SpectrumOptions(unit=unit, subtract_background=bool(sub), min_counts=int(mn),
                           e_range=None if full else (float(rng[0]), float(rng[1])), residuals=res), bool(log_y)


def render_spectrum(run: RunView, row: int, *, height: int = 480, key: str = "spec", expanded: bool = False,
                    neighbours: int = 0) -> None:
    """The spectrum in the chosen view, optionally with the ``neighbours`` nearest sources' spectra scaled to
    the same counts, and the plotted data as CSV."""
    r = run.sources.iloc[row]
    common._init(K.SPEC_VIEW, "counts", lambda v: v in UNFOLDED_VIEWS)
    view = st.segmented_control("spectrum", list(UNFOLDED_VIEWS), key=K.SPEC_VIEW,
                                help="counts as observed, or unfolded through the source's own response "
                                     "(photons cm⁻² s⁻¹ keV⁻¹, or E·F(E))")
    if UNFOLDED_VIEWS.get(view):
        render_unfolded(run, row, UNFOLDED_VIEWS[view], height=height, key=key)
        return
    opts, log_y = spectrum_options(key, run.dataset.energy_edges, expanded=expanded)
    exposure = float(r.get("exposure", 1.0) or 1.0)
    table = source_table(run, row)
    view = view_table(table, opts, exposure)
    over = {}
    if neighbours:
        nb_rows, _ = common.get_index(*common.run_key(run)).neighbours_of_row(row, neighbours)
        for k, nr in enumerate(nb_rows, 1):
            nb = run.sources.iloc[nr]
            over[f"neighbour {k}: {nb['name']}"] = overlay(table, run.dataset.spectra[nr], run.dataset.background[nr],
                                                          opts, exposure)
    fig = figures.spectrum_figure(view, title=_title(r), simulated=bool(r.get("simulated", False)), height=height,
                                  log_y=log_y, overlays=over, residual_title=RESIDUALS[opts.residuals],
                                  dark=look.dark_theme())
    # the app's own style (figures_spectrum.house_style): Streamlit's theme cost ~70 ms per redraw in the browser
    st.plotly_chart(fig, key=f"{key}_fig", width="stretch", config={"displaylogo": False}, theme=None)
    parts = [f"reconstruction error (deviance/bin): **{r['recon_error']:.3f}**" if np.isfinite(r["recon_error"]) else ""]
    if "truth" in table:
        parts.append("green dashed: the noiseless truth the simulation drew these counts from")
    if over:
        parts.append("blue lines: the nearest neighbours in the latent space, scaled to this source's counts")
    if opts.min_counts > 0:
        parts.append(f"{len(view)} groups of ≥ {opts.min_counts} counts")
    st.caption(" · ".join(p for p in parts if p))
    st.download_button("Plotted data (CSV)", data=lambda: export_csv(view, over), file_name=f"{r['id']}_spectrum.csv",
                       mime="text/csv", on_click="ignore", icon=":material/download:", key=f"{key}_csv")


def render_neighbours(run: RunView, row: int, *, k: int = 10, key: str = "nb") -> None:
    idx = common.get_index(*common.run_key(run))
    rows, dist = idx.neighbours_of_row(row, k)
    table = neighbour_table(run.sources, rows, dist)
    st.markdown(f"**{k} nearest neighbours** in the {run.latent_dim}-d latent space (click a row to open it)")
    common.selectable_table(table, key=f"{key}_{row}", hide=("id",))


def render_full(run: RunView, row: int) -> None:
    r = run.sources.iloc[row]
    st.subheader(f"{r['name']}")
    st.caption(f"id `{r['id']}` · class **{r['class'] or 'unlabelled'}** · split {r['split']}"
               + (f" · RA {r['ra']:.5f}° Dec {r['dec']:+.5f}°" if np.isfinite(r.get("ra", np.nan)) else ""))
    link_buttons(r)
    for note in reader_notes(r):
        st.warning(f"From ingest: {note}", icon=":material/warning:")
    nb = st.toggle("overlay the 5 nearest neighbours (scaled to the same counts)", key="src_overlay",
                   help="why they sit together on the map: their spectra have the same shape")
    render_spectrum(run, row, height=520, key="src", expanded=True, neighbours=5 if nb else 0)
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
        st.dataframe(pd.DataFrame({"column": list(vals), "value": [shown_value(v, k) for k, v in vals.items()],
                                   "what it is (unit)": [label(k) for k in vals]}),
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
    csc = links.csc_url(str(r["name"])) or links.csc_cone_url(r.get("ra"), r.get("dec"))
    if csc:
        c[1].link_button("CSC", csc, icon=":material/open_in_new:", help="this source in the Chandra Source Catalog")
    if c[2].button("Traverse", icon=":material/tune:", key="map_traverse", help="move its latent values by hand"):
        common.open_source(str(r["id"]))
        st.switch_page(common.PAGES["traversal"])
