"""The worker that reads each file of a batch: a call over its time limit is stopped, the next one still runs."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import core.data.ingest as ingest_mod
from core.data.timed import CallTimeout, TimedWorker, close_shared_workers
from core.errors import SpectrumError
from core.spectra.energy import EnergyGrid


def _raise_spectrum_error(reason: str) -> None:
    raise SpectrumError("x.pi", reason, missing=("RMF",))


def test_timeout_stops_the_call_and_the_worker_is_replaced():
    with TimedWorker(timeout_s=1.0) as worker:
        start = time.monotonic()
        with pytest.raises(CallTimeout, match="longer than 1 s"):
            worker.call(time.sleep, 30)
        assert time.monotonic() - start < 10
        worker.timeout_s = 60  # starting the fresh worker may take seconds on a loaded machine
        assert worker.call(sum, [1, 2, 3]) == 6  # a fresh worker answers


def test_spectrum_error_crosses_the_process_boundary_whole():
    with TimedWorker(timeout_s=30) as worker:
        with pytest.raises(SpectrumError) as info:
            worker.call(_raise_spectrum_error, "needs its RMF")
    assert info.value.reason == "needs its RMF" and info.value.missing == ("RMF",)


def _read_or_hang(path: Path, **kwargs) -> tuple[str, int]:
    """Stands in for ``read_spectrum``: hangs on a file named hang*, else answers with the reading process."""
    if Path(path).name.startswith("hang"):
        time.sleep(600)
    return Path(path).name, os.getpid()


def test_the_reader_is_kept_from_chunk_to_chunk_and_replaced_after_a_hung_file(monkeypatch, tmp_path):
    monkeypatch.setattr(ingest_mod, "read_spectrum", _read_or_hang)
    chunk = lambda names, timeout_s: ingest_mod.read_chunk(([tmp_path / n for n in names], EnergyGrid(), {},
                                                            timeout_s))
    try:
        first = chunk(["a.pi", "b.pi"], 60)  # the first call starts the reader: seconds on a loaded machine
        pid = first[0][1][1]
        second = chunk(["c.pi", "hang.pi"], 2)
        assert second[0] == (tmp_path / "c.pi", ("c.pi", pid))  # the same warm process, not one per chunk
        assert second[1][0] == tmp_path / "hang.pi" and "longer than 2 s" in second[1][1]
        third = chunk(["d.pi"], 60)
        assert third[0][1][0] == "d.pi" and third[0][1][1] != pid  # a fresh reader after the hung one
    finally:
        close_shared_workers()


def _brk_heap_after_freeing(mb: int) -> int:
    """In a worker: allocate and free ``mb`` MB in 1 MB blocks, then report the heap glibc still holds (bytes)."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(1 << 20) for _ in range(mb)]
    for b in blocks:
        ctypes.memset(b, 1, 1 << 20)
    for b in blocks:
        libc.free(b)

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    libc.mallinfo2.restype = MallInfo2
    return int(libc.mallinfo2().arena)


def _has_glibc_mallinfo2() -> bool:
    import ctypes

    return os.uname().sysname == "Linux" and hasattr(ctypes.CDLL(None), "mallinfo2")


@pytest.mark.skipif(not _has_glibc_mallinfo2(), reason="needs glibc >= 2.33 (mallinfo2)")
def test_reading_processes_keep_the_memory_they_free():
    """A reading process frees and allocates buffers of ~0.1-10 MB per file; glibc's defaults handed 1 MB blocks
    to their own mappings and gave them back, so each file faulted its memory in again. In the worker the blocks
    come from the heap, which keeps what is freed (here 64 MB), unlike this (untuned) process."""
    with TimedWorker(30) as worker:
        kept = worker.call(_brk_heap_after_freeing, 64)
    assert kept >= 60 << 20


_ORPHAN_SCRIPT = """
import sys, threading, time
from core.data.timed import TimedWorker
worker = TimedWorker(timeout_s=300)
worker.call(sum, [1])  # started
print(worker._proc.pid, flush=True)
threading.Thread(target=worker.call, args=(time.sleep, 300), daemon=True).start()
time.sleep(300)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self"), reason="reads process states from Linux's /proc")
def test_a_reader_busy_on_a_file_ends_when_its_caller_is_killed():
    """A Dask worker killed mid-chunk (or an ingest killed with SIGKILL) must not leave its reading process
    behind, still busy with a file for nobody: the reader sees its caller's socket close and exits."""
    import select
    import signal
    import subprocess
    import sys

    caller = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
    reader = None
    try:
        assert select.select([caller.stdout], [], [], 60)[0], "the caller did not start its reader within 60 s"
        reader = int(caller.stdout.readline())
        time.sleep(1.0)  # the reader is now inside time.sleep(300)
        assert _alive(reader)
        caller.send_signal(signal.SIGKILL)
        caller.wait(30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(reader):
            time.sleep(0.1)
        assert not _alive(reader), f"reading process {reader} outlived its killed caller"
    finally:
        caller.kill()
        caller.stdout.close()
        if reader is not None and _alive(reader):
            os.kill(reader, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running and not a zombie (a zombie has ended; only its parent's wait is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
