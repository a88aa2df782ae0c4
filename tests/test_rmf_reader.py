"""The RMF reader's matrix, built from the raw descriptors and heap, against a plain per-row reading of the
same file through astropy, on every real RMF; and its refusals of damaged matrices (P and Q descriptors,
fixed-length columns)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from scipy import sparse

from core.data.fetch import fetch, registry
from core.errors import SpectrumError
from core.io.cells import Cells
from core.io.response import read_rmf

REAL_RMFS = [n for n in sorted(registry()) if "rmf" in Path(n).name]  # every real RMF the project has


def reference_matrix(path: Path) -> sparse.csr_matrix:
    """Row by row, group by group, through astropy's own decoding of the variable-length columns."""
    with fits.open(path) as hdul:
        m = next(h for h in hdul[1:] if "MATRIX" in h.name)
        e = hdul["EBOUNDS"].data
        n_chan, first = len(e), int(m.header.get(f"TLMIN{m.columns.names.index('F_CHAN') + 1}", e["CHANNEL"][0]))
        rows, cols, vals = [], [], []
        for i, row in enumerate(m.data):
            fcs, ncs, values = np.atleast_1d(row["F_CHAN"]), np.atleast_1d(row["N_CHAN"]), row["MATRIX"]
            k = 0
            for fc, nc in zip(fcs[:row["N_GRP"]], ncs[:row["N_GRP"]]):
                for ch in range(int(fc) - first, int(fc) - first + int(nc)):
                    rows.append(i)
                    cols.append(ch)
                    vals.append(float(values[k]))
                    k += 1
        shape = (len(m.data), n_chan)
    return sparse.csr_matrix((np.array(vals), (np.array(rows, np.int64), np.array(cols, np.int64))),
                             shape=shape)


@pytest.mark.parametrize("name", REAL_RMFS)
def test_real_rmf_matrix_as_astropy_reads_it(name: str) -> None:
    got, want = read_rmf(fetch(name)).redistribution, reference_matrix(fetch(name))
    assert got.shape == want.shape and got.dtype == want.dtype == np.float64
    for a, b in ((got.indptr, want.indptr), (got.indices, want.indices), (got.data, want.data)):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def rewritten(tmp_path: Path, formats: tuple[str, str, str] = ("PJ()", "PJ()", "PE()"), edit=None,
              **cards) -> Path:
    """3c273.rmf with F_CHAN/N_CHAN/MATRIX written in ``formats`` (P, Q or fixed-length); ``edit(n_grp, f_chan,
    n_chan, matrix)`` changes the per-row lists first; ``cards`` are then set in the MATRIX header (TSCAL6=...)."""
    with fits.open(fetch("spectra/3c273.rmf")) as hdul:
        m = hdul["MATRIX"]
        d = m.data
        n_grp = np.array(d["N_GRP"])
        lists = [[np.atleast_1d(np.array(x)) for x in d[name]] for name in ("F_CHAN", "N_CHAN", "MATRIX")]
        if edit is not None:
            edit(n_grp, *lists)
        cols = [fits.Column("ENERG_LO", "E", unit="keV", array=d["ENERG_LO"]),
                fits.Column("ENERG_HI", "E", unit="keV", array=d["ENERG_HI"]),
                fits.Column("N_GRP", "I", array=n_grp)]
        for name, fmt, rows in zip(("F_CHAN", "N_CHAN", "MATRIX"), formats, lists):
            if fmt[0] in "PQ":
                kind = {"E": np.float32, "D": np.float64}.get(fmt[1], np.int32)
                array = [np.asarray(r, kind) for r in rows]
            else:
                width = int(fmt[:-1])
                array = np.array([np.pad(r, (0, width - len(r)))[:width] for r in rows])
            cols.append(fits.Column(name, fmt, array=array))
        header = m.header.copy()
        described = ("TTYPE", "TFORM", "TUNIT", "TLMIN", "TLMAX", "TSCAL", "TZERO")
        for key in [k for k in header if k[:5] in described] + ["CHECKSUM", "DATASUM"]:
            del header[key]
        hdul["MATRIX"] = fits.BinTableHDU.from_columns(cols, header=header)
        out = tmp_path / "edited.rmf"
        hdul.writeto(out)
    for key, value in cards.items():
        fits.setval(out, key, value=value, ext=1)
    return out


@pytest.mark.parametrize("formats", [("PJ()", "PJ()", "PE()"), ("QI()", "QI()", "QE()"), ("PI()", "QJ()", "PD()"),
                                     ("2I", "2I", "81E"), ("QK()", "PK()", "1090E")])
def test_descriptor_kinds_and_fixed_columns(tmp_path: Path, formats: tuple[str, str, str]) -> None:
    got = read_rmf(rewritten(tmp_path, formats)).redistribution
    want = read_rmf(fetch("spectra/3c273.rmf")).redistribution
    assert (got != want).nnz == 0 and np.array_equal(got.indices, want.indices)


