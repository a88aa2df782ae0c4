"""The per-process cache of parsed responses: one parse per version of a file, never a stale or a failed one."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import core.io.companions as companions
from core.errors import SpectrumError
from core.io import read_spectrum
from core.io import response_cache
from core.io.response import read_arf, read_rmf


@pytest.fixture(autouse=True)
def empty_cache():
    response_cache.clear()
    yield
    response_cache.clear()


class Counting:
    """A reader that counts its calls (the cache keys readers by module and name, so each test's is its own)."""

    def __init__(self, reader):
        self.reader, self.calls = reader, 0
        self.__module__, self.__qualname__ = __name__, f"counting_{reader.__name__}"

    def __call__(self, path: Path):
        self.calls += 1
        return self.reader(path)


def with_area(src: Path, out: Path, factor: float) -> None:
    with fits.open(src) as hdul:
        hdul["SPECRESP"].data["SPECRESP"] *= factor
        for key in ("CHECKSUM", "DATASUM"):
            hdul["SPECRESP"].header.remove(key, ignore_missing=True)
        hdul.writeto(out, overwrite=True)


def test_one_parse_per_file_each_caller_its_own_path(copy_real, tmp_path: Path) -> None:
    folder = copy_real("spectra/9774.rmf")
    os.symlink(folder / "9774.rmf", tmp_path / "link.rmf")
    reader = Counting(read_rmf)
    first, again, linked = (response_cache.cached(reader, p) for p in
                            (folder / "9774.rmf", folder / "9774.rmf", tmp_path / "link.rmf"))
    assert reader.calls == 1
    assert linked.path == tmp_path / "link.rmf" and first.path == folder / "9774.rmf"
    assert again.redistribution is first.redistribution and again.header is not first.header
    with pytest.raises(ValueError):
        first.energ_lo[0] = 0  # shared arrays are read-only


@pytest.mark.parametrize("replace", [False, True])
def test_changed_file_read_again(copy_real, tmp_path: Path, replace: bool) -> None:
    arf = copy_real("spectra/9774.arf") / "9774.arf"
    area = response_cache.cached(read_arf, arf).specresp
    if replace:  # a new file moved over the old one
        with_area(arf, tmp_path / "new.arf", 2.0)
        os.replace(tmp_path / "new.arf", arf)
    else:  # the same file rewritten in place
        with_area(arf, arf, 2.0)
    assert np.allclose(response_cache.cached(read_arf, arf).specresp, 2 * area)


def test_failures_not_kept(copy_real) -> None:
    folder = copy_real("spectra/9774.arf")
    arf = folder / "9774.arf"
    good = arf.read_bytes()
    arf.write_bytes(good[:5000])
    reader = Counting(read_arf)
    for _ in range(2):
        with pytest.raises(SpectrumError, match="truncated"):
            response_cache.cached(reader, arf)
    assert reader.calls == 2
    arf.write_bytes(good)
    assert response_cache.cached(reader, arf).specresp.max() > 0


def test_bounded(copy_real, tmp_path: Path) -> None:
    arf = copy_real("spectra/9774.arf") / "9774.arf"
    for i in range(response_cache.MAX_ENTRIES + 3):
        shutil.copyfile(arf, tmp_path / f"{i}.arf")
        response_cache.cached(read_arf, tmp_path / f"{i}.arf")
    assert len(response_cache._entries) == response_cache.MAX_ENTRIES


def test_spectra_sharing_a_response_parse_it_once(copy_real, monkeypatch) -> None:
    folder = copy_real("spectra/9774.pi", "spectra/9774.arf", "spectra/9774.rmf", "spectra/9774_bg.pi")
    shutil.copyfile(folder / "9774.pi", folder / "other.pi")
    reader = Counting(read_rmf)
    monkeypatch.setattr(companions, "read_rmf", reader)
    a, b = read_spectrum(folder / "9774.pi"), read_spectrum(folder / "other.pi")
    assert reader.calls == 1 and np.array_equal(a.counts, b.counts)
    assert a.meta["rmf_file"] == b.meta["rmf_file"] == str(folder / "9774.rmf")
