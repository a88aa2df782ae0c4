"""Data files by registry name: mirror first (hash checked), then the pinned URL into the cache; every failure
is a DataFetchError naming the file (and the URL when a download failed). No test here needs the network."""
from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

import core.data.fetch as fetch_mod
from core.errors import DataFetchError
from core.data.fetch import RegistryEntry, fetch, registry, sha256_of

NAME = "spectra/9774.pi"


@pytest.fixture
def dead_url() -> str:
    """A URL on 127.0.0.1 at a port nothing listens on (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/sherpatest/9774.pi"


@pytest.fixture
def offline(monkeypatch, tmp_path, dead_url):
    """No mirror, an empty cache in tmp_path, and NAME's URL pointing at nothing."""
    monkeypatch.delenv(fetch_mod.MIRROR_ENV, raising=False)
    monkeypatch.setenv(fetch_mod.CACHE_ENV, str(tmp_path / "cache"))
    entries = dict(registry())
    entries[NAME] = RegistryEntry(NAME, entries[NAME].sha256, dead_url)
    monkeypatch.setattr(fetch_mod, "registry", lambda: entries)
    return tmp_path / "cache"


def test_registry_entries_are_well_formed():
    """Every entry: a sha256 and an https URL pinned to a commit (40 hex digits), never a branch name."""
    entries = registry()
    assert NAME in entries and len(entries) > 40
    for name, entry in entries.items():
        assert entry.path == name and "/" in name
        assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256), name
        assert entry.url.startswith("https://") and re.search(r"/[0-9a-f]{40}/", entry.url), entry.url


def test_mirror_files_resolve_and_match(real_data, monkeypatch):
    monkeypatch.setenv(fetch_mod.MIRROR_ENV, str(real_data))
    monkeypatch.setenv(fetch_mod.CACHE_ENV, str(real_data / "no-such-cache"))  # never used
    for name in ("spectra/9774.pi", "responses/acisf01575_001N001_r0085_rmf3.fits.gz"):
        path = fetch(name)
        assert path == real_data / name
        assert sha256_of(path) == registry()[name].sha256


def test_every_registry_file_is_in_the_default_mirror(monkeypatch):
    mirror = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    if not mirror.is_dir():
        pytest.skip("no ../shared/data mirror here")
    monkeypatch.setenv(fetch_mod.MIRROR_ENV, str(mirror))
    paths = fetch_mod.fetch_all()
    assert paths == [mirror / name for name in sorted(registry())]


def test_damaged_mirror_copy_is_refused(real_data, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "spectra").mkdir(parents=True)
    data = bytearray((real_data / NAME).read_bytes())
    data[5000] ^= 0x01
    (mirror / NAME).write_bytes(bytes(data))
    monkeypatch.setenv(fetch_mod.MIRROR_ENV, str(mirror))
    with pytest.raises(DataFetchError) as info:
        fetch(NAME)
    message = str(info.value)
    assert "9774.pi" in message and "sha256" in message and "damaged" in message


def test_no_mirror_no_network(offline, dead_url):
    with pytest.raises(DataFetchError) as info:
        fetch(NAME)
    message = str(info.value)
    assert NAME in message and dead_url in message
    assert "no mirror set" in message and fetch_mod.MIRROR_ENV in message
    assert not (offline / NAME).exists()


def test_file_missing_from_the_mirror_and_no_network(offline, monkeypatch, tmp_path, dead_url):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv(fetch_mod.MIRROR_ENV, str(empty))
    with pytest.raises(DataFetchError) as info:
        fetch(NAME)
    message = str(info.value)
    assert NAME in message and dead_url in message and "not in the mirror" in message


def test_cached_file_with_the_right_hash_is_used_offline(offline, real_data):
    (offline / "spectra").mkdir(parents=True)
    shutil.copyfile(real_data / NAME, offline / NAME)
    assert fetch(NAME) == offline / NAME


def test_cached_file_with_a_wrong_hash_is_not_used(offline, real_data, dead_url):
    (offline / "spectra").mkdir(parents=True)
    (offline / NAME).write_bytes(b"SIMPLE  = not the real file")
    with pytest.raises(DataFetchError, match="9774.pi"):
        fetch(NAME)


def test_unknown_name():
    with pytest.raises(DataFetchError, match="not in the data registry"):
        fetch("spectra/nope.pi")
