"""The map element's JavaScript against the Python payload, under node (no browser): the layers Python packs are
the arrays the browser decodes; held layers are reused and unknown ones reported missing; the browser's
selection encoding decodes in Python; a click picks the topmost visible point, never a hidden one."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from explorer.logic import scatter as sc

SRC = Path(__file__).resolve().parent.parent / "explorer" / "component" / "frontend" / "src"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")
LUT = [f"#{i:02x}{i:02x}{i:02x}" for i in range(255)]


def node(script: str, tmp_path: Path) -> dict:
    f = tmp_path / "t.mjs"
    f.write_text(script.replace("SRC", SRC.as_uri()))
    out = subprocess.run([NODE, str(f)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def layers(n: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(["u", "AGN", "CV"], size=n, p=[0.6, 0.3, 0.1])
    order = sc.draw_order(labels, "u")
    pos = sc.positions_layer(rng.normal(size=n), rng.normal(size=n), order, ("a", "b"))
    col = sc.class_layer(labels, order, ["AGN", "CV", "u"], {"AGN": "#4477AA", "CV": "#EE6677", "u": "#B8B8B8"}, "u")
    mask = sc.mask_layer(rng.random(n) > 0.3, order)
    sel = sc.selection_layer(rng.choice(n, size=30, replace=False), n)  # bits (30 * 4 > 50 / 8)
    return pos, col, mask, sel


def test_browser_decodes_what_python_packs_and_reuses_held_layers(tmp_path):
    pos, col, mask, sel = layers()
    names = sc.names_layer(np.array([f"src{i}" for i in range(50)]), pos.bufs["row"])
    first = sc.pack([pos, col, mask, sel, names], set(), {"focus": 7, "hits": [1, 2]})
    col2 = sc.value_layer(np.arange(50.0), np.arange(50), "v", LUT)
    second = sc.pack([pos, col2, mask, sel], {pos.key, col.key, mask.key, sel.key}, {"focus": -1})
    third = sc.pack([pos, col, mask, sel], {pos.key, col.key, mask.key, sel.key, "nothing"}, {})
    for name, payload in (("first", first), ("second", second), ("third", third)):
        (tmp_path / name).write_bytes(payload)
    lost = sc.pack([sc.mask_layer(np.zeros(50, bool), np.arange(50))], {sc.mask_layer(np.zeros(50, bool),
                                                                                      np.arange(50)).key}, {})
    (tmp_path / "lost").write_bytes(lost)
    got = node(f"""
import {{ readFileSync }} from "node:fs";
import {{ decode, selectionFlags }} from "SRC/payload.js";
const read = (n) => new Uint8Array(readFileSync("{tmp_path}/" + n));
const a = decode(read("first")), b = decode(read("second")), c = decode(read("third")), d = decode(read("lost"));
const p = a.layers.pos;
console.log(JSON.stringify({{
  focus: a.header.focus, x: Array.from(p.x), row: Array.from(p.row),
  names: new TextDecoder().decode(a.layers.names.text).split("\\n"), c: Array.from(a.layers.colour.c),
  bits: Array.from(a.layers.mask.bits), sel: Array.from(selectionFlags(a.layers.sel, p.x.length)),
  same_pos: b.layers.pos === p, c2: Array.from(b.layers.colour.c), missing_b: b.missing,
  back_to_class: c.layers.colour === a.layers.colour, missing_d: d.missing }}));
""", tmp_path)
    assert got["focus"] == 7
    assert np.allclose(got["x"], pos.bufs["x"]) and got["row"] == pos.bufs["row"].tolist()
    assert got["names"] == [f"src{i}" for i in pos.bufs["row"]]
    assert got["c"] == col.bufs["c"].tolist() and got["bits"] == mask.bufs["bits"].tolist()
    flags = np.unpackbits(sel.bufs["data"], count=50, bitorder="little")
    assert got["sel"] == flags.tolist()
    assert got["same_pos"] and got["missing_b"] == [] and got["c2"] == col2.bufs["c"].tolist()
    assert got["back_to_class"]  # a colouring held in the browser comes back without its bytes
    assert len(got["missing_d"]) == 1  # a layer Python thinks is held but the browser lost: asked for again


@pytest.mark.parametrize("k", [3, 40])
def test_browser_selection_encoding_decodes_in_python(tmp_path, k):
    n = 1000
    idx = sorted(np.random.default_rng(k).choice(n, size=k, replace=False).tolist())
    got = node(f"""
import {{ encodeIndices }} from "SRC/payload.js";
console.log(JSON.stringify(encodeIndices({idx}, {n})));""", tmp_path)
    assert got["codec"] == ("u32" if k == 3 else "bits")
    assert sc.decode_indices(got, n).tolist() == idx


def test_the_selection_python_echoes_back_is_recognised_as_the_one_drawn(tmp_path):
    """After a box the element has drawn the selection itself; when Python sends the same selection back it must
    not redraw (sameFlags), and any other selection, or none, must redraw."""
    n, idx = 50, [3, 7, 11]
    sel = sc.selection_layer(np.array(idx), n)
    (tmp_path / "sel").write_bytes(sc.pack([sel], set(), {}))
    got = node(f"""
import {{ readFileSync }} from "node:fs";
import {{ decode, sameFlags, selectionFlags }} from "SRC/payload.js";
const echoed = selectionFlags(decode(new Uint8Array(readFileSync("{tmp_path}/sel"))).layers.sel, {n});
const local = new Uint8Array({n}); for (const i of {idx}) local[i] = 1;
const other = local.slice(); other[4] = 1;
console.log(JSON.stringify({{ same: sameFlags(echoed, local), other: sameFlags(echoed, other),
  none: sameFlags(null, null), cleared: sameFlags(null, local), shorter: sameFlags(local, local.slice(1)) }}));""",
               tmp_path)
    assert got == {"same": True, "other": False, "none": True, "cleared": False, "shorter": False}


def test_pick_takes_the_topmost_visible_point_and_never_a_hidden_one(tmp_path):
    got = node("""
import { pick, inBox } from "SRC/view.js";
const m = { pos: { x: Float32Array.from([0, 0.01, 5]), y: Float32Array.from([0, 0, 5]) },
  vis: Uint8Array.from([2, 2, 2]), colour: { c: Uint8Array.from([0, 1, 0]) }, sizes: Float32Array.from([1, 1]),
  view: { cx: 0, cy: 0, kx: 10, ky: 10 }, W: 200, H: 200, pointSize: () => 6 };
const top = pick(m, 100, 100);
m.vis[1] = 0;
const hidden = pick(m, 100.1, 100);
m.vis[0] = 0;
const none = pick(m, 100, 100);
m.vis.set([2, 1, 2]);
const box = inBox(m, [90, 90], [110, 110]);
console.log(JSON.stringify({ top, hidden, none, box }));""", tmp_path)
    assert got == {"top": 1, "hidden": 0, "none": -1, "box": [0, 1]}
