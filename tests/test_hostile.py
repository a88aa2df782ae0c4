"""Every class of hostile file (tests/hostile_files.py) is refused with a SpectrumError, quickly, or, for the
odd-but-valid ones, loads exactly like the original."""
from __future__ import annotations

import time

import numpy as np
import pytest

from core.errors import SpectrumError
from core.io import read_spectrum
from tests.hostile_files import CASES, REFERENCES, prepare


@pytest.fixture(scope="module")
def references(real_data, tmp_path_factory):
    folder = prepare(real_data, tmp_path_factory.mktemp("reference"))
    return {key: read_spectrum(folder / name) for key, name in REFERENCES.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file(case, real_data, tmp_path, references):
    expect, build = CASES[case]
    path = build(prepare(real_data, tmp_path / "files"))
    start = time.monotonic()
    if expect == "refuse":
        with pytest.raises(SpectrumError) as info:
            read_spectrum(path)
        assert info.value.reason and path.name in str(info.value)
    else:
        spec = read_spectrum(path)
        ref = references["csc" if expect == "load:csc" else "ogip"]
        np.testing.assert_array_equal(spec.counts, ref.counts)
        np.testing.assert_array_equal(spec.weights, ref.weights)
        if expect == "load-net":
            assert not spec.background.any() and any("HDUCLAS2=NET" in w for w in spec.warnings)
        else:
            np.testing.assert_allclose(spec.background, ref.background, rtol=1e-12)
    assert time.monotonic() - start < 10


MIXED = ("EXPOSURE=T", "COUNTS logical", "RMF DETCHANS 1e8", "zip truncated", "gzip bomb (120 MB)",
         "BACKFILE absolute", "one bit flipped (DATASUM)", "random bytes in a header")


def test_ingest_of_good_and_hostile_files(real_data, tmp_path, run_core):
    """Exit 2, every good spectrum written, every hostile one named in the report with its reason."""
    import pandas as pd

    folder = prepare(real_data, tmp_path / "mixed")
    bad = {CASES[name][1](folder).name for name in MIXED}
    out = tmp_path / "ds"
    proc = run_core("ingest", folder, "--out", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    report = pd.read_csv(tmp_path / "ds_ingest_report.csv")
    rejected = report[report["status"] == "rejected"]
    assert bad <= {p.split("/")[-1] for p in rejected["file"]}
    assert rejected["reason"].str.len().min() > 10
    catalog = pd.read_parquet(out / "catalog.parquet")
    assert {"9774", "acisf04938_000N002_r0043_pha3"} <= set(catalog["id"])


def test_a_file_named_gz_that_is_not_compressed_says_so(tmp_path):
    fake = tmp_path / "source.pi.gz"
    fake.write_bytes(b"this is not gzip, nor FITS" * 200)
    with pytest.raises(SpectrumError, match=r"named \.gz, but its bytes are not gzip-compressed either"):
        read_spectrum(fake)
