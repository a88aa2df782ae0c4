"""The latent map's binary payload for the WebGL scatter component (no Streamlit here, so it is tested directly).

The browser holds the map as layers of typed arrays, every one in *draw order* (later points are drawn on top):

- ``pos``: float32 ``x`` and ``y`` and the uint32 catalog ``row`` of every point, sent once per run and layout;
- ``colour``: one uint8 per point, an index into a palette of at most 256 entries (class codes, or a numeric
  column quantised to 255 levels with 255 for NaN), with the palette and legend in its metadata;
- ``mask``: one bit per point, set when the point passes the filters (and has a finite position);
- ``sel``: the selection, as uint32 draw indices when few, else one bit per point;
- ``names``: the source names for the hover text, sent once the map has drawn and the browser asks for them.

Every layer carries a key (a hash of its contents). :func:`pack` sends a layer's bytes only when the browser does
not hold that key yet; otherwise the payload names the key and the browser uses its copy. So a colour change
resends one byte per point, a filter one bit per point, a click nothing but a few numbers. Selections come back
the same way (:func:`decode_indices`): a bitset or uint32 indices in base64, whichever is smaller, never one
entry per point.

Payload layout: ``b"XLE1"``, uint32 little-endian header length, the UTF-8 JSON header (padded so that what
follows starts 8-byte aligned), then the buffers; the header gives each as ``[offset, length, dtype]``, the
offset counted from the end of the header and a multiple of 8.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAGIC = b"XLE1"
NAN_CODE = 255  # colour code of a missing value in numeric colouring
DTYPES = {"f4": np.float32, "u4": np.uint32, "u1": np.uint8}


@dataclass(frozen=True)
class Layer:
    """One named layer: its content key, JSON metadata and typed buffers."""
    name: str
    meta: dict[str, Any]
    bufs: dict[str, np.ndarray] = field(default_factory=dict)
    key: str = ""

    @classmethod
    def make(cls, name: str, meta: dict[str, Any], bufs: dict[str, np.ndarray]) -> "Layer":
        h = hashlib.blake2b(digest_size=10)
        h.update(name.encode())
        h.update(json.dumps(meta, sort_keys=True).encode())
        for k in sorted(bufs):
            a = np.ascontiguousarray(bufs[k])
            h.update(k.encode() + a.dtype.str.encode() + a.tobytes())
        return cls(name, meta, {k: np.ascontiguousarray(v) for k, v in bufs.items()}, h.hexdigest())


# ---- draw order ---------------------------------------------------------------------------------------------
def draw_order(labels: np.ndarray, background: str) -> np.ndarray:
    """Rows in draw order: the ``background`` label (unlabelled) first, then the classes from the most to the
    least common, so rare classes are drawn, and clicked, on top. Stable within a class."""
    labels = np.asarray(labels).astype(str)
    names, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    rank = np.empty(len(names), dtype=np.int64)
    ordered = sorted(range(len(names)), key=lambda i: (names[i] != background, -counts[i], names[i]))
    rank[ordered] = np.arange(len(names))
    return np.argsort(rank[inv], kind="stable").astype(np.uint32)


def inverse(order: np.ndarray) -> np.ndarray:
    """Draw index of every row (the inverse permutation of ``order``)."""
    inv = np.empty(len(order), dtype=np.int64)
    inv[order] = np.arange(len(order))
    return inv


# ---- layers -------------------------------------------------------------------------------------------------
def positions_layer(x: np.ndarray, y: np.ndarray, order: np.ndarray, titles: tuple[str, str]) -> Layer:
    """Positions in draw order and their catalog rows; the bounds of the finite positions in the metadata."""
    xs = np.asarray(x, dtype=np.float32)[order]
    ys = np.asarray(y, dtype=np.float32)[order]
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.any():
        bounds = [float(xs[ok].min()), float(xs[ok].max()), float(ys[ok].min()), float(ys[ok].max())]
    else:
        bounds = [0.0, 1.0, 0.0, 1.0]
    xs, ys = np.where(ok, xs, 0).astype(np.float32), np.where(ok, ys, 0).astype(np.float32)
    bufs = {"x": xs, "y": ys, "row": np.asarray(order, dtype=np.uint32)}
    return Layer.make("pos", {"bounds": bounds, "titles": list(titles), "n": int(len(order))}, bufs)


def names_layer(names: np.ndarray, order: np.ndarray) -> Layer:
    """The sources' names (catalog order) in draw order, as one UTF-8 buffer of newline-separated names, for the
    hover text. A layer of its own, sent after the map has drawn: at 100,000 points it is 2.4 MB, twice the
    positions, and held back it let the map draw ~0.3 s sooner."""
    if len(names) != len(order):
        raise ValueError(f"{len(names)} names for {len(order)} points")
    text = "\n".join(str(n).replace("\n", " ") for n in np.asarray(names)[order])
    return Layer.make("names", {"n": int(len(order))}, {"text": np.frombuffer(text.encode(), dtype=np.uint8)})


def class_layer(labels: np.ndarray, order: np.ndarray, classes: list[str], colours: dict[str, str],
                background: str) -> Layer:
    """Colour by class: code = position of the class in ``classes``; the legend lists each class with its count.
    The background class is drawn small and pale, the others larger and nearly opaque."""
    if len(classes) > 255:
        raise ValueError(f"{len(classes)} classes: the map colours at most 255")
    lab = np.asarray(labels).astype(str)[order]
    index = {c: i for i, c in enumerate(classes)}
    missing = sorted(set(np.unique(lab)) - set(index))
    if missing:
        raise ValueError(f"labels {missing[:5]} have no colour")
    names, inv = np.unique(lab, return_inverse=True)
    codes = np.array([index[c] for c in names], dtype=np.uint8)[inv] if len(lab) else np.zeros(0, np.uint8)
    counts = np.bincount(codes, minlength=len(classes))
    palette = [_rgba(colours[c], 0.35 if c == background else 0.85, 0.8 if c == background else 1.25)
               for c in classes]
    legend = [{"name": c, "colour": colours[c], "count": int(counts[i]), "code": i} for i, c in enumerate(classes)]
    return Layer.make("colour", {"mode": "class", "palette": palette, "legend": legend}, {"c": codes})


def value_layer(values: np.ndarray, order: np.ndarray, title: str, lut: list[str], *, log: bool = False,
                nan_colour: str = "#C8C8C8") -> Layer:
    """Colour by a numeric column: values (log10 of the positive ones with ``log``) scaled between their 1st
    and 99th percentiles to codes 0..254 of ``lut`` (255 colours); NaN (and non-positive values under ``log``)
    get code 255, drawn grey."""
    v = np.asarray(values, dtype=float)[order]
    if log:
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(v > 0, np.log10(v), np.nan)
        title = f"log10 {title}"
    ok = np.isfinite(v)
    lo, hi = (np.percentile(v[ok], [1, 99]) if ok.any() else (0.0, 1.0))
    hi = hi if hi > lo else lo + 1e-9
    codes = np.full(len(v), NAN_CODE, dtype=np.uint8)
    codes[ok] = np.clip(np.rint((v[ok] - lo) / (hi - lo) * (NAN_CODE - 1)), 0, NAN_CODE - 1).astype(np.uint8)
    if len(lut) != NAN_CODE:
        raise ValueError(f"the colour table has {len(lut)} colours, not {NAN_CODE}")
    palette = [_rgba(c, 0.85, 1.0) for c in lut] + [_rgba(nan_colour, 0.5, 1.0)]
    meta = {"mode": "value", "palette": palette, "title": title, "lo": float(lo), "hi": float(hi),
            "nan": int((~ok).sum()), "stops": lut[:: max(1, len(lut) // 10)] + [lut[-1]]}
    return Layer.make("colour", meta, {"c": codes})


def mask_layer(mask: np.ndarray, order: np.ndarray) -> Layer:
    """The points that pass the filters, one bit per point in draw order (little-endian bit order)."""
    m = np.asarray(mask, dtype=bool)[order]
    return Layer.make("mask", {"shown": int(m.sum())}, {"bits": np.packbits(m, bitorder="little")})


def selection_layer(draw_idx: np.ndarray, n: int, outline_max: int = 1000) -> Layer:
    """The selected points (draw indices), in whichever of the two encodings is smaller; ``outline`` tells the
    browser to ring each selected point, only for small selections."""
    idx = _sorted_unique(draw_idx)
    codec, buf = _best_encoding(idx, n)
    return Layer.make("sel", {"codec": codec, "count": int(len(idx)), "outline": bool(0 < len(idx) <= outline_max)},
                      {"data": buf})


# ---- selections from the browser ------------------------------------------------------------------------------
def _sorted_unique(idx) -> np.ndarray:
    """Sorted distinct int64 indices (np.unique took 2 s for 757,000 sorted indices here, numpy 2.4)."""
    a = np.sort(np.asarray(idx, dtype=np.int64))
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if len(a) else a


def _best_encoding(idx: np.ndarray, n: int) -> tuple[str, np.ndarray]:
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"selection indices outside 0..{n - 1}")
    if 4 * len(idx) <= (n + 7) // 8:
        return "u32", idx.astype("<u4")
    bits = np.zeros(n, dtype=bool)
    bits[idx] = True
    return "bits", np.packbits(bits, bitorder="little")


def encode_indices(idx: np.ndarray, n: int) -> dict[str, Any]:
    """Indices as the browser sends them (for tests and for symmetry): {codec, b64, n, count}."""
    idx = _sorted_unique(idx)
    codec, buf = _best_encoding(idx, n)
    return {"codec": codec, "b64": base64.b64encode(buf.tobytes()).decode(), "n": int(n), "count": int(len(idx))}


def decode_indices(event: dict[str, Any], n: int) -> np.ndarray:
    """Sorted draw indices from a selection event ``{codec: "u32"|"bits", b64, n}``; refuses an event made for
    another number of points (the map changed under the selection)."""
    if int(event.get("n", -1)) != n:
        raise ValueError(f"selection made on {event.get('n')} points, the map has {n}")
    raw = base64.b64decode(event.get("b64", ""), validate=True)
    codec = event.get("codec")
    if codec == "u32":
        if len(raw) % 4:
            raise ValueError(f"u32 selection of {len(raw)} bytes is not a whole number of indices")
        idx = np.frombuffer(raw, dtype="<u4").astype(np.int64)
    elif codec == "bits":
        if len(raw) != (n + 7) // 8:
            raise ValueError(f"bit selection of {len(raw)} bytes for {n} points")
        idx = np.flatnonzero(np.unpackbits(np.frombuffer(raw, dtype=np.uint8), count=n, bitorder="little"))
    else:
        raise ValueError(f"unknown selection codec {codec!r}")
    if len(idx) and idx.max() >= n:
        raise ValueError(f"selection index {int(idx.max())} outside 0..{n - 1}")
    return _sorted_unique(idx)


# ---- the payload --------------------------------------------------------------------------------------------
def pack(layers: list[Layer], held: set[str] | frozenset[str], extra: dict[str, Any]) -> bytes:
    """One payload: ``extra`` (small JSON: mode, focus, hits...) and each layer, with its buffers only when its
    key is not in ``held`` (the keys the browser already has)."""
    header: dict[str, Any] = dict(extra)
    header["layers"] = {}
    chunks: list[bytes] = []
    offset = 0
    for layer in layers:
        entry: dict[str, Any] = {"key": layer.key, "meta": layer.meta}
        if layer.key not in held:
            entry["bufs"] = {}
            for name, a in layer.bufs.items():
                dt = next(k for k, t in DTYPES.items() if a.dtype == np.dtype(t).newbyteorder("<"))
                b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
                entry["bufs"][name] = [offset, len(b), dt]
                pad = (-len(b)) % 8
                chunks.append(b + b"\0" * pad)
                offset += len(b) + pad
        header["layers"][layer.name] = entry
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((-(8 + len(head))) % 8)  # the buffers start 8-byte aligned
    return MAGIC + np.uint32(len(head)).astype("<u4").tobytes() + head + b"".join(chunks)


def unpack(payload: bytes) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """The header and each layer's buffers (what the browser reads); used by the tests."""
    if payload[:4] != MAGIC:
        raise ValueError("not a map payload (bad magic)")
    hl = int(np.frombuffer(payload[4:8], dtype="<u4")[0])
    header = json.loads(payload[8:8 + hl])
    base, out = 8 + hl, {}
    for name, entry in header["layers"].items():
        out[name] = {}
        for k, (off, ln, dt) in entry.get("bufs", {}).items():
            t = np.dtype(DTYPES[dt]).newbyteorder("<")
            out[name][k] = np.frombuffer(payload, dtype=t, count=ln // t.itemsize, offset=base + off)
    return header, out


def _rgba(hex_colour: str, alpha: float, size: float) -> list[float]:
    h = hex_colour.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"colour {hex_colour!r} is not #RRGGBB")
    return [int(h[i:i + 2], 16) for i in (0, 2, 4)] + [round(alpha, 3), round(size, 3)]