def _row(index: int, which: int, value) -> callable:
    def edit(n_grp, *lists):
        if which < 0:
            n_grp[index] = value
        else:
            lists[which][index] = np.array(value)
    return edit


@pytest.mark.parametrize("edit, formats, reason", [
    (_row(200, -1, -1), None, "N_GRP has negative values"),
    (_row(200, -1, 5), None, "row 200 has N_GRP=5"),
    (_row(200, 0, [5000.0, 1.0]), ("PE()", "PJ()", "PE()"), "row 200: a channel group points outside"),
    (_row(200, 0, [20.5, 1.0]), ("PE()", "PJ()", "PE()"), "row 200: F_CHAN/N_CHAN are not whole numbers"),
    (_row(200, 1, [np.nan, 1.0]), ("PJ()", "PE()", "PE()"), "row 200: F_CHAN/N_CHAN are not whole numbers"),
    (_row(200, 1, [900, 1]), None, "beyond the row's"),
    (_row(200, 2, -np.ones(81)), None, "negative probabilities"),
    (_row(200, 2, np.full(81, np.inf)), None, "infinite"),
    (None, ("PJ()", "PJ()", "PL()"), "not numbers"),
    (None, ("PJ()", "PJ()", "PA()"), "not numbers"),
])
def test_damaged_matrix_refused(tmp_path: Path, edit, formats, reason: str) -> None:
    path = rewritten(tmp_path, formats or ("PJ()", "PJ()", "PE()"), edit)
    with pytest.raises(SpectrumError, match=reason.replace("(", r"\(")) as exc:
        read_rmf(path)
    assert str(exc.value.path) == str(path)


@pytest.mark.parametrize("cards, name", [({"TSCAL6": 2.0}, "MATRIX"), ({"TZERO4": 5}, "F_CHAN"),
                                         ({"TZERO5": 2**31}, "N_CHAN")])
def test_scaled_matrix_refused(tmp_path: Path, cards: dict, name: str) -> None:
    """A scaled column is refused (TZERO=2**31 is an unsigned offset only for int32, N_CHAN here is PI)."""
    formats = ("PJ()", "PI()", "PE()")
    with pytest.raises(SpectrumError, match=f"the {name} column is scaled"):
        read_rmf(rewritten(tmp_path, formats, **cards))


@pytest.mark.parametrize("descriptor", [(10**6, 0), (5, 10**9), (-1, 0), (3, -8)])
def test_descriptor_outside_the_heap_refused(tmp_path: Path, descriptor: tuple[int, int]) -> None:
    path = rewritten(tmp_path)
    with fits.open(path) as hdul:
        start = hdul["MATRIX"]._data_offset
        names = hdul["MATRIX"].columns.names
        row_bytes = hdul["MATRIX"].header["NAXIS1"]
    at = start + 300 * row_bytes + 4 + 4 + 2 + 8 * (names.index("MATRIX") - 3)  # row 300's MATRIX descriptor
    raw = bytearray(path.read_bytes())
    raw[at:at + 8] = np.array(descriptor, ">i4").tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(SpectrumError, match="row 300's array .* outside the .*-byte heap"):
        read_rmf(path)


def test_heap_arrays_at_any_byte_offset() -> None:
    """Arrays that start off their element size's alignment (a heap packs int16 and float32 arrays)."""
    arrays = [np.array(a, ">f4") for a in ([1.5, 2.5], [3.5], [], [4.5, 5.5, 6.5])]
    heap, starts = b"", []
    for a in arrays:
        heap += b"\x07" * (len(heap) % 3 + 1)  # 1-3 bytes of other data before each array
        starts.append(len(heap))
        heap += a.tobytes()
    counts = np.array([len(a) for a in arrays])
    col = Cells("MATRIX", counts, np.dtype(">f4"), 0.0, starts=np.array(starts), heap=np.frombuffer(heap, np.uint8))
    assert len({s % 4 for s in starts}) > 1
    assert col.head(counts).tolist() == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]
    assert col.head(np.array([1, 0, 0, 2])).tolist() == [1.5, 4.5, 5.5]


def test_unordered_and_overlapping_groups_as_astropy_reads_them(tmp_path: Path) -> None:
    def edit(n_grp, f_chan, n_chan, matrix):
        n_grp[500] = 2
        f_chan[500], n_chan[500], matrix[500] = np.array([100, 90]), np.array([20, 20]), np.arange(40) / 100
    path = rewritten(tmp_path, edit=edit)
    got, want = read_rmf(path).redistribution, reference_matrix(path)
    for a, b in ((got.indptr, want.indptr), (got.indices, want.indices), (got.data, want.data)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert got[500, 105 - 1] == pytest.approx(0.05 + 0.35)
