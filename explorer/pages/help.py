"""Help: how to read the explorer, written for a class (students who know what a spectrum is)."""
from __future__ import annotations

import streamlit as st

from explorer.logic import interpret
from explorer.ui import common

run = common.page_frame("Reading the explorer", "For a class: what the numbers and pictures mean, in the order "
                        "you meet them.", simulated=False)

edges = run.dataset.energy_edges
st.markdown(f"""
### 1. A spectrum
Chandra's ACIS camera records each X-ray photon's energy. A **spectrum** counts the photons in energy bins
(here {1000 * float(edges[1] - edges[0]):.0f} eV wide, {edges[0]:.1f}-{edges[-1]:.1f} keV). Below 1 keV photons are easily absorbed by gas between us and the source; a hot
plasma or an accreting black hole sends photons up to 7 keV and beyond. The source page shows:
- **counts per bin**, or **counts s⁻¹ keV⁻¹** (divided by the exposure time and the bin width, so that
  observations of different length compare). Neither is the source's true spectrum: the telescope's effective
  area and the detector's resolution are still folded in;
- the **background** expected in the source region, and the option to **subtract** it;
- **grouping** to at least N counts per group, as `grppha` does before a χ² fit: with few counts per bin,
  single bins are too noisy to judge;
- **residuals**: how far the data sit from the model, in units of the error the model expects (σ = √model),
  or as **deviance residuals**. A bin with 0 counts where the model expects 0.2 is *not* a misfit.
""")

st.markdown("""
### 2. Hardness ratios and the CSC bands
The Chandra Source Catalog (CSC) splits the spectrum into bands: **soft s 0.5-1.2 keV, medium m 1.2-2.0 keV,
hard h 2.0-7.0 keV** (broad b 0.5-7.0). A **hardness ratio** compares two bands:

| ratio | definition | −1 means | +1 means |
| --- | --- | --- | --- |
| H-M (`hard_hm`) | (h − m)/(h + m) | all medium | all hard |
| H-S (`hard_hs`) | (h − s)/(h + s) | all soft | all hard |
| M-S (`hard_ms`) | (m − s)/(m + s) | all soft | all medium |

Absorption (a large column N_H) removes soft photons, so it raises every ratio; a cool star (kT below 1 keV) is
soft; an absorbed AGN is hard. Here the ratios are computed from each spectrum's background-subtracted counts,
each band divided by the telescope's mean effective area in it, so they are ratios of photon fluxes like the
catalog's. Hardness ratios can be negative: that is why the colour scale never offers a log scale for them.
""")

st.markdown("""
### 3. The map: UMAP, PCA, latent axes
The autoencoder squeezes each spectrum into **8 numbers, z0…z7 (the latent space)** from which it can redraw
the spectrum (the red "reconstruction" line). Sources with similar spectral shapes get similar numbers. To see
8 dimensions on a screen:
- **UMAP** keeps *neighbourhoods*: sources close on the map are close in the latent space. The distance between
  two far-apart islands, the size of an island and the axes themselves mean nothing.
- **PCA** is a rotation: PC 1 is the direction along which the 8 numbers vary most. Distances are honest, but
  structure that is not along the first two directions is squashed.
- **Latent axes**: two of the eight numbers themselves.
""")

st.markdown("### 4. What each latent axis tends to track")
table = interpret.spearman_table(run.metrics, run.sources, run.latent_columns)
if table.empty:
    st.caption("This run has no correlations yet (`python -m core evaluate`).")
else:
    interval = (f"Each reading gives its correlation's interval at {100 * table.level:.1f}%, so that all "
                f"{table.rho.size} hold together at 95% (a table this size shows some chance correlation at the "
                "usual 95% more often than not); where it includes 0 the data do not show a link. "
                if table.n else "This metrics.json predates the intervals: run `python -m core evaluate` again "
                                "to get them. ")
    st.caption(f"Spearman rank correlation of each axis with each hardness ratio, {table.where}. +1: the axis "
               "grows exactly as the ratio does; 0: no monotonic link. " + interval + "Read from the run when this "
               "page opens, so it describes the run chosen in the sidebar"
               + (" (simulated spectra)." if run.simulated else "."))
    left, _ = st.columns([1, 1.6])
    left.dataframe(table.rho.round(3), width="stretch")
    st.dataframe(interpret.tracks(table), hide_index=True, width="stretch")  # full width: the readings are long

st.markdown("""
### 5. Classifier numbers
The *Classifier metrics* page asks: do the 8 numbers separate the source classes (AGN, stars, X-ray binaries…)?
- **Balanced accuracy** is the mean over classes of the fraction of each class recognised (its *recall*). A rare
  class counts as much as a common one. **Chance** is 1 / (number of classes): 0.125 for 8 classes, 0.5 for 2.
- **± std** is the spread over the cross-validation folds, a rough guide only. The table under the numbers gives
  each one's corrected 95% interval, and `python -m core evaluate` prints the paired differences between feature
  sets on the same folds: two feature sets differ only where that difference's interval excludes 0.
- The paper's **k-means** protocol groups the sources into as many clusters as classes without looking at the
  labels, then names each cluster by its most common class. If every cluster's most common class is AGN, every
  source is called AGN: on *AGN vs compact objects* that gives a balanced accuracy of exactly **0.500**, chance.
  That is a result (the clusters do not follow the classes), not a bug.
- The **confusion matrix**: row = true class, column = predicted class; the diagonal is the recall.
- The baselines (hardness ratios, PCA-8) answer "is the autoencoder worth it?": the latent space should beat them.
""")

st.markdown("""
### 6. Outliers and other tools
*Outliers* lists the spectra the autoencoder redraws worst. Bright sources always have larger deviance (more
counts, more detail to miss), so the default ranking compares each source with sources of similar counts.
Selections can go to **TOPCAT** (a table) and a source's position to **DS9 / Aladin** through SAMP, and every
view has a link you can send to a classmate.
""")
if run.simulated:
    st.caption("The dataset behind the tables on this page is simulated: real catalog rows and responses, "
               "simulated counts (see the Run page).")
