"""Hostile files made from the real ones (never committed): every class of damage the readers must refuse, and
the odd-but-valid files they must load exactly like the originals. Used by tests/test_hostile.py (one file per
case) and benchmarks/hostile_corpus.py (hundreds of variants, each read in its own process).

A case is ``name -> (expect, build)``: ``build(folder) -> path`` writes the file into ``folder``, which holds
copies of the ``SOURCES`` files; ``expect`` is "refuse", or "load:<reference>" to load with the same counts (and
background) as the reference spectrum, or "load-net" (HDUCLAS2=NET: same counts, no background).
"""
from __future__ import annotations

import bz2
import gzip
import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from astropy.io import fits

CSC = "acisf04938_000N002_r0043"
SOURCES = ("spectra/9774.pi", "spectra/9774.arf", "spectra/9774.rmf", "spectra/9774_bg.pi",
           f"responses/{CSC}_pha3.fits", f"responses/{CSC}_arf3.fits", f"responses/{CSC}_rmf3.fits")
REFERENCES = {"ogip": "9774.pi", "csc": f"{CSC}_pha3.fits"}


def prepare(real_data: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        shutil.copyfile(real_data / name, folder / Path(name).name)
        (folder / Path(name).name).chmod(0o644)
    return folder


# ---- ways of writing a damaged copy --------------------------------------------------------------------------

def fits_edit(folder: Path, src: str, out: str, edit: Callable[[fits.HDUList], None]) -> Path:
    """Copy ``src`` to ``out`` after ``edit(hdul)``, checksums updated (the edit is the damage, not the sum)."""
    with fits.open(folder / src) as hdul:
        edit(hdul)
        hdul.writeto(folder / out, checksum=True, overwrite=True, output_verify="ignore")
    return folder / out


def raw_edit(folder: Path, src: str, out: str, edit: Callable[[bytes], bytes]) -> Path:
    (folder / out).write_bytes(edit((folder / src).read_bytes()))
    return folder / out


def card(key: str, value: str, replaces: str | None = None, hdu: int = 1) -> Callable[[bytes], bytes]:
    """Overwrite the 80-byte card ``replaces`` (default ``key``) of HDU ``hdu`` with ``key = value``, raw."""
    def edit(data: bytes) -> bytes:
        start = 0
        for _ in range(hdu):
            start = data.index(b"XTENSION", start + 1)
        target = (replaces or key).ljust(8).encode()
        i = start
        while True:
            i = data.index(target, i)
            if i % 80 == 0:
                break
            i += 1
        new = (key.ljust(8) + "= " + value).ljust(80)[:80].encode()
        return data[:i] + new + data[i + 80:]
    return edit


def column(hdul: fits.HDUList, ext, name: str, new: fits.Column | None) -> None:
    """Replace (or, with None, drop) column ``name`` of extension ``ext``."""
    h = hdul[ext]
    cols = [new if c.name == name else c for c in h.columns if new is not None or c.name != name]
    hdul[ext] = fits.BinTableHDU.from_columns(cols, header=h.header)


def rows(hdul: fits.HDUList, ext, index: np.ndarray) -> None:
    h = hdul[ext]
    hdul[ext] = fits.BinTableHDU(h.data[index], header=h.header)


def header(ext, **values) -> Callable[[fits.HDUList], None]:
    def edit(hdul):
        for k, v in values.items():
            if v is None:
                del hdul[ext].header[k]
            else:
                hdul[ext].header[k] = v
    return edit


def counts_as(fmt: str, make) -> Callable[[fits.HDUList], None]:
    def edit(hdul):
        c = np.array(hdul["SPECTRUM"].data["COUNTS"])
        column(hdul, "SPECTRUM", "COUNTS", fits.Column("COUNTS", fmt, array=make(c)))
    return edit


def companion_edit(source: str, damaged: str, keyword: str, edit) -> Callable[[Path], Path]:
    """A damaged copy of the companion file ``source`` and a copy of 9774.pi whose ``keyword`` names it."""
    def build(folder: Path) -> Path:
        fits_edit(folder, source, damaged, edit)
        return fits_edit(folder, "9774.pi", f"uses_{damaged.replace('.', '_')}.pi",
                         header("SPECTRUM", **{keyword: damaged}))
    return build


def rmf_edit(edit) -> Callable[[Path], Path]:
    return companion_edit("9774.rmf", "bad.rmf", "RESPFILE", edit)


def arf_edit(edit) -> Callable[[Path], Path]:
    return companion_edit("9774.arf", "bad.arf", "ANCRFILE", edit)


def bkg_edit(edit) -> Callable[[Path], Path]:
    return companion_edit("9774_bg.pi", "bad_bg.pi", "BACKFILE", edit)


def matrix_rows(name: str, value) -> Callable[[fits.HDUList], None]:
    def edit(hdul):
        data = hdul["MATRIX"].data
        if name == "N_GRP":
            data["N_GRP"][100] = value
        else:
            data[name][100][0] = value
    return edit


def compressed(kind: str, truncate: bool = False, src: str = "9774.pi") -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        raw = (folder / src).read_bytes()
        if kind == "gz":
            data = gzip.compress(raw)
        elif kind == "bz2":
            data = bz2.compress(raw)
        else:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(src, raw)
                if kind == "zip2":
                    zf.writestr("other.txt", b"hello")
            data = buf.getvalue()
        out = folder / f"{Path(src).stem}_{kind}{'_cut' if truncate else ''}.pi.{kind.rstrip('2') if kind != 'bz2' else kind}"
        out.write_bytes(data[: len(data) * 2 // 3] if truncate else data)
        return out
    return build


def bomb(kind: str, mb: int = 120) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        zeros = b"SIMPLE  =                    T" + b" " * 50 + b"\0" * (mb * 2**20)
        data = gzip.compress(zeros, compresslevel=1) if kind == "gz" else bz2.compress(zeros, 1)
        out = folder / f"bomb.pi.{kind}"
        out.write_bytes(data)
        return out
    return build


def flip_data_byte(folder: Path) -> Path:
    """One bit flipped in the SPECTRUM table's data: the file's own DATASUM says so."""
    def edit(data: bytes) -> bytes:
        spectrum = data.index(b"XTENSION")
        end = data.index(b"END" + b" " * 77, spectrum)
        pos = (end // 2880 + 1) * 2880 + 4 * 1000 + 11  # inside row ~250's COUNTS
        return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]
    return raw_edit(folder, "9774.pi", "flipped.pi", edit)


def header_bomb(folder: Path) -> Path:
    cards = b"".join(f"COMMENT {i:070d}".encode()[:80].ljust(80) for i in range(36 * 1000))
    data = (folder / "9774.pi").read_bytes()
    i = data.index(b"END" + b" " * 77)
    return raw_edit(folder, "9774.pi", "header_bomb.pi", lambda d: d[:i] + cards + d[i:])


def random_header_bytes(folder: Path) -> Path:
    rng = np.random.default_rng(9)
    return raw_edit(folder, "9774.pi", "noise.pi",
                    lambda d: d[:2880 + 400] + rng.integers(0, 256, 300, dtype=np.uint8).tobytes() + d[2880 + 700:])


def swap_csc_hdus(folder: Path) -> Path:
    def edit(hdul):
        spec = [i for i, h in enumerate(hdul) if h.header.get("HDUCLAS1") == "SPECTRUM"]
        hdul[spec[0]], hdul[spec[1]] = hdul[spec[1]].copy(), hdul[spec[0]].copy()
    return fits_edit(folder, f"{CSC}_pha3.fits", "swapped_pha3.fits", lambda h: (edit(h), header(
        "SPECTRUM", RESPFILE=f"{CSC}_rmf3.fits")(h)))


def tlmin0_rmf(folder: Path) -> Path:
    """A valid RMF numbering channels from 0 (F_CHAN TLMIN=0, EBOUNDS from 0) with a PHA numbered the same."""
    def rmf(hdul):
        m = hdul["MATRIX"]
        n = [c.name for c in m.columns].index("F_CHAN") + 1
        d = m.data  # rebuilt column by column: astropy corrupts the heap when copying variable-length columns
        cols = [fits.Column("ENERG_LO", "E", array=d["ENERG_LO"]), fits.Column("ENERG_HI", "E", array=d["ENERG_HI"]),
                fits.Column("N_GRP", "I", array=d["N_GRP"]),
                fits.Column("F_CHAN", "PJ()", array=[np.asarray(x, np.int32) - 1 for x in d["F_CHAN"]]),
                fits.Column("N_CHAN", "PJ()", array=[np.asarray(x, np.int32) for x in d["N_CHAN"]]),
                fits.Column("MATRIX", "PE()", array=[np.asarray(x, np.float32) for x in d["MATRIX"]])]
        header = m.header.copy()
        for key in [k for k in header if k.startswith(("TFORM", "TTYPE", "TUNIT", "TLMIN", "TLMAX", "TDIM"))]:
            del header[key]
        hdul["MATRIX"] = fits.BinTableHDU.from_columns(cols, header=header)
        hdul["MATRIX"].header[f"TLMIN{n}"], hdul["MATRIX"].header[f"TLMAX{n}"] = 0, 1023
        hdul["EBOUNDS"].header["TLMIN1"], hdul["EBOUNDS"].header["TLMAX1"] = 0, 1023
    fits_edit(folder, "9774.rmf", "zero.rmf", rmf)

    def zero_based(**values):
        def edit(hdul):
            header("SPECTRUM", TLMIN1=0, TLMAX1=1023, **values)(hdul)
            hdul["SPECTRUM"].data["CHANNEL"] -= 1
        return edit
    fits_edit(folder, "9774_bg.pi", "zero_bg.pi", zero_based())
    return fits_edit(folder, "9774.pi", "zero_based.pi", zero_based(RESPFILE="zero.rmf", BACKFILE="zero_bg.pi"))


def backfile(name: str) -> Callable[[Path], Path]:
    return lambda folder: fits_edit(folder, "9774.pi", "backfile.pi", header("SPECTRUM", BACKFILE=name))


def ogip(edit, out: str = "damaged.pi") -> Callable[[Path], Path]:
    return lambda folder: fits_edit(folder, "9774.pi", out, edit)


def raw(edit, out: str = "raw.pi") -> Callable[[Path], Path]:
    return lambda folder: raw_edit(folder, "9774.pi", out, edit)


def _reversed(hdul):
    rows(hdul, "SPECTRUM", np.arange(1023, -1, -1))


def _shuffled(hdul):
    rows(hdul, "SPECTRUM", np.random.default_rng(1).permutation(1024))


def _channel_values(make):
    def edit(hdul):
        hdul["SPECTRUM"].data["CHANNEL"] = make(np.array(hdul["SPECTRUM"].data["CHANNEL"]))
    return edit


def _ebounds(make, unit: str | None = None):
    def edit(hdul):
        e = hdul["EBOUNDS"]
        lo, hi = make(np.array(e.data["E_MIN"]), np.array(e.data["E_MAX"]))
        e.data["E_MIN"], e.data["E_MAX"] = lo, hi
        if unit:
            e.header["TUNIT2"] = e.header["TUNIT3"] = unit
    return edit


def _zero_rows(ext):
    def edit(hdul):
        hdul[ext] = fits.BinTableHDU(hdul[ext].data[:0], header=hdul[ext].header)
    return edit


def _arf_area(make):
    def edit(hdul):
        hdul["SPECRESP"].data["SPECRESP"] = make(np.array(hdul["SPECRESP"].data["SPECRESP"]))
    return edit


def _nan_quality(hdul):
    q = np.zeros(1024)
    q[5] = np.nan
    column(hdul, "SPECTRUM", "COUNT_RATE", fits.Column("QUALITY", "E", array=q))


def _vla_counts(hdul):
    c = np.array(hdul["SPECTRUM"].data["COUNTS"])
    column(hdul, "SPECTRUM", "COUNTS", fits.Column("COUNTS", "PJ()", array=[np.array([v]) for v in c]))


def _bkg_other_mission(hdul):
    hdul["SPECTRUM"].header["TELESCOP"] = "XMM"


CASES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    # header and table structure
    "random bytes in a header": ("refuse", random_header_bytes),
    "TFIELDS damaged": ("refuse", raw(card("TFIELDS", "                   9"))),
    "TFORM damaged": ("refuse", raw(card("TFORM3", "'Q7X'"))),
    "TFORM width changed": ("refuse", raw(card("TFORM1", "'1D      '"))),
    "NAXIS2 text": ("refuse", raw(card("NAXIS2", "'many'"))),
    "NAXIS2 too large": ("refuse", raw(card("NAXIS2", "             9999999"))),
    "header of 36000 cards": ("refuse", header_bomb),
    "one bit flipped (DATASUM)": ("refuse", flip_data_byte),
    "DATASUM text": ("refuse", raw(card("DATASUM", "'12ab'"))),
    "truncated": ("refuse", raw(lambda d: d[:50000])),
    "trailing garbage": ("refuse", raw(lambda d: d + b"garbage" * 500)),
    "TSCAL 1e300 on COUNTS": ("refuse", raw(card("TSCAL3", "1E300", replaces="TUNIT4"))),
    "TZERO on COUNTS": ("refuse", raw(card("TZERO3", "7", replaces="TUNIT4"))),
    # keywords
    "EXPOSURE text": ("refuse", ogip(header("SPECTRUM", EXPOSURE="1e4 s"))),
    "EXPOSURE=T": ("refuse", ogip(header("SPECTRUM", EXPOSURE=True))),
    "EXPOSURE 1e30": ("refuse", ogip(header("SPECTRUM", EXPOSURE=1e30))),
    "BACKSCAL text": ("refuse", ogip(header("SPECTRUM", BACKSCAL="small"))),
    "BACKSCAL missing": ("refuse", ogip(header("SPECTRUM", BACKSCAL=None))),
    "BACKSCAL zero": ("refuse", ogip(header("SPECTRUM", BACKSCAL=0.0))),
    "AREASCAL missing": ("refuse", ogip(header("SPECTRUM", AREASCAL=None))),
    "AREASCAL zero": ("refuse", ogip(header("SPECTRUM", AREASCAL=0.0))),
    "DETCHANS text": ("refuse", ogip(header("SPECTRUM", DETCHANS="1024a"))),
    "QUALITY keyword text": ("refuse", ogip(header("SPECTRUM", QUALITY="bad"))),
    "RA_TARG text (cosmetic)": ("load:ogip", ogip(header("SPECTRUM", RA_TARG="12h30m"))),
    "RESPFILE of 304 characters": ("refuse", ogip(header("SPECTRUM", RESPFILE="r" * 300 + ".rmf"))),
    "HDUCLAS2=NET": ("load-net", ogip(header("SPECTRUM", HDUCLAS2="NET"))),
    "HDUCLAS2=BKG as the source": ("refuse", ogip(header("SPECTRUM", HDUCLAS2="BKG"))),
    "HDUCLAS2 unknown": ("refuse", ogip(header("SPECTRUM", HDUCLAS2="WHAT"))),
    # columns
    "COUNTS 1e306": ("refuse", ogip(counts_as("D", lambda c: np.where(np.arange(1024) == 7, 1e306, c)))),
    "COUNTS logical": ("refuse", ogip(counts_as("L", lambda c: c > 0))),
    "COUNTS text": ("refuse", ogip(counts_as("8A", lambda c: c.astype(str)))),
    "COUNTS variable-length": ("refuse", ogip(_vla_counts)),
    "COUNTS missing": ("refuse", ogip(lambda h: column(h, "SPECTRUM", "COUNTS", None))),
    "CHANNEL missing": ("refuse", ogip(lambda h: column(h, "SPECTRUM", "CHANNEL", None))),
    "QUALITY NaN": ("refuse", ogip(_nan_quality)),
    "rows reversed (CHANNEL honoured)": ("load:ogip", ogip(_reversed)),
    "rows shuffled (CHANNEL honoured)": ("load:ogip", ogip(_shuffled)),
    "CHANNEL repeated": ("refuse", ogip(_channel_values(lambda c: np.where(c == 10, 11, c)))),
    "CHANNEL out of TLMIN/TLMAX": ("refuse", ogip(_channel_values(lambda c: c + 5))),
    # companions
    "BACKFILE is the spectrum itself": ("refuse", backfile("backfile.pi")),
    "BACKFILE absolute": ("refuse", backfile("/etc/passwd")),
    "BACKFILE ../": ("refuse", backfile("../9774_bg.pi")),
    "RESPFILE /proc/self/environ": ("refuse", ogip(header("SPECTRUM", RESPFILE="/proc/self/environ"))),
    "background from another mission": ("refuse", bkg_edit(_bkg_other_mission)),
    "background BACKSCAL zero": ("refuse", bkg_edit(header("SPECTRUM", BACKSCAL=0.0))),
    "background HDUCLAS2=NET": ("refuse", bkg_edit(header("SPECTRUM", HDUCLAS2="NET"))),
    "CSC pha3 HDUs swapped": ("load:csc", swap_csc_hdus),
    # RMF
    "RMF without MATRIX": ("refuse", rmf_edit(lambda h: column(h, "MATRIX", "MATRIX", None))),
    "RMF without N_GRP": ("refuse", rmf_edit(lambda h: column(h, "MATRIX", "N_GRP", None))),
    "RMF without F_CHAN": ("refuse", rmf_edit(lambda h: column(h, "MATRIX", "F_CHAN", None))),
    "RMF without E_MIN": ("refuse", rmf_edit(lambda h: column(h, "EBOUNDS", "E_MIN", None))),
    "RMF N_GRP beyond F_CHAN": ("refuse", rmf_edit(matrix_rows("N_GRP", 50))),
    "RMF F_CHAN out of range": ("refuse", rmf_edit(matrix_rows("F_CHAN", 5000))),
    "RMF MATRIX NaN": ("refuse", rmf_edit(matrix_rows("MATRIX", np.nan))),
    "RMF DETCHANS 1e8": ("refuse", rmf_edit(header("MATRIX", DETCHANS=100_000_000))),
    "RMF DETCHANS text": ("refuse", rmf_edit(header("MATRIX", DETCHANS="lots"))),
    "RMF zero rows": ("refuse", rmf_edit(_zero_rows("MATRIX"))),
    "EBOUNDS zero rows": ("refuse", rmf_edit(_zero_rows("EBOUNDS"))),
    "EBOUNDS in eV": ("refuse", rmf_edit(_ebounds(lambda lo, hi: (lo * 1000, hi * 1000), unit="eV"))),
    "EBOUNDS reversed": ("refuse", rmf_edit(_ebounds(lambda lo, hi: (lo[::-1], hi[::-1])))),
    "EBOUNDS NaN": ("refuse", rmf_edit(_ebounds(lambda lo, hi: (np.where(np.arange(1024) == 9, np.nan, lo), hi)))),
    "RMF channels from 0 (TLMIN=0)": ("load:ogip", tlmin0_rmf),
    # ARF
    "ARF all zero": ("refuse", arf_edit(_arf_area(lambda a: a * 0))),
    "ARF NaN": ("refuse", arf_edit(_arf_area(lambda a: np.where(np.arange(len(a)) == 3, np.nan, a)))),
    "ARF zero rows": ("refuse", arf_edit(_zero_rows("SPECRESP"))),
    # compression
    "gzip valid": ("load:ogip", compressed("gz")),
    "bzip2 valid": ("load:ogip", compressed("bz2")),
    "zip valid": ("load:ogip", compressed("zip")),
    "gzip truncated": ("refuse", compressed("gz", truncate=True)),
    "bzip2 truncated": ("refuse", compressed("bz2", truncate=True)),
    "zip truncated": ("refuse", compressed("zip", truncate=True)),
    "zip of two files": ("refuse", compressed("zip2")),
    "gzip bomb (120 MB)": ("refuse", bomb("gz")),
    "bzip2 bomb (120 MB)": ("refuse", bomb("bz2")),
}
