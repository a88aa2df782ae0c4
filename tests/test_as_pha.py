"""build-demo --as-pha: simulated spectra as real pha3 files that ingest reads back to the same counts."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from core.data.dataset import load_dataset
from core.data.ingest import ingest
from core.simulate.as_pha import write_as_pha
from core.simulate.demo import build_demo


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    return load_dataset(build_demo(tmp_path_factory.mktemp("demo") / "d", seed=3, n=40, progress=False))


def test_ingest_reads_the_corpus_back_to_the_dataset(small_demo, tmp_path):
    assert write_as_pha(small_demo, tmp_path / "pha", progress=False) == 40
    files = sorted((tmp_path / "pha").glob("*_pha3.fits"))
    assert len(files) == 40 and len(list((tmp_path / "pha").glob("*rmf3*"))) == 4
    with fits.open(files[0]) as hdul:
        assert hdul[1].header["SIMULATD"] and hdul[1].header["OBJECT"] == small_demo.catalog["name"].iloc[0]
    report = ingest([tmp_path / "pha"], tmp_path / "back", progress=False)
    assert len(report.loaded) == 40 and not report.rejected
    back = load_dataset(tmp_path / "back")
    np.testing.assert_array_equal(back.spectra, small_demo.spectra)
    np.testing.assert_allclose(back.background, small_demo.background, rtol=1e-6)
    assert back.catalog["name"].tolist() == small_demo.catalog["name"].tolist()
    np.testing.assert_allclose(back.catalog["exposure"], small_demo.catalog["exposure"])
    # the files say they are simulated, and so does every dataset read from them (the app labels from these)
    assert back.simulated and back.catalog["simulated"].all()
    assert back.info["note"].startswith("SIMULATED: 40 of 40 spectra come from files whose header says SIMULATD = T")


def test_an_uploaded_simulated_file_is_labelled_simulated(small_demo, tmp_path, real_data):
    from core.spectra.energy import EnergyGrid
    from explorer.logic.upload import load_upload

    write_as_pha(small_demo, tmp_path / "pha", progress=False)
    pha = sorted((tmp_path / "pha").glob("*_pha3.fits"))[0]
    with fits.open(pha) as hdul:
        arf, rmf = hdul[1].header["ANCRFILE"], hdul[1].header["RESPFILE"]
    files = {"pha": [(pha.name, pha.read_bytes())], "arf": [(arf, (tmp_path / "pha" / arf).read_bytes())],
             "rmf": [(rmf, (tmp_path / "pha" / rmf).read_bytes())]}
    assert load_upload(files, EnergyGrid()).meta["simulated"] is True
    real = {role: [(name, (real_data / "spectra" / name).read_bytes())] for role, name in
            (("pha", "9774.pi"), ("arf", "9774.arf"), ("rmf", "9774.rmf"))}
    assert load_upload(real, EnergyGrid()).meta["simulated"] is False


def test_refuses_a_folder_that_is_not_empty(small_demo, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        write_as_pha(small_demo, tmp_path / "full", progress=False)


def test_build_demo_checks_the_pha_folder_before_building(tmp_path, run_core):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    r = run_core("build-demo", "--n", "10", "--out", tmp_path / "d", "--as-pha", tmp_path / "full")
    assert r.returncode == 1 and "not empty" in r.stderr
    assert not (tmp_path / "d").exists()  # refused before building: a fresh --as-pha can reuse --out


@pytest.mark.parametrize("value, simulated", [(True, True), ("Y", True), (1, True), ("yes", True), (False, False),
                                              ("F", False), (0, False)])
def test_the_simulated_flag_is_read_whatever_its_type(real_data, tmp_path, value, simulated):
    from core.io import read_spectrum

    name = "acisf07867_000N001_r0002"
    for kind in ("arf3", "rmf3"):
        shutil.copy(real_data / f"responses/{name}_{kind}.fits", tmp_path)
    with fits.open(real_data / f"responses/{name}_pha3.fits") as hdul:
        hdul[1].header["SIMULATD"] = value
        hdul.writeto(tmp_path / f"{name}_pha3.fits", checksum=True)
    assert read_spectrum(tmp_path / f"{name}_pha3.fits").meta["simulated"] is simulated
