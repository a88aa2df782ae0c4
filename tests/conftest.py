"""Shared fixtures.

``real_data``: the folder holding the project's real spectra and responses (``spectra/``, ``responses/``),
reached through ``core.data.fetch.fetch`` so that a fresh clone without ``../shared/data`` downloads them. The
mirror is ``$XLE_DATA_MIRROR`` when set, else ``../shared/data`` beside the repository. The mirror is
read-only: tests copy files into ``tmp_path`` (``copy_real``) before editing them or placing them side by side.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MIRROR = REPO.parent / "shared" / "data"
REAL_PREFIXES = ("spectra/", "responses/")

# Tests that build the demo reach catalogs through core.data.fetch too: use the mirror beside the repository when the
# caller set none (./scripts/test sets it; a plain `pytest` should behave the same).
if not os.environ.get("XLE_DATA_MIRROR") and DEFAULT_MIRROR.is_dir():
    os.environ["XLE_DATA_MIRROR"] = str(DEFAULT_MIRROR)


def pytest_sessionstart(session) -> None:
    """The map page needs its JavaScript bundle (git-ignored, built by scripts/setup): a plain `pytest` builds it
    the same way when it is missing or stale; a failure is reported by the tests that need it."""
    subprocess.run([str(REPO / "scripts" / "build-frontend")], check=False)


@pytest.fixture(scope="session")
def real_data(tmp_path_factory) -> Path:
    """Root folder laid out like the registry (``spectra/9774.pi``, ``responses/...``), every file verified."""
    from core.data import fetch as fetch_mod
    from core.errors import DataFetchError

    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get(fetch_mod.MIRROR_ENV) and DEFAULT_MIRROR.is_dir():
            mp.setenv(fetch_mod.MIRROR_ENV, str(DEFAULT_MIRROR))
        names = [n for n in sorted(fetch_mod.registry()) if n.startswith(REAL_PREFIXES)]
        try:
            paths = {name: fetch_mod.fetch(name) for name in names}
        except DataFetchError as exc:  # no mirror and no network
            pytest.skip(f"real data files not available: {exc}")
    roots = {p.parents[len(Path(n).parts) - 1] for n, p in paths.items()}
    if len(roots) == 1 and all((next(iter(roots)) / n) == p for n, p in paths.items()):
        return next(iter(roots))
    # mixed sources (part mirror, part download cache): lay them out side by side in one folder
    root = tmp_path_factory.mktemp("real_data")
    for name, path in paths.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, root / name)
    return root


@pytest.fixture
def copy_real(real_data, tmp_path):
    """``copy_real("spectra/9774.pi", ..., dest=None) -> Path`` of the copies' folder (writable copies)."""

    def copy(*names: str, dest: Path | None = None) -> Path:
        dest = Path(dest) if dest is not None else tmp_path / "files"
        dest.mkdir(parents=True, exist_ok=True)
        for name in names:
            target = dest / Path(name).name
            shutil.copyfile(real_data / name, target)
            target.chmod(0o644)
        return dest

    return copy


@pytest.fixture(scope="session")
def run_core():
    """Run ``python -m core ARGS...`` in a subprocess from the repository root; returns CompletedProcess."""

    def run(*args, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("PYTHONWARNINGS", "ignore")
        return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout, **kwargs)

    return run
