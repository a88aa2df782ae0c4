"""Calls run in a worker process with a time limit and a memory ceiling, so that one file cannot stall or
exhaust a batch: past the limit the worker is killed (and replaced for the next call) and the caller gets
``CallTimeout``; a worker that dies gets ``WorkerDied``. Linux and macOS (fork server, resource limits).

``shared_worker()`` keeps one such worker per thread for the life of the process, so that chunk after chunk of
files (in the serial run or in one Dask worker) reuses a warm process instead of starting one per chunk."""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import pickle
import select
import socket
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, Callable

from core.errors import XLEError
from core.io.fits_config import freeze_fits_config

DEFAULT_TIMEOUT_S = 30.0
MEMORY_HEADROOM_GB = 2.0  # address space a call may add to the worker's own
MAX_CALLS = 4096  # calls before a worker is replaced by a fresh one: its memory ceiling was set at its start


class CallTimeout(XLEError):
    pass


class WorkerDied(XLEError):
    pass


class ReaderUnavailable(XLEError):
    """No reading process can be started here at all: the environment's fault, not any file's, so a batch stops
    with this instead of calling every file bad (a Dask worker under a nanny is a daemon process, and a daemon
    process may not have children)."""


def _limit_memory(headroom_gb: float) -> None:
    try:
        import resource

        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
        ceiling = pages * resource.getpagesize() + int(headroom_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ImportError, OSError, ValueError):  # no /proc or no resource module: time limit only
        pass


# glibc mallopt parameters (malloc.h) and the values a reading process uses
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 128 << 20), (_M_TOP_PAD, 16 << 20))


def _keep_freed_memory() -> bool:
    """Let glibc's malloc keep the memory this process frees (up to 128 MB) instead of handing each large block
    back to the system and faulting it in again for the next file. Reading a spectrum allocates and frees
    buffers of ~0.1-10 MB; as separate mappings each cost page faults, and two reading processes faulting at
    once slowed each other. Measured on a 10,000-file ingest with two workers, three runs alternating with the
    untuned readers (other jobs running at low priority): 38.0-38.6 s against 40.6-41.8 s, 68-70 against 74-75
    busy CPU-s; the serial run unchanged (63.3-63.9 s). Only the reading processes do this (they are replaced
    every ``MAX_CALLS`` files, and their address space is capped anyway). False where malloc is not glibc's."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    return mallopt is not None and all(mallopt(param, value) == 1 for param, value in _MALLOC_SETTINGS)


def _end_with_caller(conn: Connection) -> bool:
    """Exit this process as soon as its caller is gone, even in the middle of a call: a thread polls the
    caller's end of ``conn`` (a socket pair on POSIX) and, when it reads end-of-file, exits the process. Without
    it a reader busy on a slow or hung file when its caller was killed (an ingest killed with SIGKILL, a Dask
    worker killed mid-chunk) went on reading for nobody: it noticed only at its next ``recv``. While a call runs
    the caller sends nothing, so readable data there can only be a next job about to be received (then it
    waits). False where ``conn`` is not a socket (then only an idle reader notices its caller's end)."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        sock.settimeout(None)  # blocking, whatever the default: the descriptor is shared with conn
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLHUP)
    except (OSError, ValueError, AttributeError):
        return False

    def watch() -> None:
        while True:
            poller.poll()
            try:
                data = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                data = b""
            if not data:
                os._exit(0)
            time.sleep(0.05)  # a job waiting for the main thread to take it

    threading.Thread(target=watch, name="caller-watch", daemon=True).start()
    return True


def _serve(conn, headroom_gb: float) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the caller decides what an interrupt means, and this
    # reader ends with it (``_end_with_caller``), without a traceback of its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_caller(conn)
    _limit_memory(headroom_gb)
    _keep_freed_memory()
    freeze_fits_config()  # this process only reads: astropy's configuration cannot change under it
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the caller is gone (killed): so is this worker
            return
        if job is None:
            return
        fn, args, kwargs = job
        try:
            reply = ("ok", fn(*args, **kwargs))
        except Exception as exc:  # sent back as it is (SpectrumError keeps its fields when pickled)
            reply = ("raise", exc if _picklable(exc) else XLEError(f"{type(exc).__name__}: {exc}"))
        conn.send(reply)


