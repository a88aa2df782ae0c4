"""Every file that cannot become an ACIS imaging spectrum is refused with a SpectrumError that names the file
and says what is wrong. Damaged files are made here from a copy of a real PHA (9774.pi)."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from core.errors import SpectrumError
from core.io import read_spectrum

GOOD = ("spectra/9774.pi", "spectra/9774.arf", "spectra/9774.rmf", "spectra/9774_bg.pi")


def assert_refused(path: Path, reason_pattern: str, **kwargs) -> SpectrumError:
    """read_spectrum(path) raises SpectrumError naming ``path`` with a reason matching ``reason_pattern``."""
    with pytest.raises(SpectrumError) as info:
        read_spectrum(path, **kwargs)
    exc = info.value
    assert Path(exc.path).name == Path(path).name, f"the error names {exc.path}, not {path}"
    assert Path(path).name in str(exc)
    assert re.search(reason_pattern, exc.reason, re.IGNORECASE), exc.reason
    return exc


@pytest.fixture
def good(copy_real) -> Path:
    """A writable folder holding 9774.pi with its ARF, RMF and background."""
    folder = copy_real(*GOOD)
    read_spectrum(folder / "9774.pi")  # the undamaged copy reads
    return folder


def edited(folder: Path, name: str, edit) -> Path:
    """A copy of 9774.pi (same folder, so its responses resolve) after ``edit(hdulist)``, its DATASUMs updated
    (so that the edit, not the checksum, is what the reader refuses)."""
    out = folder / name
    with fits.open(folder / "9774.pi") as hdul:
        edit(hdul)
        hdul.writeto(out, checksum=True)
    return out


def with_counts(make):
    """An edit replacing the COUNTS column by ``make(original counts)`` as float64."""

    def edit(hdul):
        spec = hdul["SPECTRUM"]
        cols = [c for c in spec.columns if c.name != "COUNTS"]
        counts = make(np.array(spec.data["COUNTS"], dtype=np.float64))
        new = fits.BinTableHDU.from_columns(fits.ColDefs(cols) + fits.ColDefs([fits.Column("COUNTS", "D", array=counts)]),
                                            header=spec.header)
        hdul["SPECTRUM"] = new

    return edit


# ---- real files that are not ACIS imaging spectra ----------------------------------------------------------

def test_hrc_grating_spectrum(real_data):
    exc = assert_refused(real_data / "spectra/hrc_bin2.pha", r"HRC")
    assert "energy resolution" in exc.reason


def test_hetg_zeroth_order(real_data):
    assert_refused(real_data / "spectra/3c273.pi", r"GRATING=HETG.*grating")


def test_no_spectrum_extension(real_data):
    exc = assert_refused(real_data / "spectra/with_nan.fits", r"no SPECTRUM extension")
    assert "round-tripped.vot" in exc.reason  # says what it found instead


@pytest.mark.parametrize("name", ["spectra/9774.arf", "spectra/9774.rmf"])
def test_response_files_are_not_spectra(real_data, name):
    assert_refused(real_data / name, r"no SPECTRUM extension")


def test_missing_response(real_data, copy_real):
    exc = assert_refused(real_data / "spectra/12845.pi", r"RESPFILE = 12845\.wrmf \(not next to the file\)")
    assert exc.missing == ("ARF", "RMF") and str(real_data) not in exc.reason  # no server path in the reason
    alone = copy_real("spectra/12845.pi")
    assert_refused(alone / "12845.pi", r"needs its ARF and RMF.*give them explicitly")


def test_response_without_header_keyword_and_none_beside(copy_real):
    alone = copy_real("spectra/source.pi")
    exc = assert_refused(alone / "source.pi", r"no RESPFILE keyword.*give them explicitly")
    assert "--" not in exc.reason  # no CLI flags: the upload page shows this reason too


def test_override_that_does_not_exist(real_data, tmp_path):
    assert_refused(real_data / "spectra/source.pi", r"ARF given for ANCRFILE, nope\.arf, does not exist", arf=tmp_path / "nope.arf")


# ---- mismatched responses ----------------------------------------------------------------------------------

def test_arf_of_another_observation(real_data):
    """source.pi with 9774's ARF against its own RMF: different energy grids."""
    with pytest.raises(SpectrumError) as info:
        read_spectrum(real_data / "spectra/source.pi", arf=real_data / "spectra/9774.arf")
    exc = info.value
    assert "9774.arf" in exc.reason and "source.rmf" in exc.reason  # both named, also in an ingest report
    assert re.search(r"energy grid.*does not match", exc.reason)


