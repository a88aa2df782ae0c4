"""Your own spectrum: upload a PHA file (and its responses), see where it lands on the map and its neighbours."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core.errors import SpectrumError, XLEError
from explorer.logic import upload
from explorer.logic.neighbours import neighbour_table
from explorer.logic.spectra import spectrum_table
from explorer.ui import common, figures, look


class _Kept(Exception):
    """No new upload: the kept result is shown."""

run = common.page_frame("Your spectrum", "Upload a Chandra ACIS spectrum with its ARF and RMF: a CSC per-source "
                        "`*_pha3.fits` (it carries its background) with its `*_arf3` and `*_rmf3`, or an OGIP PHA "
                        "file with its ARF and RMF (and background). It is read by the project's readers, encoded "
                        "by this run's model and placed on the saved maps.", simulated=False)
st.caption("Your upload is shown as real data unless its header says it is simulated (SIMULATD = T); the sources it "
           "is placed among (the map, the neighbours) are this run's. "
           f"Limits: {upload.MAX_FILE_MB} MB per file, {upload.MAX_TOTAL_MB} MB in all. Files stay on the server "
           f"only while they are read.")
c = st.columns(4)
pha = c[0].file_uploader("Spectrum (PHA)", type=["pi", "pha", "fits", "fit", "gz"], key="up_pha",
                         max_upload_size=upload.MAX_FILE_MB)
arf = c[1].file_uploader("ARF", type=["arf", "fits", "fit", "gz"], key="up_arf",
                         max_upload_size=upload.MAX_FILE_MB)
rmf = c[2].file_uploader("RMF", type=["rmf", "rsp", "fits", "fit", "gz"], key="up_rmf",
                         max_upload_size=upload.MAX_FILE_MB)
bkg = c[3].file_uploader("Background (optional)", type=["pi", "pha", "fits", "fit", "gz"], key="up_bkg",
                         max_upload_size=upload.MAX_FILE_MB)
st.caption("The server cannot see your disk: upload the ARF and RMF the PHA header names (ANCRFILE, RESPFILE), "
           "and its background (BACKFILE) unless it is a CSC pha3. Files under other names are used as given, "
           "with a warning.")
kept = st.session_state.get(common.UPLOAD)
if kept is not None and kept["run"] != str(run.run_dir):  # placed with another run's model: not valid here
    st.session_state.pop(common.UPLOAD)
    kept = None
if pha is None and kept is None:
    st.info("Upload a spectrum to place it on the map.", icon=":material/upload_file:")
    st.stop()
if pha is None:
    name, spec, res = kept["name"], kept["spec"], kept["res"]
    c = st.columns([4, 1])
    c[0].caption(f"Your last upload, **{name}**, is kept while you visit other pages, until you upload another.")
    if c[1].button("Forget it", icon=":material/delete:", key="up_forget"):
        st.session_state.pop(common.UPLOAD, None)
        st.rerun()
else:
    name = pha.name
    spec, res = None, None
files = {} if pha is None else {"pha": [(pha.name, pha.getvalue())]}
for role, f in (("arf", arf), ("rmf", rmf), ("background", bkg)):
    if f is not None:
        files[role] = [(f.name, f.getvalue())]
key = common.run_key(run)
try:
    if pha is None:
        raise _Kept
    grid = upload.grid_of(run.dataset.energy_edges, run.dataset.info)
    spec = upload.load_upload(files, grid)  # every refusal says why, without server paths
    with st.spinner("Encoding…"):
        res = upload.place_spectrum(spec, common.get_model(*key), run.run_dir, common.get_index(*key))
except SpectrumError as exc:
    st.error(f"**{Path(exc.path).name}** cannot be used: {exc.reason}", icon=":material/error:")
    st.stop()
except XLEError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
except _Kept:
    pass
except Exception as exc:  # a broken upload must never take the page down
    st.error(f"{pha.name} could not be used (internal error {type(exc).__name__})", icon=":material/error:")
    st.stop()
else:
    st.session_state[common.UPLOAD] = {"run": str(run.run_dir), "name": name, "spec": spec, "res": res}

for w in spec.warnings:
    st.warning(w)
hr = spec.hardness
obj = str(spec.meta.get("object", "") or "").strip()
label = "SIMULATED (its header says SIMULATD = T)" if spec.meta.get("simulated") else "real data"
ident = " · ".join(x for x in (f"OBJECT **{obj}**" if obj else "no OBJECT in the header",
                               f"ObsID {spec.meta['obsid']}" if spec.meta.get("obsid") else "",
                               str(spec.meta.get("instrument", ""))) if x)
st.success(f"**{name}** ({ident}): {spec.total_counts:,} counts on the grid, exposure {spec.exposure:,.0f} s · "
           + " · ".join(f"{k} {v:+.2f}" for k, v in hr.items() if np.isfinite(v)), icon=":material/check_circle:")
left, right = st.columns([1, 1])
with left:
    table = spectrum_table(spec.edges, spec.counts, background=spec.background, predicted=res.predicted,
                           weights=spec.weights)
    fig = figures.spectrum_figure(table, title=f"{spec.name} (your upload, {label})", height=460,
                                  simulated=bool(spec.meta.get("simulated")), dark=look.dark_theme())
    st.plotly_chart(fig, key="up_spec", theme=None)
    st.caption(f"Fit of the decoded model through your response: deviance per bin **{res.deviance_per_bin:.3f}** "
               f"(an exact model would score {res.deviance_if_exact:.3f} on average at these counts; much more "
               "means the model misses something: pile-up, or a spectrum unlike the training set's).")
with right:
    if run.simulated:
        st.info("**Simulated data** around your spectrum: the map's sources and the neighbours below are this "
                "run's simulated spectra; your spectrum (left) is " + label + ".", icon=":material/science:")
    proj = st.segmented_control("Map", [m.upper() for m in run.maps], default=[m.upper() for m in run.maps][0],
                                key="up_proj") or "UMAP"
    m = proj.lower()
    f, mask = run.sources, np.ones(len(run.sources), bool)
    fig = figures.map_figure(run.sources, f"{m}_x", f"{m}_y", hover=common.get_hover(*key), height=460,
                             x_title=f"{proj} 1", y_title=f"{proj} 2", dragmode="zoom")
    figures.add_point(fig, float(res.coords[m][0]), float(res.coords[m][1]), "your spectrum")
    st.plotly_chart(fig, key="up_map")
st.markdown("**Latent values**: " + " · ".join(f"z{i} {v:+.3f}" for i, v in enumerate(res.latent)))
st.markdown("**10 nearest neighbours** in the latent space (click one to open it)")
nb = neighbour_table(run.sources, res.neighbour_rows, res.neighbour_dist)
common.selectable_table(nb, key="up_nb", go_to_page=True, hide=("id",))
