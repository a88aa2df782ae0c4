"""Data files by name: the local mirror first, then the pinned download URL; the sha256 is always checked.

The registry (``data/registry.txt``) lists each file's path, sha256 and a download URL pinned to a commit.
``XLE_DATA_MIRROR`` names a folder laid out like the registry paths (CI and development point it at
``../shared/data``); ``XLE_CACHE`` overrides where downloads are kept (default: the OS cache folder).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import DataFetchError

REGISTRY_FILE = Path(__file__).resolve().parents[2] / "data" / "registry.txt"
MIRROR_ENV = "XLE_DATA_MIRROR"
CACHE_ENV = "XLE_CACHE"


@dataclass(frozen=True)
class RegistryEntry:
    path: str
    sha256: str
    url: str


@lru_cache(maxsize=1)
def registry() -> dict[str, RegistryEntry]:
    entries = {}
    for line in REGISTRY_FILE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        path, sha, url = line.split()
        entries[path] = RegistryEntry(path, sha, url)
    return entries


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=None)
def _verified(path: str, size: int, mtime_ns: int, sha: str) -> bool:
    return sha256_of(Path(path)) == sha


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    value = os.environ.get(CACHE_ENV)
    if value:
        return Path(value).expanduser()
    import pooch

    return Path(pooch.os_cache("xray-latent-explorer"))


def fetch(name: str) -> Path:
    """Local path of registry file ``name`` (e.g. ``catalogs/tbabs.data``), verified against its sha256."""
    entries = registry()
    if name not in entries:
        raise DataFetchError(f"{name!r} is not in the data registry ({REGISTRY_FILE}); known files: "
                             f"{', '.join(sorted(entries)[:5])}, ...")
    entry = entries[name]
    mirror = mirror_dir()
    if mirror is not None:
        candidate = mirror / name
        if candidate.is_file():
            st = candidate.stat()
            if _verified(str(candidate), st.st_size, st.st_mtime_ns, entry.sha256):
                return candidate
            raise DataFetchError(f"{candidate}: sha256 does not match the registry's {entry.sha256[:12]}...; "
                                 f"the mirror copy is damaged or a different version")
    import pooch

    try:
        sub, _, base = name.rpartition("/")
        return Path(pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}", fname=base,
                                   path=cache_dir() / sub, progressbar=False))
    except Exception as exc:  # network errors come in many types; all mean the same to the user
        where = f"not in the mirror {mirror} and " if mirror is not None else f"no mirror set (${MIRROR_ENV}) and "
        raise DataFetchError(f"{name}: {where}download from {entry.url} failed: {exc}") from exc


def fetch_all(prefix: str = "") -> list[Path]:
    """Fetch every registry file whose path starts with ``prefix``."""
    return [fetch(name) for name in sorted(registry()) if name.startswith(prefix)]
