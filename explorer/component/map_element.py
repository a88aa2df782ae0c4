"""``scatter_map``: draw the latent map with the bundled WebGL element and answer its clicks and selections.

Only what changed travels: the positions once per run and layout, the colour codes when the colouring changes,
the filter bits when the filters change, the selection when it changes; focus and search hits are a few
numbers; the names for the hover text follow once the map has drawn and asks for them. The browser keeps the
last four layers of each kind (``frontend/src/payload.js``) and this module mirrors that list per session, so
both agree on what is held; when they do not (a reload), the element asks for the missing layers and the next
run sends them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import streamlit as st
from plotly.colors import sample_colorscale

from core.data.classes import UNLABELLED
from explorer.logic import columns
from explorer.logic import scatter as sc
from explorer.logic.runs import RunView, class_labels
from explorer.ui import common, figures

BUNDLE = Path(__file__).resolve().parent / "frontend" / "dist" / "scatter.js"
KEEP = 4  # layers of each kind the browser keeps (KEEP in payload.js)
NAMES_MAX = 200_000  # hover shows source names up to this many points (sent once, after the first draw)
HITS_MAX = 1000
_element = None


def _component():
    global _element
    if _element is None:
        if not BUNDLE.is_file():
            raise FileNotFoundError(f"the map's JavaScript bundle {BUNDLE} is missing: run ./scripts/setup "
                                    "(it runs `npm ci && npm run build` in explorer/component/frontend)")
        _element = st.components.v2.component("xle_scatter", js=BUNDLE.read_text(), isolate_styles=False)
    return _element


# ---- layers, cached per run (shared read-only between sessions) ----------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=4)
def _order(run_dir: str, mtime: float) -> tuple[np.ndarray, np.ndarray]:
    """Draw order (unlabelled first, rare classes last) and its inverse."""
    labels = class_labels(common.get_run(run_dir, mtime).sources).to_numpy()
    order = sc.draw_order(labels, UNLABELLED)
    return order, sc.inverse(order)


@st.cache_resource(show_spinner=False, max_entries=8)
def _positions(run_dir: str, mtime: float, x: str, y: str, titles: tuple[str, str]) -> sc.Layer:
    run = common.get_run(run_dir, mtime)
    order = _order(run_dir, mtime)[0]
    return sc.positions_layer(run.sources[x].to_numpy(dtype=float), run.sources[y].to_numpy(dtype=float), order,
                              titles)


@st.cache_resource(show_spinner=False, max_entries=4)
def _names(run_dir: str, mtime: float) -> sc.Layer | None:
    """The names for the hover text; none above NAMES_MAX points (the hover then shows the catalog row)."""
    order = _order(run_dir, mtime)[0]
    if len(order) > NAMES_MAX:
        return None
    return sc.names_layer(common.get_run(run_dir, mtime).sources["name"].astype(str).to_numpy(), order)


@st.cache_resource(show_spinner=False, max_entries=8)
def _colours(run_dir: str, mtime: float, colour: str, log: bool) -> sc.Layer:
    s = common.get_run(run_dir, mtime).sources
    order = _order(run_dir, mtime)[0]
    if colour == figures.COLOUR_CLASS:
        labels = class_labels(s).to_numpy()
        classes = figures.class_order(class_labels(s))
        colours = {c: figures.class_colour(c, i) for i, c in enumerate(classes)}
        return sc.class_layer(labels, order, classes, colours, UNLABELLED)
    lut = ["#%02x%02x%02x" % tuple(int(float(v)) for v in c[4:-1].split(","))
           for c in sample_colorscale("Viridis", list(np.linspace(0, 1, sc.NAN_CODE)))]
    return sc.value_layer(s[colour].to_numpy(dtype=float, na_value=np.nan), order, columns.label(colour), lut,
                          log=log)


# ---- what the browser holds -------------------------------------------------------------------------------------
def _held(key: str) -> dict[str, list[str]]:
    return st.session_state.setdefault(f"{key}__held", {})


def _pack(key: str, layers: list[sc.Layer], extra: dict[str, Any]) -> bytes:
    held = _held(key)
    have = {k for keys in held.values() for k in keys}
    payload = sc.pack(layers, have, extra)
    for layer in layers:  # the same least-recently-used list the browser keeps
        keys = [k for k in held.get(layer.name, []) if k != layer.key] + [layer.key]
        held[layer.name] = keys[-KEEP:]
    return payload


def _last(value: Any) -> Any:
    """Trigger values sent twice before a rerun arrive as a list; the last one counts."""
    return value[-1] if isinstance(value, list) and value and isinstance(value[0], dict) else value


def _rows_of(run: RunView, ids: list[str]) -> np.ndarray:
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(run.sources["id"].isin(list(ids)).to_numpy())


def selected_rows(key: str, selected: list[str], run: RunView) -> np.ndarray:
    """Catalog rows of the selection ``selected`` (ids); when this module set that very list from a box or
    lasso, the rows it stored with it (no matching of 500,000 ids again)."""
    memo = st.session_state.get(f"{key}__selrows")
    if memo is not None and memo[0] is selected:
        return memo[1]
    rows = _rows_of(run, selected)
    st.session_state[f"{key}__selrows"] = (selected, rows)
    return rows


def scatter_map(run: RunView, x: str, y: str, *, titles: tuple[str, str], colour: str, log: bool, mask: np.ndarray,
                selected: list[str], focus_id: str | None, hit_ids: list[str], mode: str, key: str,
                on_click: Callable[[str], None], on_select: Callable[[list[str]], None], height: int = 640) -> None:
    """Draw the map of ``run`` (columns ``x``, ``y``); a click calls ``on_click(id)`` and a box or lasso
    ``on_select(ids)`` (both as callbacks, before the next script run). ``mode``: click, box or lasso."""
    run_dir, mtime = common.run_key(run)
    order, inv = _order(run_dir, mtime)
    pos = _positions(run_dir, mtime, x, y, titles)
    xy_ok = np.isfinite(run.sources[x].to_numpy(dtype=float)) & np.isfinite(run.sources[y].to_numpy(dtype=float))
    layers = [pos, _colours(run_dir, mtime, colour, log), sc.mask_layer(mask & xy_ok, order),
              sc.selection_layer(inv[selected_rows(key, selected, run)], len(inv))]
    focus = -1
    if focus_id is not None:
        try:
            focus = int(inv[run.row_of(focus_id)])
        except KeyError:
            pass
    hits = inv[_rows_of(run, list(hit_ids)[:HITS_MAX])].tolist()
    st.session_state[f"{key}__pos"] = (pos.key, order)
    names = _names(run_dir, mtime)  # sent once the browser has drawn the map and said so
    drawn = map_drawn(key)
    layers += [names] if names is not None and drawn else []
    payload = _pack(key, layers, {"mode": mode, "height": height, "focus": focus, "hits": hits, "map": key,
                                  "drawn": drawn, "names": "none" if names is None else "sent" if drawn else "ask"})

    def clicked() -> None:
        ev = _last(getattr(st.session_state.get(key), "click", None))
        pos_key, order_now = st.session_state.get(f"{key}__pos", (None, None))
        if isinstance(ev, dict) and ev.get("pos") == pos_key and 0 <= int(ev.get("row", -1)) < len(order_now):
            on_click(run.id_of(int(ev["row"])))

    def selected_now() -> None:
        ev = _last(getattr(st.session_state.get(key), "select", None))
        pos_key, order_now = st.session_state.get(f"{key}__pos", (None, None))
        if not isinstance(ev, dict) or ev.get("pos") != pos_key:
            return
        rows = np.sort(order_now[sc.decode_indices(ev, len(order_now))])
        ids = run.sources["id"].iloc[rows].astype(str).tolist()
        st.session_state[f"{key}__selrows"] = (ids, rows)
        on_select(ids)

    def needed() -> None:
        ev = getattr(st.session_state.get(key), "need", None)
        evs = ev if isinstance(ev, list) else [ev]
        missing = {k for e in evs if isinstance(e, dict) for k in e.get("keys", [])}
        for kind, keys in _held(key).items():
            _held(key)[kind] = [k for k in keys if k not in missing]

    def was_drawn() -> None:
        st.session_state[f"{key}__drawn"] = True

    _component()(data=payload, key=key, height=height, on_click_change=clicked, on_select_change=selected_now,
                 on_need_change=needed, on_drawn_change=was_drawn)


def map_drawn(key: str) -> bool:
    """Whether the map element ``key`` has drawn in this session: it says so once, after its first draw (its
    names for the hover text follow; work that would slow the first draw can wait for this)."""
    return bool(st.session_state.get(f"{key}__drawn", False))
