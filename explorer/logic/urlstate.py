"""The explorer's view as a URL query (``?source=…&colour=…``) and back, so that a view can be shared, reloaded
and stepped through with the browser's Back and Forward.

A query is untrusted text: ``decode`` keeps only values it can check against the run (known source ids,
classes, splits, columns, layouts, numbers inside their range) and returns a note for every value it ignored,
never an exception. ``encode`` writes only what differs from the defaults, so the plain address is the
default view.

Parameters: ``source`` (alias ``id``), ``run`` (a run folder's name), ``layout`` (umap, pca, axes), ``x`` and
``y`` (latent axes of the "axes" layout), ``colour`` and ``log``, the filters ``classes`` (shown classes;
``hide`` lists hidden ones instead), ``split``, ``cmin``/``cmax`` (total counts), ``hm``/``hs``/``ms``
(hardness-ratio ranges ``lo,hi``) and ``q`` (name search); the spectrum's view: ``spec`` (photons, eflux; counts
by default), ``unit`` (rate), ``sub=1`` (background subtracted), ``logy=1``, ``group=N`` (at least N counts a
group) and ``res`` (deviance).
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

HARDNESS = {"hm": "hard_hm", "hs": "hard_hs", "ms": "hard_ms"}
SPECTRUM_VIEWS = {"photons": "photons", "eflux": "E·F(E)"}  # query value -> the control's option (counts: default)
UNITS = ("rate",)  # counts per bin is the default
RESIDUALS = ("deviance",)  # (data - model)/σ is the default
MAX_GROUP = 500  # the grouping control's own limit
LAYOUTS = {"umap": "UMAP", "pca": "PCA", "axes": "latent axes"}
MAX_TEXT = 200  # longest free text kept from a query (name search)


@dataclass
class Valid:
    """What a query's values are checked against (one run)."""

    has_id: Callable[[str], bool]
    runs: Collection[str] = ()
    classes: Collection[str] = ()
    splits: Collection[str] = ()
    layouts: Collection[str] = ()  # display names, e.g. "UMAP", "latent axes"
    axes: Collection[str] = ()
    colours: Collection[str] = ()
    counts: tuple[int, int] = (0, 0)


@dataclass
class ViewState:
    """One view of the explorer; ``None`` or empty means the default."""

    source: str | None = None
    run: str | None = None
    layout: str | None = None
    x: str | None = None
    y: str | None = None
    colour: str | None = None
    log: bool = False
    classes: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    counts: tuple[int, int] | None = None
    hardness: dict[str, tuple[float, float]] = field(default_factory=dict)  # column -> (lo, hi)
    name: str = ""
    spectrum: str | None = None  # "photons" or "E·F(E)" (the control's options); None: counts
    unit: str | None = None  # "rate"; None: counts per bin
    subtract: bool = False
    log_y: bool = False
    group: int = 0
    residuals: str | None = None  # "deviance"; None: (data - model)/σ


def _one(query: Mapping[str, Any], key: str) -> str | None:
    v = query.get(key)
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else None
    return None if v is None else str(v)


def _list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "…"


def decode(query: Mapping[str, Any], valid: Valid) -> tuple[ViewState, list[str]]:
    """The view a query asks for, and one note per value that was ignored (unknown, malformed, out of range)."""
    s, notes = ViewState(), []

    def bad(key: str, value: str, why: str) -> None:
        notes.append(f"`{key}={_short(value)}` ignored: {why}")

    sid = _one(query, "source") or _one(query, "id")
    if sid is not None:
        if valid.has_id(sid):
            s.source = sid
        else:
            bad("source", sid, "no source with this id in the run")
    run = _one(query, "run")
    if run is not None:
        if run in valid.runs:
            s.run = run
        else:
            bad("run", run, "no explorable run of this name")
    layout = _one(query, "layout")
    if layout is not None:
        name = LAYOUTS.get(layout.lower())
        if name in valid.layouts:
            s.layout = name
        else:
            bad("layout", layout, f"choose one of {', '.join(k for k, v in LAYOUTS.items() if v in valid.layouts)}")
    for key in ("x", "y"):
        v = _one(query, key)
        if v is not None:
            if v in valid.axes:
                setattr(s, key, v)
            else:
                bad(key, v, "not a latent axis of this run")
    colour = _one(query, "colour") or _one(query, "color")
    if colour is not None:
        if colour in valid.colours:
            s.colour = colour
        else:
            bad("colour", colour, "not a column that can colour the map")
    s.log = (_one(query, "log") or "").lower() in ("1", "true", "yes")
    for key, attr, allowed in (("classes", "classes", valid.classes), ("split", "splits", valid.splits)):
        want = _list(_one(query, key))
        unknown = [v for v in want if v not in allowed]
        if unknown:
            bad(key, ",".join(unknown), f"unknown {'class' if key == 'classes' else 'split'}")
        setattr(s, attr, tuple(v for v in want if v in allowed))
    hide = _list(_one(query, "hide"))
    if hide:
        unknown = [v for v in hide if v not in valid.classes]
        if unknown:
            bad("hide", ",".join(unknown), "unknown class")
        shown = s.classes or tuple(valid.classes)
        s.classes = tuple(c for c in shown if c not in hide)
    lo, hi = valid.counts
    got = {}
    for key in ("cmin", "cmax"):
        v = _one(query, key)
        if v is None:
            continue
        try:
            n = int(float(v))
        except ValueError:
            bad(key, v, "not a number")
            continue
        if not lo <= n <= hi:
            bad(key, v, f"outside this run's counts {lo:,}-{hi:,}")
            continue
        got[key] = n
    if got:
        a, b = got.get("cmin", lo), got.get("cmax", hi)
        s.counts = (min(a, b), max(a, b))
    for key, col in HARDNESS.items():
        v = _one(query, key)
        if v is None:
            continue
        try:
            a, b = (float(p) for p in v.split(","))
        except ValueError:
            bad(key, v, "expected two numbers lo,hi")
            continue
        if not (-1.0 <= a <= 1.0 and -1.0 <= b <= 1.0):
            bad(key, v, "hardness ratios lie in [-1, 1]")
            continue
        s.hardness[col] = (min(a, b), max(a, b))
    name = _one(query, "q")
    if name:
        s.name = name[:MAX_TEXT]
    _decode_spectrum(query, s, bad)
    return s, notes


