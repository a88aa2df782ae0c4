"""The upload page's refusals (explorer.logic.upload, no Streamlit): each says why and what to upload, and never
shows a server path or a command-line flag."""
from __future__ import annotations

import gzip
import tempfile

import pytest

from core.spectra.energy import EnergyGrid
from explorer.logic.upload import MAX_FILE_MB, UploadError, load_upload

CSC = "acisf04938_000N002_r0043"


def refusal(files) -> str:
    with pytest.raises(UploadError) as info:
        load_upload(files, EnergyGrid())
    text = str(info.value)
    assert tempfile.gettempdir() not in text and "xle-upload-" not in text, text  # no server path
    assert "--" not in text, text  # no CLI flag
    return text


def test_csc_pha3_without_responses(real_data):
    pha = (real_data / f"responses/{CSC}_pha3.fits").read_bytes()
    text = refusal({"pha": [(f"{CSC}_pha3.fits", pha)]})
    assert "this CSC pha3 needs its ARF and RMF: upload them too" in text
    assert f"{CSC}_arf3.fits (not uploaded)" in text and f"{CSC}_rmf3.fits (not uploaded)" in text  # what to upload
    assert "next to the file" not in text  # file-system words mean nothing in a browser


def test_csc_pha3_with_only_its_arf(real_data):
    files = {"pha": [(f"{CSC}_pha3.fits", (real_data / f"responses/{CSC}_pha3.fits").read_bytes())],
             "arf": [(f"{CSC}_arf3.fits", (real_data / f"responses/{CSC}_arf3.fits").read_bytes())]}
    assert "this CSC pha3 needs its RMF: upload it too" in refusal(files)


def test_ogip_pha_without_responses(real_data):
    text = refusal({"pha": [("9774.pi", (real_data / "spectra/9774.pi").read_bytes())]})
    assert "this OGIP PHA needs its ARF and RMF: upload them too" in text and "9774.rmf" in text


def test_hrc_file(real_data):
    text = refusal({"pha": [("hrc_bin2.pha", (real_data / "spectra/hrc_bin2.pha").read_bytes())]})
    assert "hrc_bin2.pha cannot be used" in text and "HRC has no useful energy resolution" in text


def test_gzip_bomb():
    bomb = gzip.compress(b"\0" * (120 * 2**20), compresslevel=1)  # 120 MB of zeros in about 0.1 MB
    assert len(bomb) < MAX_FILE_MB * 2**20
    text = refusal({"pha": [("bomb.pi.gz", bomb)]})
    assert "bomb.pi.gz cannot be used" in text and "expands beyond 100 MB" in text


def test_file_over_the_size_limit():
    text = refusal({"pha": [("big.pi", b"\0" * (MAX_FILE_MB * 2**20 + 1))]})
    assert f"over the {MAX_FILE_MB} MB limit per file" in text


def test_companion_path_outside_the_upload_is_refused_without_saying_whether_it_exists(real_data, tmp_path):
    from astropy.io import fits

    answers = set()
    for target in ("/etc/passwd", "/no/such/file.rmf"):
        with fits.open(real_data / "spectra/9774.pi") as hdul:
            hdul["SPECTRUM"].header["RESPFILE"] = target
            hdul.writeto(tmp_path / "x.pi", overwrite=True, checksum=True)
        files = {"pha": [("x.pi", (tmp_path / "x.pi").read_bytes())],
                 "arf": [("9774.arf", (real_data / "spectra/9774.arf").read_bytes())]}
        answers.add(refusal(files).replace(target, "TARGET"))
    assert len(answers) == 1 and "outside the spectrum's folder" in answers.pop()


def test_a_good_upload_still_loads(real_data):
    files = {role: [(name, (real_data / "spectra" / name).read_bytes())] for role, name in
             (("pha", "9774.pi"), ("arf", "9774.arf"), ("rmf", "9774.rmf"), ("background", "9774_bg.pi"))}
    assert load_upload(files, EnergyGrid()).file_counts == 4424


def test_a_response_other_than_the_header_names_is_read_with_a_warning(real_data):
    """9774.pi names 9774.arf / 9774.rmf; given 3c273's, it is read (the caller chose), and the warning says so."""
    files = {role: [(name, (real_data / "spectra" / name).read_bytes())] for role, name in
             (("pha", "9774.pi"), ("arf", "3c273.arf"), ("rmf", "3c273.rmf"), ("background", "9774_bg.pi"))}
    warnings = load_upload(files, EnergyGrid()).warnings
    said = "ANCRFILE = 9774.arf but 3c273.arf was given: check that this ARF belongs"
    assert any(w.startswith(said) for w in warnings)
    assert any(w.startswith("RESPFILE = 9774.rmf but 3c273.rmf was given") for w in warnings)
    assert not any("BACKFILE" in w for w in warnings)  # 9774_bg.pi is the one the header names
    files = {role: [(name, (real_data / "spectra" / name).read_bytes())] for role, name in
             (("pha", "9774.pi"), ("arf", "9774.arf"), ("rmf", "9774.rmf"))}
    warnings = load_upload(files, EnergyGrid()).warnings
    assert not any("was given" in w for w in warnings)
    assert "BACKFILE = 9774_bg.pi was not uploaded: no background subtracted (upload it as the Background)" in warnings
