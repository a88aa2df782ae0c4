"""Streamlit glue shared by the pages: cached loaders, the run chooser, the simulated-data notice, the map's
filters and colouring (kept in session state so every page filters and colours alike), and opening a source.

Caching: the run (catalog table and memory-mapped arrays) is an ``st.cache_resource`` shared read-only by all
sessions, because ``st.cache_data`` would copy the 100,000 x 112 arrays on every rerun; derived arrays and
tables (hover labels, density, classifier results) use ``st.cache_data``; the model uses ``st.cache_resource``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.data.classes import UNLABELLED
from explorer.logic import columns
from explorer.logic import filters as flt
from explorer.logic import runs
from explorer.logic.neighbours import LatentIndex
from explorer.ui import figures, url
from explorer.ui.look import narrow_layout
from explorer.ui import keys as K

# session-state keys (explorer/ui/keys.py)
RUN, SOURCE, SELECTED, COLOUR, GOTO, UPLOAD = K.RUN, K.SOURCE, K.SELECTED, K.COLOUR, K.GOTO, K.UPLOAD
PERSIST = (RUN, "xle_f_classes", "xle_f_splits", "xle_f_cmin", "xle_f_cmax", "xle_f_hm", "xle_f_hs", "xle_f_ms", "xle_f_name",
           COLOUR, "xle_log_colour", "xle_proj", "xle_x", "xle_y", *K.SPEC_KEYS)

PAGES = {
    "map": "explorer/pages/map.py",
    "source": "explorer/pages/source.py",
    "pairs": "explorer/pages/pairs.py",
    "classify": "explorer/pages/classify.py",
    "outliers": "explorer/pages/outliers.py",
    "traversal": "explorer/pages/traversal.py",
    "upload": "explorer/pages/upload.py",
    "run": "explorer/pages/run.py",
    "sky": "explorer/pages/sky.py",
    "help": "explorer/pages/help.py",
}

SIMULATED_NOTICE = ("**Simulated data.** Every spectrum of this dataset is simulated: each source is a real "
                    "catalog row (class, hardness ratios, significance), its physical model is folded through a "
                    "real Chandra response and Poisson-sampled with a background. The counts are not Chandra "
                    "observations.")


# ---- cached loaders ------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading the run…", max_entries=4)
def get_run(run_dir: str, mtime: float) -> runs.RunView:
    """The run folder loaded once per (path, latents file time); shared read-only."""
    return runs.load_run(Path(run_dir))


@st.cache_resource(show_spinner=False, max_entries=4)
def get_index(run_dir: str, mtime: float) -> LatentIndex:
    return LatentIndex().fit(get_run(run_dir, mtime).latents)


@st.cache_data(show_spinner="Estimating latent density…", max_entries=4)
def get_log_density(run_dir: str, mtime: float, k: int = 10) -> np.ndarray:
    return get_index(run_dir, mtime).log_density(k)


@st.cache_data(show_spinner=False, max_entries=4)
def get_hover(run_dir: str, mtime: float) -> np.ndarray:
    return figures.hover_text(get_run(run_dir, mtime).sources)


@st.cache_data(show_spinner=False, max_entries=4)
def get_labels_and_splits(run_dir: str, mtime: float) -> tuple[list[str], set[str]]:
    """The classes in legend order and the splits present (scanning a million strings on every rerun is slow)."""
    s = get_run(run_dir, mtime).sources
    return figures.class_order(runs.class_labels(s)), set(s["split"].unique())


@st.cache_data(show_spinner=False, max_entries=8)
def get_mask(run_dir: str, mtime: float, f: flt.Filters) -> np.ndarray:
    """The filters' mask, computed once per set of filters: a click or a recolouring reruns the page with the
    same filters, and a class, hardness or name cut over 1.3 million rows took 0.1-0.4 s."""
    return flt.apply(get_run(run_dir, mtime).sources, f)


@st.cache_data(show_spinner=False, max_entries=8)
def get_search(run_dir: str, mtime: float, query: str, limit: int) -> pd.DataFrame:
    """``filters.search`` once per query (0.7 s over 1.3 million names, twice per rerun of the map page)."""
    return flt.search(get_run(run_dir, mtime).sources, query, limit=limit)


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def get_model(run_dir: str, mtime: float):
    from core.model.checkpoint import load_model

    return load_model(Path(run_dir), device="cpu")


def run_key(run: runs.RunView) -> tuple[str, float]:
    """(path, mtime) pair every cached call takes, so a re-encoded run is reloaded."""
    p = Path(run.run_dir)
    return str(p), (p / "latents.npy").stat().st_mtime


def _mtime(run_dir: Path) -> float:
    p = Path(run_dir) / "latents.npy"
    return p.stat().st_mtime if p.is_file() else 0.0


# ---- page frame -------------------------------------------------------------------------------------------
def persist_widgets() -> None:
    """Keep widget values across pages (Streamlit drops the state of widgets a page does not draw)."""
    for k in PERSIST:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


def choose_run() -> runs.RunView | None:
    """Sidebar run chooser; returns the loaded run, or None (with instructions) when there is none."""
    default = runs.default_run_dir()
    found = runs.discover_runs(runs.RUNS_ROOT, extra=[default])
    if not found:
        st.sidebar.warning("No encoded run found.")
        st.error(f"No encoded run was found at `{default}` (or under `{runs.RUNS_ROOT}/`).")
        st.markdown("Build the demo dataset and train the demo run with the project's run command, which shows "
                    "its progress in the terminal and then opens this app:\n\n```bash\n./scripts/run\n```\n\n"
                    "or point the app at another run folder with `XLE_RUN=path/to/run streamlit run app.py`.")
        return None
    labels = {str(p): p.name if p.parent.resolve() == runs.RUNS_ROOT.resolve() else str(p) for p in found}
    options = list(labels)
    if st.session_state.get(RUN) not in options:
        want = str(Path(default).resolve())
        st.session_state[RUN] = want if want in options else options[0]
    if len(options) > 1:
        st.sidebar.selectbox("Run", options, key=RUN, format_func=labels.get,
                             help="Run folders under runs/ (and $XLE_RUN) that have been encoded.")
    else:
        st.sidebar.caption(f"Run: **{labels[options[0]]}**")
    path = st.session_state[RUN]
    if st.session_state.get("xle_run_shown") != path:  # another run: its ids are not this one's
        st.session_state["xle_run_shown"] = path
        st.session_state.pop(SOURCE, None)
        st.session_state[SELECTED] = []
    try:
        return get_run(path, _mtime(Path(path)))
    except Exception as exc:  # an unreadable run must not take the whole app down
        st.error(f"Cannot open run `{path}`: {exc}")
        return None


def page_frame(title: str, caption: str | None = None, *, simulated: bool = True) -> runs.RunView | None:
    """Title, run chooser, the view from the URL, simulated notice (``simulated=False`` on pages that show no
    data of the run). Pages stop quietly when there is no run."""
    goto = st.session_state.pop(GOTO, None)
    if goto:
        st.switch_page(goto)
    persist_widgets()
    url_notes = url.read_url(title)
    run = choose_run()
    narrow_layout()
    st.title(title)
    if caption:
        st.caption(caption)
    if run is None:
        st.stop()
    url_notes += url.apply_pending(run)
    for note in url_notes:
        st.warning(f"Link: {note}", icon=":material/link_off:")
    if simulated:
        simulated_notice(run)
    for note in run.notes:
        st.warning(note)
    url.write_url(run)
    # drawn only while open: the code box's highlighter cost the browser ~0.2 s on every page load and click
    link = st.sidebar.expander("Link to this view", icon=":material/link:", key="xle_link_open", on_change="rerun")
    if link.open:
        link.code(url.share_link(), language=None, wrap_lines=True)
        link.caption("Copy it (button at the right of the box) to share or bookmark this view: the open source, "
                     "layout, colour and filters. Back and Forward step through the views.")
    return run


def simulated_notice(run: runs.RunView) -> None:
    if run.simulated:
        st.info(SIMULATED_NOTICE, icon=":material/science:")
        st.sidebar.markdown(":orange-badge[:material/science: simulated data]")


# ---- filters and colouring (sidebar, shared by the map, pairwise, classifier and outlier pages) ----------------
def _init(key: str, default, valid=None) -> None:
    """Give a widget its default through session state (never both a default and a state value)."""
    if key not in st.session_state or (valid is not None and not valid(st.session_state[key])):
        st.session_state[key] = default


def sidebar_filters(run: runs.RunView) -> tuple[flt.Filters, np.ndarray]:
    """Filter widgets in the sidebar; returns the filters and the mask (N,) of sources that pass."""
    s = run.sources
    sb = st.sidebar
    sb.subheader("Filters")
    labels, splits_present = get_labels_and_splits(*run_key(run))
    _init("xle_f_classes", [], lambda v: set(v) <= set(labels))
    classes = sb.multiselect("Class", labels, key="xle_f_classes", placeholder="all classes")
    splits_all = [x for x in ("train", "val", "test") if x in splits_present]
    _init("xle_f_splits", [], lambda v: set(v) <= set(splits_all))
    splits = sb.multiselect("Split", splits_all, key="xle_f_splits", placeholder="all splits")
    lo_c, hi_c = int(s["counts"].min()), int(max(s["counts"].max(), 1))
    counts = (lo_c, hi_c)
    if hi_c > lo_c:
        cc = sb.columns(2)
        _init("xle_f_cmin", lo_c, lambda v: lo_c <= v <= hi_c)
        _init("xle_f_cmax", hi_c, lambda v: lo_c <= v <= hi_c)
        cmin = cc[0].number_input("Counts from", lo_c, hi_c, key="xle_f_cmin", step=10)
        cmax = cc[1].number_input("to", lo_c, hi_c, key="xle_f_cmax", step=100)
        counts = (min(cmin, cmax), max(cmin, cmax))
    hard = []
    with sb.expander("Hardness ratios", expanded=False):
        for col, key in (("hard_hm", "xle_f_hm"), ("hard_hs", "xle_f_hs"), ("hard_ms", "xle_f_ms")):
            _init(key, (-1.0, 1.0))
            d = columns.describe(col)
            r = st.slider(d.label, -1.0, 1.0, step=0.01, key=key, help=d.definition)
            if tuple(r) != (-1.0, 1.0):
                hard.append((col, float(r[0]), float(r[1])))
    _init("xle_f_name", "")
    name = sb.text_input("Search name or id", key="xle_f_name", placeholder="e.g. 2CXO J0537")
    f = flt.Filters(classes=tuple(classes) if classes else None, splits=tuple(splits) if splits else None,
                    counts=None if tuple(counts) == (lo_c, hi_c) else (float(counts[0]), float(counts[1])),
                    hardness=tuple(hard), name=name or "")
    mask = get_mask(*run_key(run), f)
    sb.caption(f"**{int(mask.sum()):,}** of {len(s):,} sources pass the filters")
    return f, mask


def colour_control(run: runs.RunView, where=st.sidebar) -> tuple[str, bool]:
    """The colour chooser; a log scale is offered only for columns whose values are all positive (a log of a
    hardness ratio would hide every negative value)."""
    opts = run.colour_options  # value -> readable label (with unit), explorer.logic.columns
    _init(COLOUR, figures.COLOUR_CLASS, lambda v: v in opts)
    colour = where.selectbox("Colour by", list(opts), format_func=opts.get, key=COLOUR,
                             help="; ".join(f"{columns.describe(c).label}: {columns.describe(c).definition}"
                                            for c in opts if c != figures.COLOUR_CLASS)[:1500])
    if colour != figures.COLOUR_CLASS:
        d = columns.describe(colour)
        where.caption(f"**{columns.label(colour)}**: {d.definition}" if d.definition else columns.label(colour))
    log = False
    if colour != figures.COLOUR_CLASS and columns.all_positive(run.sources[colour].to_numpy(dtype=float,
                                                                                             na_value=np.nan)):
        _init("xle_log_colour", False)
        log = where.checkbox("log colour scale", key="xle_log_colour")
    return colour, log


# ---- opening a source -----------------------------------------------------------------------------------------
def open_source(source_id: str, *, go_to_page: bool = False) -> None:
    st.session_state[SOURCE] = str(source_id)
    if go_to_page:
        st.switch_page(PAGES["source"])


def current_source_row(run: runs.RunView) -> int | None:
    sid = st.session_state.get(SOURCE)
    if sid is None:
        return None
    try:
        return run.row_of(sid)
    except KeyError:
        return None


def selectable_table(df: pd.DataFrame, key: str, *, height: int | None = None, hide: tuple[str, ...] = (),
                     go_to_page: bool = False, rerun: list[str] | None = None) -> None:
    """A dataframe where clicking a row opens that row's source (by its ``id`` column) and, with
    ``go_to_page``, goes to the source page. Runs as a callback, so it acts once per click. In a fragment, a
    click reruns that fragment alone, or the fragments keyed in ``rerun`` (those that show the open source)."""
    ids = df["id"].astype(str).tolist()

    def picked() -> None:
        event = st.session_state.get(key)
        try:
            rows = event["selection"]["rows"]
        except (KeyError, TypeError):
            rows = []
        if rows:
            st.session_state[SOURCE] = ids[rows[0]]
            if go_to_page:
                st.session_state[GOTO] = PAGES["source"]
            elif rerun:
                st.rerun(rerun)

    shown = df.drop(columns=[c for c in hide if c in df.columns])
    if "class" in shown:
        shown = shown.assign(**{"class": shown["class"].replace("", UNLABELLED)})
    st.dataframe(shown, key=key, on_select=picked, selection_mode="single-row", hide_index=True,
                 height=height if height is not None else "auto", width="stretch")

