"""A dataset folder appears whole under its final name, or not at all: an exception or a SIGKILL in the middle
of writing leaves no dataset (and an existing one untouched); --overwrite replaces only with a complete one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.atomic import atomic_dir, write_bytes_atomic
from core.data.dataset import DatasetFolderWriter, load_dataset, write_dataset
from core.errors import DatasetError

REPO = Path(__file__).resolve().parent.parent


def tiny_catalog(n: int, tag: str = "a") -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"{tag}{i}" for i in range(n)], "name": [f"src {i}" for i in range(n)], "class": "",
        "split": ["train", "val", "test"] * (n // 3) + ["train"] * (n % 3), "counts": np.arange(n),
        "hard_hm": 0.0, "hard_hs": 0.0, "hard_ms": 0.0, "catalog_hard_hm": np.nan, "catalog_hard_hs": np.nan,
        "catalog_hard_ms": np.nan, "exposure": 1e4, "simulated": False,
    })


def write_tiny(out: Path, n: int = 6, n_bins: int = 8, tag: str = "a", overwrite: bool = False) -> None:
    spectra = np.arange(n * n_bins, dtype=np.float32).reshape(n, n_bins)
    write_dataset(out, tiny_catalog(n, tag), spectra, np.zeros_like(spectra), np.linspace(0.5, 7, n_bins + 1),
                  {"simulated": False, "tag": tag}, overwrite=overwrite)


def leftovers(folder: Path, final: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != final)


# ---- in-process: exceptions ---------------------------------------------------------------------------------

def test_complete_write_loads(tmp_path):
    write_tiny(tmp_path / "ds")
    ds = load_dataset(tmp_path / "ds")
    assert ds.spectra.shape == (6, 8) and ds.info["tag"] == "a"
    assert leftovers(tmp_path, "ds") == []


def test_dataset_has_ordinary_permissions(tmp_path):
    """The folder and its files get the same permissions as any folder and file made here (umask), not the
    private 0700/0600 of mkdtemp/mkstemp, so another user (the explorer's server) can read a dataset."""
    (tmp_path / "plain_dir").mkdir()
    (tmp_path / "plain_file").write_bytes(b"")
    write_tiny(tmp_path / "ds")
    mode = lambda p: p.stat().st_mode & 0o777  # noqa: E731
    assert mode(tmp_path / "ds") == mode(tmp_path / "plain_dir")
    for name in ("dataset.json", "catalog.parquet", "spectra.npy"):
        assert mode(tmp_path / "ds" / name) == mode(tmp_path / "plain_file"), name


def test_exception_inside_writer_leaves_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(RuntimeError, match="boom"):
        with DatasetFolderWriter(out, 10, 8) as w:
            w.spectra[:5] = 1.0
            raise RuntimeError("boom")
    assert not out.exists()
    assert leftovers(tmp_path, "ds") == []  # the temporary folder is removed too


def test_keyboard_interrupt_inside_writer_leaves_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        with DatasetFolderWriter(out, 10, 8) as w:
            w.spectra[:] = 1.0
            raise KeyboardInterrupt
    assert not out.exists() and leftovers(tmp_path, "ds") == []


def test_writer_closed_without_finish_leaves_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(DatasetError, match="without finish"):
        with DatasetFolderWriter(out, 4, 8) as w:
            w.spectra[:] = 1.0
    assert not out.exists() and leftovers(tmp_path, "ds") == []


def test_invalid_catalog_in_finish_leaves_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(DatasetError, match="lacks columns"):
        with DatasetFolderWriter(out, 6, 8) as w:
            w.finish(tiny_catalog(6).drop(columns=["split"]), np.linspace(0.5, 7, 9), {})
    assert not out.exists() and leftovers(tmp_path, "ds") == []


def test_wrong_edges_leave_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(DatasetError, match="energy edges"):
        write_dataset(out, tiny_catalog(6), np.zeros((6, 8), np.float32), np.zeros((6, 8), np.float32),
                      np.linspace(0.5, 7, 5), {})
    with pytest.raises(DatasetError, match="energy edges"):
        with DatasetFolderWriter(out, 6, 8) as w:
            w.finish(tiny_catalog(6), np.linspace(0.5, 7, 5), {})
    assert not out.exists() and leftovers(tmp_path, "ds") == []


def test_array_shape_not_matching_catalog_leaves_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(DatasetError, match="spectra has shape"):
        write_dataset(out, tiny_catalog(6), np.zeros((5, 8), np.float32), np.zeros((6, 8), np.float32),
                      np.linspace(0.5, 7, 9), {})
    assert not out.exists() and leftovers(tmp_path, "ds") == []


def test_existing_dataset_without_overwrite_is_kept(tmp_path):
    out = tmp_path / "ds"
    write_tiny(out, tag="old")
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_tiny(out, tag="new")
    assert load_dataset(out).info["tag"] == "old"


def test_overwrite_failing_midway_keeps_the_old_dataset(tmp_path):
    out = tmp_path / "ds"
    write_tiny(out, tag="old")
    with pytest.raises(RuntimeError):
        with DatasetFolderWriter(out, 6, 8, overwrite=True) as w:
            w.spectra[:] = -1.0
            raise RuntimeError("midway")
    ds = load_dataset(out)
    assert ds.info["tag"] == "old" and list(ds.catalog["id"]) == [f"old{i}" for i in range(6)]
    assert float(ds.spectra[0, 1]) == 1.0
    assert leftovers(tmp_path, "ds") == []


def test_overwrite_complete_replaces(tmp_path):
    out = tmp_path / "ds"
    write_tiny(out, tag="old")
    write_tiny(out, n=9, tag="new", overwrite=True)
    ds = load_dataset(out)
    assert ds.info["tag"] == "new" and len(ds.catalog) == 9
    assert leftovers(tmp_path, "ds") == []  # the old copy is cleaned up


def test_atomic_file_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "report.csv"
    write_bytes_atomic(target, b"old")

    with pytest.raises(TypeError):
        write_bytes_atomic(target, object())  # type: ignore[arg-type]  # fails inside the write
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]


