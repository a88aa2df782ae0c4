"""Atomic writes: a folder or file appears whole under its final name, or not at all.

Temporary names carry the writer's process id (``.name.tmp-PID-xxxx``), so that the next write of the same
name removes what a killed writer left, once that process is gone.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_OWNER = re.compile(r"\.(?:tmp|old)-(\d+)(?:-|$)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale(final: Path) -> list[Path]:
    """Remove the ``.name.tmp-PID-*`` / ``.name.old-PID`` leftovers of killed writers of ``final`` whose process
    is gone; returns them. Leftovers named without a process id (an older version) are reported, not removed."""
    final = Path(final)
    if not final.parent.is_dir():
        return []
    removed = []
    for p in final.parent.iterdir():
        if not p.name.startswith((f".{final.name}.tmp-", f".{final.name}.old-")):
            continue
        m = _OWNER.match(p.name[len(final.name) + 1:])
        if m is None:
            warnings.warn(f"{p} looks like the leftover of an interrupted write (no owner recorded): remove it "
                          f"by hand if no other process is writing {final.name}", stacklevel=2)
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_dir(final: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; rename it to ``final`` only if the block succeeds.

    A crash (or kill) inside the block leaves ``final`` untouched; the hidden temporary folder is removed on
    exceptions, and a killed process leaves only a ``.name.tmp-PID-*`` folder, never a half-written ``final``;
    the next write of ``final`` removes it (``remove_stale``).
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists; pass --overwrite to replace it")
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-{os.getpid()}-", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700); the result should be like any folder
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        trash = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n").encode())


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
