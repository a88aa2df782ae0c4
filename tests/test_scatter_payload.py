"""The map's binary payload (explorer/logic/scatter.py): layers round-trip, only unheld layers carry bytes, the
draw order puts rare classes on top, colour codes, filter bits and selection codecs are exact."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.logic import scatter as sc

LUT = [f"#{i:02x}{i:02x}{i:02x}" for i in range(255)]


def test_draw_order_puts_the_background_first_and_rare_classes_last():
    labels = np.array(["u", "AGN", "CV", "u", "AGN", "AGN", "u", "NS", "CV"])
    order = sc.draw_order(labels, "u")
    assert labels[order].tolist() == ["u", "u", "u", "AGN", "AGN", "AGN", "CV", "CV", "NS"]
    assert order[:3].tolist() == [0, 3, 6]  # stable within a class
    inv = sc.inverse(order)
    assert (order[inv] == np.arange(len(labels))).all()


def test_positions_layer_keeps_rows_and_bounds_and_zeroes_missing_positions():
    x = np.array([3.0, np.nan, 1.0, 2.0])
    y = np.array([0.0, 5.0, -1.0, 4.0])
    order = np.array([2, 0, 3, 1], dtype=np.uint32)
    layer = sc.positions_layer(x, y, order, ("u1", "u2"))
    assert layer.bufs["x"].dtype == np.float32 and layer.bufs["row"].dtype == np.uint32
    assert layer.bufs["x"].tolist() == [1.0, 3.0, 2.0, 0.0]  # NaN drawn nowhere (the mask hides it)
    assert layer.bufs["row"].tolist() == [2, 0, 3, 1]
    assert layer.meta["bounds"] == [1.0, 3.0, -1.0, 4.0]
    names = sc.names_layer(np.array(["a", "b", "c", "d"]), order)  # catalog order in, draw order out
    assert bytes(names.bufs["text"]).decode().split("\n") == ["c", "a", "d", "b"] and names.key != layer.key
    with pytest.raises(ValueError):
        sc.names_layer(np.array(["a", "b"]), order)


def test_class_layer_codes_palette_and_legend():
    labels = np.array(["unl", "AGN", "CV", "AGN"])
    order = np.array([0, 1, 3, 2])
    layer = sc.class_layer(labels, order, ["AGN", "CV", "unl"], {"AGN": "#4477AA", "CV": "#EE6677", "unl": "#B8B8B8"},
                           "unl")
    assert layer.bufs["c"].tolist() == [2, 0, 0, 1]
    assert [(d["name"], d["count"]) for d in layer.meta["legend"]] == [("AGN", 2), ("CV", 1), ("unl", 1)]
    assert layer.meta["palette"][0] == [0x44, 0x77, 0xAA, 0.85, 1.25]
    assert layer.meta["palette"][2][3:] == [0.35, 0.8]  # the background pale and small
    with pytest.raises(ValueError, match="no colour"):
        sc.class_layer(np.array(["XX"]), np.array([0]), ["AGN"], {"AGN": "#4477AA"}, "unl")


def test_value_layer_quantises_between_percentiles_and_codes_nan():
    v = np.concatenate([np.linspace(0, 1, 101), [np.nan, -1.0]])
    order = np.arange(len(v))
    layer = sc.value_layer(v, order, "hr", LUT)
    c = layer.bufs["c"]
    assert c[101] == sc.NAN_CODE and c[0] == 0 and c[100] == 254
    assert np.all(np.diff(c[1:100].astype(int)) >= 0)
    assert layer.meta["nan"] == 1 and len(layer.meta["palette"]) == 256
    log = sc.value_layer(v, order, "hr", LUT, log=True)
    assert log.bufs["c"][102] == sc.NAN_CODE and log.bufs["c"][0] == sc.NAN_CODE  # log of -1 and of 0
    assert log.meta["title"] == "log10 hr"


def test_mask_bits_are_little_endian_in_draw_order():
    mask = np.array([True, False, False, True, True, False, False, False, False, True])
    order = np.arange(10)[::-1]
    bits = sc.mask_layer(mask, order).bufs["bits"]
    flags = np.unpackbits(bits, count=10, bitorder="little").astype(bool)
    assert (flags == mask[order]).all()


@pytest.mark.parametrize("k", [0, 1, 5, 300, 9000, 20000])
def test_selection_codecs_round_trip_and_pick_the_smaller(k):
    n = 20000
    idx = np.random.default_rng(k).choice(n, size=k, replace=False)
    ev = sc.encode_indices(idx, n)
    assert ev["codec"] == ("u32" if 4 * k <= n // 8 else "bits")
    assert (sc.decode_indices(ev, n) == np.sort(idx)).all()
    assert len(ev["b64"]) <= 4 * max(4 * k, n // 8) / 3 + 4


def test_selection_of_half_a_million_points_stays_small():
    n = 1_300_000
    idx = np.arange(100_000, 600_000)
    ev = sc.encode_indices(idx, n)
    assert ev["codec"] == "bits" and len(ev["b64"]) < 220_000  # one bit per point, not one entry per point
    assert len(sc.decode_indices(ev, n)) == 500_000


def test_decode_refuses_a_selection_made_on_another_map_or_damaged():
    ev = sc.encode_indices([1, 2], 100)
    with pytest.raises(ValueError, match="made on 100 points"):
        sc.decode_indices(ev, 101)
    with pytest.raises(ValueError, match="outside"):
        sc.decode_indices(sc.encode_indices([1], 1000) | {"n": 1}, 1)
    with pytest.raises(ValueError, match="codec"):
        sc.decode_indices(ev | {"codec": "zip"}, 100)


def test_pack_sends_only_the_layers_the_browser_does_not_hold():
    order = np.arange(5)
    pos = sc.positions_layer(np.arange(5.0), np.arange(5.0) * 2, order, ("a", "b"))
    col = sc.value_layer(np.arange(5.0), order, "v", LUT)
    mask = sc.mask_layer(np.ones(5, bool), order)
    first = sc.pack([pos, col, mask], set(), {"focus": 3, "hits": [1, 2]})
    header, bufs = sc.unpack(first)
    assert header["focus"] == 3 and header["hits"] == [1, 2]
    assert bufs["pos"]["y"].tolist() == [0, 2, 4, 6, 8] and bufs["pos"]["row"].dtype == np.uint32
    assert bufs["colour"]["c"].tolist() == col.bufs["c"].tolist()
    assert all(spec[0] % 8 == 0 for e in header["layers"].values() for spec in e["bufs"].values())
    # the browser holds positions and mask: a recolouring carries one byte per point and nothing else
    col2 = sc.value_layer(np.arange(5.0)[::-1].copy(), order, "v", LUT)
    second = sc.pack([pos, col2, mask], {pos.key, mask.key}, {"focus": -1})
    header2, bufs2 = sc.unpack(second)
    assert "bufs" not in header2["layers"]["pos"] and header2["layers"]["pos"]["key"] == pos.key
    assert set(bufs2["colour"]) == {"c"} and bufs2["colour"]["c"].tolist() == col2.bufs["c"].tolist()
    assert len(second) < len(first) - 30
    # same content, same key; other content, other key
    assert sc.mask_layer(np.ones(5, bool), order).key == mask.key
    assert sc.mask_layer(np.zeros(5, bool), order).key != mask.key


def test_selection_layer_outlines_only_small_sets():
    small = sc.selection_layer(np.arange(10), 100_000)
    big = sc.selection_layer(np.arange(5000), 100_000)
    assert small.meta == {"codec": "u32", "count": 10, "outline": True}
    assert big.meta["outline"] is False and big.meta["codec"] == "bits"
    assert sc.selection_layer(np.zeros(0, int), 10).meta["outline"] is False