def test_rmf_of_another_observation(real_data):
    with pytest.raises(SpectrumError, match=r"does not match") as info:
        read_spectrum(real_data / "spectra/source.pi", rmf=real_data / "spectra/9774.rmf")
    assert "9774.rmf" in str(info.value)


def write_small_response(folder: Path, n_chan: int = 512, n_e: int = 60) -> tuple[Path, Path]:
    """A consistent ARF + diagonal RMF pair with ``n_chan`` channels (not ACIS's 1024)."""
    lo = np.linspace(0.3, 9.0, n_e, endpoint=False)
    hi = lo + (lo[1] - lo[0])
    arf = fits.BinTableHDU.from_columns([fits.Column("ENERG_LO", "E", array=lo), fits.Column("ENERG_HI", "E", array=hi),
                                         fits.Column("SPECRESP", "E", array=np.full(n_e, 100.0))], name="SPECRESP")
    arf.header.update(HDUCLAS1="RESPONSE", HDUCLAS2="SPECRESP")
    chan = np.minimum((np.arange(n_e) * n_chan) // n_e + 1, n_chan)
    matrix = fits.BinTableHDU.from_columns([
        fits.Column("ENERG_LO", "E", array=lo), fits.Column("ENERG_HI", "E", array=hi),
        fits.Column("N_GRP", "J", array=np.ones(n_e, int)), fits.Column("F_CHAN", "J", array=chan),
        fits.Column("N_CHAN", "J", array=np.ones(n_e, int)), fits.Column("MATRIX", "E", array=np.ones(n_e))],
        name="MATRIX")
    matrix.header.update(HDUCLAS1="RESPONSE", HDUCLAS2="RSP_MATRIX", DETCHANS=n_chan, TLMIN4=1)
    e = np.arange(n_chan + 1) * 0.0146  # ACIS-wide channels, fewer of them
    ebounds = fits.BinTableHDU.from_columns([fits.Column("CHANNEL", "J", array=np.arange(1, n_chan + 1)),
                                             fits.Column("E_MIN", "E", array=e[:-1]),
                                             fits.Column("E_MAX", "E", array=e[1:])], name="EBOUNDS")
    ebounds.header.update(HDUCLAS1="RESPONSE", HDUCLAS2="EBOUNDS", DETCHANS=n_chan)
    fits.HDUList([fits.PrimaryHDU(), arf]).writeto(folder / "small.arf")
    fits.HDUList([fits.PrimaryHDU(), matrix, ebounds]).writeto(folder / "small.rmf")
    return folder / "small.arf", folder / "small.rmf"


def test_rmf_with_another_channel_count(good):
    arf, rmf = write_small_response(good)
    exc = assert_refused(good / "9774.pi", r"1024 channels but its RMF small\.rmf has 512", arf=arf, rmf=rmf)
    assert "small.rmf" in exc.reason


# ---- damaged copies of a real spectrum ---------------------------------------------------------------------

def test_nan_counts(good):
    def nan(c):
        c[[10, 200]] = np.nan
        return c
    assert_refused(edited(good, "nan.pi", with_counts(nan)), r"COUNTS column has 2 NaN")


def test_infinite_counts(good):
    def inf(c):
        c[300] = np.inf
        return c
    assert_refused(edited(good, "inf.pi", with_counts(inf)), r"NaN or infinite")


def test_negative_counts(good):
    def neg(c):
        c[100] = -3
        return c
    assert_refused(edited(good, "neg.pi", with_counts(neg)), r"1 channels have negative counts")


def test_fractional_counts(good):
    def frac(c):
        return c + 0.25
    assert_refused(edited(good, "frac.pi", with_counts(frac)), r"not whole numbers")


@pytest.mark.parametrize("value", [0.0, -5.0], ids=["zero", "negative"])
def test_zero_or_negative_exposure(good, value):
    def edit(hdul):
        hdul["SPECTRUM"].header["EXPOSURE"] = value
    assert_refused(edited(good, "exp.pi", edit), r"EXPOSURE=.*positive")


def test_missing_exposure(good):
    def edit(hdul):
        del hdul["SPECTRUM"].header["EXPOSURE"]
    assert_refused(edited(good, "noexp.pi", edit), r"EXPOSURE")


def test_wrong_detchans(good):
    def edit(hdul):
        hdul["SPECTRUM"].header["DETCHANS"] = 512
    assert_refused(edited(good, "detchans.pi", edit), r"DETCHANS=512.*1024 channels")


def test_wrong_number_of_rows(good):
    def edit(hdul):
        spec = hdul["SPECTRUM"]
        hdul["SPECTRUM"] = fits.BinTableHDU(spec.data[:512], header=spec.header)
    assert_refused(edited(good, "rows.pi", edit), r"512 rows.*1024 channels")


def test_grouped_or_binned_spectrum_is_refused(good):
    """A spectrum binned to 256 channels (DETCHANS says so too) is not a PI spectrum on ACIS channels."""
    def edit(hdul):
        spec = hdul["SPECTRUM"]
        hdul["SPECTRUM"] = fits.BinTableHDU(spec.data[:256], header=spec.header)
        hdul["SPECTRUM"].header["DETCHANS"] = 256
    assert_refused(edited(good, "binned.pi", edit), r"256 rows and DETCHANS=256")


def test_hrc_instrument_keyword(good):
    def edit(hdul):
        hdul["SPECTRUM"].header["INSTRUME"] = "HRC-I"
    assert_refused(edited(good, "hrc.pi", edit), r"HRC")


def test_other_telescope(good):
    def edit(hdul):
        hdul["SPECTRUM"].header["TELESCOP"] = "XMM"
    assert_refused(edited(good, "xmm.pi", edit), r"TELESCOP=XMM")


@pytest.mark.parametrize("size", [1000, 20000, 43200, 64800, 77760, 86399],
                         ids=["in-primary", "in-spectrum-header", "in-spectrum-data",
                              "in-gti-header", "gti-data-missing", "one-byte-short"])
def test_truncated_file(good, size):
    """A download cut short anywhere (in a header, in the SPECTRUM table, in the trailing GTIs) is refused.

    (A cut exactly between two HDUs leaves a valid, shorter FITS file: 9774.pi has no NEXTEND to tell.)"""
    raw = (good / "9774.pi").read_bytes()
    assert len(raw) == 86400
    cut = good / "cut.pi"
    cut.write_bytes(raw[:size])
    assert_refused(cut, r"truncated")


def test_truncated_gzip_file(copy_real):
    """A gzipped CSC pha3 cut short is refused, not read as far as it goes."""
    stem = "acisf01575_001N001_r0085"
    folder = copy_real(f"responses/{stem}_pha3.fits.gz", f"responses/{stem}_arf3.fits.gz",
                       f"responses/{stem}_rmf3.fits.gz")
    raw = (folder / f"{stem}_pha3.fits.gz").read_bytes()
    for fraction in (0.5, 0.9, 0.99):
        (folder / f"{stem}_pha3.fits.gz").write_bytes(raw[:int(len(raw) * fraction)])
        assert_refused(folder / f"{stem}_pha3.fits.gz", r"truncated")


def test_corrupt_gzip_file(good):
    bad = good / "bad.pi.gz"
    data = bytearray(gzip.compress((good / "9774.pi").read_bytes()))
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert_refused(bad, r"truncated|damaged|not a readable")


def test_non_fits_file(tmp_path):
    text = tmp_path / "notes.pi"
    text.write_text("CHANNEL COUNTS\n1 0\n2 5\n")
    assert_refused(text, r"not a readable FITS file")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.pi"
    empty.write_bytes(b"")
    assert_refused(empty, r"empty")


def test_file_not_found(tmp_path):
    assert_refused(tmp_path / "absent.pi", r"not found")


def test_damaged_background_file_is_refused(good):
    """A BACKFILE that is itself damaged refuses the spectrum (with the background named), never crashes."""
    raw = (good / "9774_bg.pi").read_bytes()
    (good / "9774_bg.pi").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SpectrumError) as info:
        read_spectrum(good / "9774.pi")
    assert "9774_bg.pi" in str(info.value)
