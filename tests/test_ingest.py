"""``python -m core ingest`` on the real folders: every usable spectrum written with its file's counts, every
unusable one rejected with a reason, and the dataset folder in the documented schema (docs/formats.md)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from core.data.dataset import REQUIRED_COLUMNS, SPLITS, load_dataset
from core.spectra.energy import EnergyGrid
from core.data.ingest import ingest
from core.errors import XLEError
from core.spectra.hardness import hardness

LOADED = {"9774.pi", "bubble.pi", "obs1.pi", "obs2.pi", "source.pi", "source_bin10.pi",
          "acisf01575_001N001_r0085_pha3.fits.gz", "acisf04938_000N002_r0043_pha3.fits",
          "acisf07867_000N001_r0002_pha3.fits", "acisf23022_000N027_r0122_pha3.fits.gz"}
REJECTED = {  # file -> words its reason must contain
    "12845.pi": ("RESPFILE", "12845.wrmf"),
    "3c273.pi": ("GRATING=HETG",),
    "hrc_bin2.pha": ("HRC",),
    "with_nan.fits": ("no SPECTRUM extension",),
}
REAL_COLUMNS = ("file_counts", "source_file", "instrument", "detnam", "obsid", "object", "date_obs",
                "background_file", "response_file", "arf_file", "warnings")
STRING_COLUMNS = ("id", "name", "class", "split") + REAL_COLUMNS[1:]


def read_report(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def fits_total(path: str | Path) -> int:
    """Total COUNTS of the source spectrum (the HDU that is not HDUCLAS2=BKG), read with astropy."""
    with fits.open(path) as hdul:
        src = next(h for h in hdul[1:] if h.header.get("HDUCLAS1") == "SPECTRUM"
                   and h.header.get("HDUCLAS2") != "BKG")
        return int(np.sum(src.data["COUNTS"]))


@pytest.fixture(scope="module")
def ingested(real_data, run_core, tmp_path_factory):
    """One CLI run over the real spectra and responses folders: (result, dataset folder, report path)."""
    out = tmp_path_factory.mktemp("ingest") / "real"
    result = run_core("ingest", real_data / "spectra", real_data / "responses", "--out", out)
    return result, out, out.with_name("real_ingest_report.csv")


def test_exit_status_2_with_rejections(ingested):
    result, out, report = ingested
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert out.is_dir() and report.is_file()
    assert f"wrote {len(LOADED)} spectra" in result.stdout
    for name in REJECTED:
        assert any(line.startswith("REJECTED") and name in line for line in result.stdout.splitlines()), name


def test_report_lists_every_file_with_a_reason(ingested, real_data):
    _, _, report = ingested
    rows = read_report(report)
    by_name = {Path(r["file"]).name: r for r in rows}
    assert len(by_name) == len(rows), "a file is listed twice"
    every = {p.name for folder in ("spectra", "responses") for p in (real_data / folder).iterdir()
             if p.name.lower().removesuffix(".gz").endswith((".pi", ".pha", ".fits"))}
    assert set(by_name) == every
    assert {n for n, r in by_name.items() if r["status"] == "loaded"} == LOADED
    rejected = {n: r["reason"] for n, r in by_name.items() if r["status"] == "rejected"}
    assert set(rejected) == set(REJECTED)
    for name, words in REJECTED.items():
        for word in words:
            assert word in rejected[name], (name, rejected[name])
    skipped = {n: r["reason"] for n, r in by_name.items() if r["status"] == "skipped"}
    assert set(skipped) == every - LOADED - set(REJECTED)
    assert all(reason for reason in skipped.values())
    assert "ARF" in skipped["arf.fits"] and "RMF" in skipped["rmf.fits"]
    assert "background" in skipped["9774_bg.pi"]


def test_catalog_schema(ingested):
    _, out, _ = ingested
    cat = pd.read_parquet(out / "catalog.parquet")
    # of every file accepted here, only the two piled-up ones (M33's nucleus, NGC 4258) get the pile-up warning
    assert set(cat.loc[cat["warnings"].str.contains("possible pile-up"), "id"]) == {"source", "source_bin10"}
    assert cat["counts_above_10kev"].notna().all() and (cat["counts_above_10kev"] >= 0).all()
    for col in REQUIRED_COLUMNS + REAL_COLUMNS:
        assert col in cat.columns, col
    assert len(cat) == len(LOADED)
    assert cat["id"].is_unique
    for col in STRING_COLUMNS:
        assert pd.api.types.is_string_dtype(cat[col]) or cat[col].dtype == object, (col, cat[col].dtype)
        assert cat[col].map(lambda v: isinstance(v, str)).all(), col
    for col in ("counts", "file_counts"):
        assert pd.api.types.is_integer_dtype(cat[col]), (col, cat[col].dtype)
    for col in ("hard_hm", "hard_hs", "hard_ms", "catalog_hard_hm", "catalog_hard_hs", "catalog_hard_ms",
                "exposure"):
        assert pd.api.types.is_float_dtype(cat[col]), (col, cat[col].dtype)
    assert pd.api.types.is_bool_dtype(cat["simulated"]) and not cat["simulated"].any()
    assert set(cat["split"]) <= set(SPLITS)
    assert (cat["class"] == "").all()  # no catalog given
    assert cat[["catalog_hard_hm", "catalog_hard_hs", "catalog_hard_ms"]].isna().all().all()
    assert (cat["exposure"] > 0).all()
    assert (cat["instrument"] == "ACIS").all()
    assert {Path(f).name for f in cat["source_file"]} == LOADED
    for col in ("hard_hm", "hard_hs", "hard_ms"):
        assert cat[col].between(-1, 1).all(), col


def test_arrays_and_counts(ingested):
    _, out, _ = ingested
    cat = pd.read_parquet(out / "catalog.parquet")
    grid = EnergyGrid()
    spectra = np.load(out / "spectra.npy")
    background = np.load(out / "background.npy")
    edges = np.load(out / "energy_edges.npy")
    assert spectra.dtype == np.float32 and spectra.shape == (len(cat), grid.n_bins) == (10, 112)
    assert background.dtype == np.float32 and background.shape == spectra.shape
    assert edges.dtype == np.float64
    np.testing.assert_allclose(edges, grid.edges)
    assert np.all(spectra == np.round(spectra)) and np.all(spectra >= 0)
    assert np.all(background >= 0)
    np.testing.assert_array_equal(spectra.sum(axis=1).astype(np.int64), cat["counts"].to_numpy())
    assert (cat["counts"] <= cat["file_counts"]).all()
    # file_counts is the FITS file's own total, read independently
    for src, file_counts in zip(cat["source_file"], cat["file_counts"]):
        assert file_counts == fits_total(src), src
    assert not (out / "truth.npy").exists()
    info = json.loads((out / "dataset.json").read_text())
    assert info["simulated"] is False and info["n"] == len(cat)
    assert {Path(p).name for p, _ in info["rejected"]} == set(REJECTED)


def test_hardness_columns_match_the_arrays(ingested):
    """The catalog's hardness ratios are those of the written counts and background (with band areas when the
    catalog carries them)."""
    _, out, _ = ingested
    ds = load_dataset(out)
    cat = ds.catalog
    areas = ({b: cat[f"area_{b}"].to_numpy() for b in "smh"} if all(f"area_{b}" in cat for b in "smh") else None)
    hr = hardness(np.asarray(ds.spectra), ds.energy_edges, np.asarray(ds.background), ds.weights, areas)
    for col in ("hard_hm", "hard_hs", "hard_ms"):
        np.testing.assert_allclose(cat[col].to_numpy(), hr[col], rtol=1e-6, atol=1e-9, err_msg=col)


def test_only_good_files_exit_0(real_data, run_core, tmp_path):
    out = tmp_path / "good"
    result = run_core("ingest", real_data / "spectra/9774.pi", real_data / "spectra/obs1.pi",
                      real_data / "responses/acisf07867_000N001_r0002_pha3.fits", "--out", out)
    assert result.returncode == 0, result.stdout + result.stderr
    ds = load_dataset(out)
    assert list(ds.catalog["id"]) == ["9774", "obs1", "acisf07867_000N001_r0002_pha3"]
    assert list(ds.catalog["file_counts"]) == [4424, 54, 233]
    rows = read_report(tmp_path / "good_ingest_report.csv")
    assert [r["status"] for r in rows] == ["loaded"] * 3


def test_nothing_loads_exit_1_and_nothing_written(real_data, run_core, tmp_path):
    out = tmp_path / "none"
    report = tmp_path / "why.csv"
    result = run_core("ingest", real_data / "spectra/hrc_bin2.pha", real_data / "spectra/with_nan.fits",
                      real_data / "spectra/3c273.pi", "--out", out, "--report", report)
    assert result.returncode == 1
    assert "nothing could be written" in result.stdout
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["why.csv"]  # no temporary folder left either
    rows = read_report(report)
    assert {Path(r["file"]).name for r in rows} == {"hrc_bin2.pha", "with_nan.fits", "3c273.pi"}
    assert all(r["status"] == "rejected" and r["reason"] for r in rows)


def test_explicit_responses_for_a_single_spectrum(real_data, copy_real, run_core, tmp_path):
    """--arf/--rmf/--background for a spectrum whose header names no files."""
    alone = copy_real("spectra/source.pi", dest=tmp_path / "alone")
    other = copy_real("spectra/source.arf", "spectra/source.rmf", "spectra/back.pi", dest=tmp_path / "other")
    out = tmp_path / "ds"
    result = run_core("ingest", alone / "source.pi", "--out", out, "--arf", other / "source.arf",
                      "--rmf", other / "source.rmf", "--background", other / "back.pi")
    assert result.returncode == 0, result.stdout + result.stderr
    cat = load_dataset(out).catalog
    assert cat.loc[0, "file_counts"] == fits_total(real_data / "spectra/source.pi")
    assert cat.loc[0, "background_file"] == str(other / "back.pi")
    assert cat.loc[0, "response_file"] == str(other / "source.rmf")


def test_damaged_files_are_rejected_each_with_its_reason(copy_real, tmp_path):
    """The library call: damaged copies beside a good spectrum; the good one is written, each bad one is
    rejected with what is wrong, and nothing raises."""
    folder = copy_real("spectra/9774.pi", "spectra/9774.arf", "spectra/9774.rmf", "spectra/9774_bg.pi")
    raw = (folder / "9774.pi").read_bytes()
    (folder / "cut.pi").write_bytes(raw[:50000])
    (folder / "notes.pha").write_text("not a spectrum\n")
    with fits.open(folder / "9774.pi") as hdul:
        hdul["SPECTRUM"].header["EXPOSURE"] = 0.0
        hdul.writeto(folder / "noexp.pi")
    with fits.open(folder / "9774.pi") as hdul:
        hdul["SPECTRUM"].header["DETCHANS"] = 4096
        hdul.writeto(folder / "chans.pi")
    out = tmp_path / "ds"
    report = ingest([folder], out, progress=False)
    assert [p.name for p in report.loaded] == ["9774.pi"]
    reasons = {p.name: r for p, r in report.rejected}
    assert set(reasons) == {"cut.pi", "notes.pha", "noexp.pi", "chans.pi"}
    assert "truncated" in reasons["cut.pi"]
    assert "not a readable FITS file" in reasons["notes.pha"]
    assert "EXPOSURE" in reasons["noexp.pi"]
    assert "DETCHANS=4096" in reasons["chans.pi"]
    assert report.exit_status == 2
    assert len(load_dataset(out).catalog) == 1
    rows = read_report(tmp_path / "ds_ingest_report.csv")
    assert {Path(r["file"]).name: r["reason"] for r in rows if r["status"] == "rejected"} == reasons


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_on_the_command_line_is_rejected_not_waited_on(copy_real, tmp_path):
    """Opening a FIFO for reading blocks until something writes to it: the sort step used to wait forever. The
    ingest must finish (checked from another thread, so that a regression fails instead of hanging the suite)
    and reject the FIFO with its reason."""
    folder = copy_real("spectra/9774.pi", "spectra/9774.arf", "spectra/9774.rmf", "spectra/9774_bg.pi")
    fifo = tmp_path / "pipe.pi"
    os.mkfifo(fifo)
    result: dict = {}
    job = threading.Thread(target=lambda: result.update(report=ingest([folder / "9774.pi", fifo], tmp_path / "ds",
                                                                     progress=False)), daemon=True)
    job.start()
    job.join(timeout=120)
    assert not job.is_alive(), "ingest waited on the FIFO"
    report = result["report"]
    assert [p.name for p in report.loaded] == ["9774.pi"]
    assert [(p.name, "not a regular file" in r) for p, r in report.rejected] == [("pipe.pi", True)]


def test_existing_dataset_needs_overwrite(real_data, run_core, tmp_path):
    out = tmp_path / "ds"
    args = ("ingest", real_data / "spectra/obs1.pi", "--out", out)
    assert run_core(*args).returncode == 0
    before = (out / "catalog.parquet").read_bytes()
    again = run_core(*args)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "--overwrite" in again.stderr
    assert "Traceback" not in again.stderr
    assert (out / "catalog.parquet").read_bytes() == before
    replaced = run_core("ingest", real_data / "spectra/obs2.pi", "--out", out, "--overwrite")
    assert replaced.returncode == 0
    assert list(load_dataset(out).catalog["id"]) == ["obs2"]


def test_a_spectrum_without_its_responses_gets_a_hint_that_works(real_data, run_core, tmp_path):
    """9774.pi copied alone: its ARF/RMF are not beside it. The console names the file and prints a command; run
    as printed (with the real ARF/RMF put in), it ingests the spectrum into a dataset of its own, since the first
    run wrote its --out."""
    lone = tmp_path / "alone"
    lone.mkdir()
    shutil.copy(real_data / "spectra/9774.pi", lone / "9774.pi")
    out = tmp_path / "ds"
    result = run_core("ingest", lone / "9774.pi", real_data / "spectra/obs1.pi", "--out", out)
    assert result.returncode == 2, result.stdout + result.stderr  # some loaded, some rejected
    hint = result.stdout.split("REJECTED", 1)[1]
    assert f"{lone / '9774.pi'}: the response files were not found. Give them with --arf/--rmf" in hint
    assert f"into a new dataset ({out} is written now" in hint
    assert "(DIR: the folder that holds them; its background is missing too)" in hint
    command = next(line for line in hint.splitlines() if line.startswith("  python -m core ingest "))
    assert command == (f"  python -m core ingest {lone / '9774.pi'} --arf DIR/9774.arf --rmf DIR/9774.rmf "
                       f"--background DIR/9774_bg.pi --out {tmp_path / 'ds-9774'}")
    again = run_core(*command.replace("DIR", str(real_data / "spectra")).split()[3:])
    assert again.returncode == 0, again.stdout + again.stderr
    assert "no background" not in again.stdout  # the background came with the hint's command
    assert list(load_dataset(tmp_path / "ds-9774").catalog["id"]) == ["9774"]
    assert list(load_dataset(out).catalog["id"]) == ["obs1"]  # the first dataset is untouched


def test_the_hint_asks_only_for_what_is_missing():
    from core.commands.ingest_cmd import companion_hint

    rejected = [(Path("/d/a b.pi"), "needs its RMF: RESPFILE = a.rmf (not next to the file); give it explicitly"),
                (Path("/d/c.pi"), "not a spectrum")]
    hint = companion_hint(rejected, Path("/out/ds"), wrote=False)  # /d/a b.pi is not there: no BACKFILE known
    assert hint.splitlines()[1] == "  python -m core ingest '/d/a b.pi' --rmf DIR/a.rmf --out /out/ds"
    assert "Give them with --rmf, one spectrum at a time, e.g." in hint and "c.pi" not in hint
    assert companion_hint(rejected[1:], Path("/out/ds"), wrote=True) == ""


def test_response_and_background_overrides_refuse_several_spectra(real_data, run_core, tmp_path):
    """--background (or --arf/--rmf) names one spectrum's file: with a folder of spectra every one would get it in
    place of its own, silently. Refused before anything is read or written."""
    out = tmp_path / "ds"
    result = run_core("ingest", real_data / "spectra/9774.pi", real_data / "spectra/obs1.pi", "--out", out,
                      "--background", real_data / "spectra/back.pi")
    assert result.returncode != 0
    assert "--background name one spectrum's files, but 2 spectra were found" in result.stderr
    assert "9774.pi" in result.stderr and not out.exists()


def test_a_catalog_gives_classes_and_a_bad_one_is_refused_before_any_file_is_read(real_data, tmp_path):
    files = [real_data / "spectra/9774.pi", real_data / "responses/acisf07867_000N001_r0002_pha3.fits"]
    cat = tmp_path / "cat.csv"
    pd.DataFrame({"name": ["3C 186", "elsewhere"], "class": ["AGN", "YSO"], "hard_hm": [0.25, 0.0]}).to_csv(cat)
    ingest(files, tmp_path / "with", catalog=cat, progress=False)
    got = load_dataset(tmp_path / "with").catalog.set_index("name")
    assert got.loc["3C 186", "class"] == "AGN" and got.loc["3C 186", "catalog_hard_hm"] == 0.25
    assert got.loc["acisf07867_000N001_r0002_pha3", "class"] == ""  # not in the catalog: unlabelled
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"source": ["3C 186"], "class": ["AGN"]}).to_csv(bad)
    for table, why in ((bad, "needs a 'name' column"), (tmp_path / "missing.csv", "cannot be read")):
        with pytest.raises(XLEError, match=why):
            ingest(files, tmp_path / "out", catalog=table, progress=False)
        assert not (tmp_path / "out").exists() and not (tmp_path / "out_ingest_report.csv").exists()


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["serial", "two Dask workers"])
def test_ctrl_c_ends_the_ingest_in_one_line_and_writes_nothing(real_data, tmp_path, workers):
    """Ctrl-C reaches the whole process group (the reading processes and Dask's workers too): one line says what
    happened, no traceback from any process, no dataset and no temporary folder."""
    import signal
    import time
    import subprocess
    import sys

    folder = tmp_path / "many"
    folder.mkdir()
    for name in ("9774.arf", "9774.rmf", "9774_bg.pi"):
        shutil.copy(real_data / "spectra" / name, folder / name)
    data = (real_data / "spectra/9774.pi").read_bytes()
    for i in range(1500):
        (folder / f"s{i:04d}.pi").write_bytes(data)
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(repo), PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "core", "ingest", str(folder), "--out", str(tmp_path / "out"),
                             *workers],
                            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,  # and Ctrl-C's default action, which a shell's background
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # job (CI) ignores
    seen = ""
    while "reading spectra" not in seen:  # the reading process is running
        ch = proc.stderr.read(1)
        assert ch, f"ingest ended before reading: {seen}"
        seen += ch
    time.sleep(1.0)  # inside the reading of a chunk
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert "interrupted: nothing was written (the dataset and its report are written whole, at the end)" in err
    assert "Traceback" not in seen + err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*"))
