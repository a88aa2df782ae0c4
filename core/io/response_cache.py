"""Parsed ARFs and RMFs kept per process: spectra usually share their response files (OGIP practice; the
simulated as-pha corpus has four pairs for all its spectra), and parsing an RMF costs more than the rest of a
spectrum's reading.

An entry is keyed by the file's identity (resolved path, size, mtime in ns, inode), taken before and after the
read: a file rewritten or replaced since is read again, and a read during which the file changed is not kept.
Failures are never kept (a bad file is refused on every read). The cache holds ``MAX_ENTRIES`` responses, least
recently used dropped first. Cached arrays are read-only; each caller gets its own object, named by the path
it asked for (the arrays are shared).
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from scipy import sparse

MAX_ENTRIES = 16
R = TypeVar("R")

_entries: OrderedDict[tuple, object] = OrderedDict()
_lock = threading.Lock()  # the app reads uploads on several threads


def _identity(path: Path) -> tuple:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino


def _freeze(value: object) -> None:
    """Make the response's arrays read-only, so that no caller can change what another one is given."""
    for item in vars(value).values():
        arrays = (item.data, item.indices, item.indptr) if sparse.issparse(item) else (item,)
        for a in arrays:
            if isinstance(a, np.ndarray):
                a.flags.writeable = False


def cached(reader: Callable[[Path], R], path: Path) -> R:
    """``reader(path)`` (``read_arf`` or ``read_rmf``), parsed once per version of the file in this process."""
    path = Path(path)
    try:
        key = (reader.__module__, reader.__qualname__, *_identity(path))
    except OSError:
        return reader(path)  # not there or not readable: the reader refuses it in its own words
    with _lock:
        found = _entries.get(key)
        if found is not None:
            _entries.move_to_end(key)
    if found is None:
        found = reader(path)  # outside the lock: a slow read does not hold up other threads
        try:
            unchanged = key[2:] == _identity(path)
        except OSError:
            unchanged = False
        if not unchanged:
            return found
        _freeze(found)
        with _lock:
            _entries[key] = found
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
    return dataclasses.replace(found, path=path, header=dict(found.header))


def clear() -> None:
    """Forget every parsed response (tests; a long-lived process that wants its memory back)."""
    with _lock:
        _entries.clear()