def _decode_spectrum(query: Mapping[str, Any], s: ViewState, bad: Callable[[str, str, str], None]) -> None:
    """The spectrum view's parameters into ``s`` (each checked; ``bad`` notes one that is not)."""
    for key, attr, allowed, why in (("spec", "spectrum", SPECTRUM_VIEWS, "photons or eflux (counts is the default)"),
                                    ("unit", "unit", {u: u for u in UNITS}, "rate (counts is the default)"),
                                    ("res", "residuals", {r: r for r in RESIDUALS},
                                     "deviance (sigma is the default)")):
        v = _one(query, key)
        if v is not None:
            if v.lower() in allowed:
                setattr(s, attr, allowed[v.lower()])
            else:
                bad(key, v, f"expected {why}")
    for key, attr in (("sub", "subtract"), ("logy", "log_y")):
        setattr(s, attr, (_one(query, key) or "").lower() in ("1", "true", "yes"))
    v = _one(query, "group")
    if v is not None:
        try:
            n = int(v)
        except ValueError:
            bad("group", v, "not a whole number")
            return
        if 0 <= n <= MAX_GROUP:
            s.group = n
        else:
            bad("group", v, f"outside 0-{MAX_GROUP}")


def encode(s: ViewState, *, counts_range: tuple[int, int] | None = None) -> dict[str, str]:
    """The query of a view: only the parts that differ from the default view."""
    q: dict[str, str] = {}
    if s.source:
        q["source"] = s.source
    if s.run:
        q["run"] = s.run
    if s.layout:
        short = {v: k for k, v in LAYOUTS.items()}.get(s.layout)
        if short:
            q["layout"] = short
    if s.layout == LAYOUTS["axes"]:
        for key in ("x", "y"):
            if getattr(s, key):
                q[key] = getattr(s, key)
    if s.colour:
        q["colour"] = s.colour
        if s.log:
            q["log"] = "1"
    if s.classes:
        q["classes"] = ",".join(s.classes)
    if s.splits:
        q["split"] = ",".join(s.splits)
    if s.counts is not None and (counts_range is None or tuple(s.counts) != tuple(counts_range)):
        lo, hi = counts_range or (None, None)
        if s.counts[0] != lo:
            q["cmin"] = str(int(s.counts[0]))
        if s.counts[1] != hi:
            q["cmax"] = str(int(s.counts[1]))
    short = {v: k for k, v in HARDNESS.items()}
    for col, (a, b) in sorted(s.hardness.items()):
        if (a, b) != (-1.0, 1.0) and col in short:
            q[short[col]] = f"{a:g},{b:g}"
    if s.name:
        q["q"] = s.name[:MAX_TEXT]
    views = {v: k for k, v in SPECTRUM_VIEWS.items()}
    if s.spectrum in views:
        q["spec"] = views[s.spectrum]
    if s.unit in UNITS:
        q["unit"] = s.unit
    if s.subtract:
        q["sub"] = "1"
    if s.log_y:
        q["logy"] = "1"
    if 0 < s.group <= MAX_GROUP:
        q["group"] = str(int(s.group))
    if s.residuals in RESIDUALS:
        q["res"] = s.residuals
    return q