def _picklable(obj: object) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


class TimedWorker:
    """``with TimedWorker(30) as w: w.call(fn, *args)``: one worker process, replaced after a timeout."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, headroom_gb: float = MEMORY_HEADROOM_GB,
                 preload: tuple[str, ...] = (), max_calls: int = MAX_CALLS) -> None:
        """``preload``: modules the fork server imports once, so that each new worker (after a timeout, a death
        or ``max_calls`` calls) starts with them loaded instead of importing them again (astropy and scipy took
        ~1 s per worker)."""
        self.timeout_s, self.headroom_gb, self.max_calls = timeout_s, headroom_gb, max_calls
        self._calls = 0
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self._ctx = mp.get_context(method)
        if preload and method == "forkserver":
            self._ctx.set_forkserver_preload(list(preload))  # no effect once this process's server runs
        self._proc = self._conn = None

    def _start(self) -> None:
        self._calls = 0
        self._conn, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_serve, args=(child, self.headroom_gb), daemon=True)
        try:
            self._proc.start()
        except (AssertionError, OSError) as exc:  # multiprocessing asserts "daemonic processes are not allowed..."
            self._proc = None
            self._conn.close()
            child.close()
            raise ReaderUnavailable(f"cannot start the process that reads files in ({type(exc).__name__}: {exc}); "
                                    "on a Dask cluster, start the workers with --no-nanny, or set "
                                    "distributed.worker.daemon: false in their Dask configuration") from exc
        child.close()

    def _stop(self, kill: bool) -> None:
        if self._proc is None:
            return
        if not kill:
            try:
                self._conn.send(None)
                self._proc.join(5)
            except (OSError, EOFError, BrokenPipeError):
                pass
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._conn.close()
        self._proc = self._conn = None

    def call(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        if self._proc is not None and self._calls >= self.max_calls:
            self._stop(kill=False)
        if self._proc is None or not self._proc.is_alive():
            self._stop(kill=True)
            self._start()
        self._calls += 1
        try:
            self._conn.send((fn, args, kwargs))
            if not self._conn.poll(self.timeout_s):
                self._stop(kill=True)
                raise CallTimeout(f"took longer than {self.timeout_s:g} s and was stopped")
            kind, value = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            code = self._proc.exitcode if self._proc is not None else None
            self._stop(kill=True)
            raise WorkerDied(f"the reading process died (exit code {code}: out of memory?)") from exc
        if kind == "raise":
            raise value
        return value

    def close(self) -> None:
        self._stop(kill=False)

    def __enter__(self) -> "TimedWorker":
        return self

    def __exit__(self, *exc) -> None:
        self._stop(kill=exc[0] is not None)


_SHARED = threading.local()


def shared_worker(timeout_s: float = DEFAULT_TIMEOUT_S, headroom_gb: float = MEMORY_HEADROOM_GB,
                  preload: tuple[str, ...] = ()) -> TimedWorker:
    """This thread's long-lived ``TimedWorker`` with this memory headroom and preload, its calls now limited to
    ``timeout_s`` (started on its first call, replaced after a timeout, a death or ``MAX_CALLS`` calls; a daemon
    process, so it ends with this one, or at ``close_shared_workers``). One per calling thread: a Dask worker
    may run several tasks at once."""
    workers = _SHARED.__dict__.setdefault("workers", {})
    key = (headroom_gb, tuple(preload))
    if key not in workers:
        workers[key] = TimedWorker(timeout_s, headroom_gb, preload)
    workers[key].timeout_s = timeout_s
    return workers[key]


def close_shared_workers() -> None:
    """End this thread's shared workers (the next ``shared_worker`` call starts a fresh one)."""
    for worker in _SHARED.__dict__.pop("workers", {}).values():
        worker.close()