def test_atomic_dir_requires_overwrite(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(FileExistsError):
        with atomic_dir(tmp_path / "x"):
            pass


# ---- a process killed midway -------------------------------------------------------------------------------

def kill_when_ready(script: str, marker: Path, timeout: float = 60) -> subprocess.CompletedProcess | None:
    """Run ``script`` in a new Python process; SIGKILL it as soon as it creates ``marker``."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        while not marker.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the writer exited ({proc.returncode}) before being killed:\n{out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail("the writer never reached the point where it is killed")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return None


@pytest.mark.parametrize("stage", ["arrays", "finished"])
def test_writer_killed_midway_leaves_no_dataset(tmp_path, stage):
    """SIGKILL while arrays are half written, and after finish() but before the rename."""
    out, marker = tmp_path / "ds", tmp_path / "started"
    kill_when_ready(f"""
        import time
        from pathlib import Path
        import numpy as np, pandas as pd
        from core.data.dataset import DatasetFolderWriter
        import tests.test_atomic as t
        with DatasetFolderWriter(Path({str(out)!r}), 3000, 112) as w:
            w.spectra[:1500] = 7.0
            if {stage!r} == "finished":
                w.finish(t.tiny_catalog(3000), np.linspace(0.5, 7, 113), {{}})
            Path({str(marker)!r}).touch()
            time.sleep(60)
    """, marker)
    assert not out.exists()
    with pytest.raises(DatasetError, match="no dataset folder"):
        load_dataset(out)
    # only a hidden temporary folder may remain, never anything under the final name
    assert all(name.startswith(".ds.tmp-") for name in leftovers(tmp_path, "ds") if name != "started")


def test_overwrite_killed_midway_keeps_the_old_dataset(tmp_path):
    out, marker = tmp_path / "ds", tmp_path / "started"
    write_tiny(out, tag="old")
    kill_when_ready(f"""
        import time
        from pathlib import Path
        import numpy as np
        from core.data.dataset import DatasetFolderWriter
        import tests.test_atomic as t
        with DatasetFolderWriter(Path({str(out)!r}), 6, 8, overwrite=True) as w:
            w.spectra[:] = -1.0
            w.finish(t.tiny_catalog(6, "new"), np.linspace(0.5, 7, 9), {{"tag": "new"}})
            Path({str(marker)!r}).touch()
            time.sleep(60)
    """, marker)
    ds = load_dataset(out)
    assert ds.info["tag"] == "old" and ds.catalog["id"].iloc[0] == "old0"


def test_ingest_killed_midway_leaves_no_dataset(real_data, tmp_path):
    """``python -m core ingest`` killed after it has written every file of the dataset but before the rename."""
    out, marker = tmp_path / "ds", tmp_path / "started"
    kill_when_ready(f"""
        import time
        from pathlib import Path
        import core.data.dataset as d
        finish = d.DatasetFolderWriter.finish
        def finish_then_wait(self, *a, **k):
            finish(self, *a, **k)
            Path({str(marker)!r}).touch()
            time.sleep(60)
        d.DatasetFolderWriter.finish = finish_then_wait
        from core.cli import main
        main(["ingest", {str(real_data / "spectra/9774.pi")!r}, {str(real_data / "spectra/obs1.pi")!r},
              "--out", {str(out)!r}])
    """, marker)
    assert not out.exists()
    tmp = [p for p in tmp_path.iterdir() if p.name.startswith(".ds.tmp-")]
    assert len(tmp) == 1 and (tmp[0] / "catalog.parquet").is_file()  # it really was killed after writing


@pytest.mark.parametrize("moment", ["reading", "writing"])
def test_ingest_killed_then_run_again_leaves_no_orphan(real_data, tmp_path, moment):
    """SIGKILL while a file is being read (in the worker) or after the dataset is written but before the rename:
    no dataset appears, and the next ingest of the same name removes the killed run's temporary folder."""
    from core.data.ingest import ingest

    out, marker = tmp_path / "ds", tmp_path / "started"
    hook = ("import core.data.timed as t\n        call = t.TimedWorker.call\n"
            "        def call_then_wait(self, *a, **k):\n            Path(MARK).touch()\n            time.sleep(60)\n"
            "        t.TimedWorker.call = call_then_wait" if moment == "reading" else
            "import core.data.dataset as d\n        finish = d.DatasetFolderWriter.finish\n"
            "        def finish_then_wait(self, *a, **k):\n            finish(self, *a, **k)\n"
            "            Path(MARK).touch()\n            time.sleep(60)\n"
            "        d.DatasetFolderWriter.finish = finish_then_wait")
    kill_when_ready(f"""
        import time
        from pathlib import Path
        MARK = {str(marker)!r}
        {hook}
        from core.cli import main
        main(["ingest", {str(real_data / "spectra/9774.pi")!r}, "--out", {str(out)!r}])
    """, marker)
    assert not out.exists()
    report = ingest([real_data / "spectra/9774.pi"], out, progress=False)
    assert report.exit_status == 0 and load_dataset(out).catalog["id"].tolist() == ["9774"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".ds.", ".ds_ingest"))] == []
