"""Chunked work in this process or on a Dask cluster, with the same results either way.

``run_chunks(fn, tasks, workers=N)`` calls ``fn(task)`` for every task and returns the results in task order
(``iter_chunks`` yields them in that order as they come; ``dask_client`` opens one client for several calls):
- ``workers <= 1`` and no scheduler: one after another in this process (the serial path, and the reference);
- ``workers > 1``: a local ``dask.distributed`` cluster of that many single-threaded worker processes;
- ``scheduler="tcp://host:8786"``: an existing Dask cluster. Its workers must import this project (the same
  code and environment) and read the inputs at the same paths (a shared file system); results come back to this
  process, which writes the outputs, atomically as always.
A worker that dies loses nothing: the scheduler runs its unfinished tasks again on another worker (up to
``allowed_failures`` times, Dask's setting). Tasks must be pure (same task, same result), so a rerun changes
nothing. ``fn`` reports bad inputs in its result rather than raising, so one bad file never stops a batch.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from tqdm import tqdm

from core.errors import ConfigError, XLEError

T = TypeVar("T")
R = TypeVar("R")


SCHEDULER_TIMEOUT_S = 30.0  # how long to try reaching a --scheduler before saying it cannot be reached
NEEDS_PROJECT = ("the Dask scheduler and its workers must import this project: start each of them from a clone of "
                 "the same commit with PYTHONPATH set to its folder (docs/parallel.md, 'A cluster')")


class ClusterError(XLEError):
    """The Dask cluster cannot do the work (unreachable, or missing this project's code): not any input's fault."""


def check_workers(workers: int, scheduler: str | None) -> None:
    if workers < 1:
        raise ConfigError(f"--workers {workers}: need at least 1")
    if scheduler is not None and not str(scheduler).strip():
        raise ConfigError("--scheduler: give the address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    if scheduler is not None and workers > 1:
        raise ConfigError(f"--workers {workers} starts a local cluster and --scheduler {scheduler} uses an existing "
                          "one: give one of them (an existing cluster has as many workers as were started on it)")


def _connect(scheduler: str) -> Any:
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} within {SCHEDULER_TIMEOUT_S:g} s "
                           f"({type(exc).__name__}): is it running, and is the address right?") from None


def _result(fut: Any) -> Any:
    """A task's result; a task the cluster could not even load (this project not importable there) is a
    ``ClusterError`` saying what the cluster needs, instead of Dask's traceback."""
    try:
        return fut.result()
    except (ModuleNotFoundError, RuntimeError) as exc:
        cause: BaseException | None = exc
        while cause is not None:  # the scheduler's RuntimeError carries the ModuleNotFoundError as its cause
            if isinstance(cause, ModuleNotFoundError) and (cause.name or "").split(".")[0] == "core":
                raise ClusterError(f"{NEEDS_PROJECT} (No module named {cause.name!r}: an older or other clone?)") \
                    from None
            cause = cause.__cause__ or cause.__context__
        raise


@contextmanager
def dask_client(workers: int = 1, scheduler: str | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` on ``scheduler`` or on a local cluster of ``workers`` single-threaded
    processes, closed (with its cluster) on leaving; ``None`` for the serial path (``workers <= 1``, no
    scheduler). One client serves every ``run_chunks`` of a command: a local cluster takes seconds to start."""
    check_workers(workers, scheduler)
    if workers <= 1 and scheduler is None:
        yield None
        return
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        with _connect(scheduler) as client:
            yield client
        return
    import dask

    # tasks may start their own processes (daemon off); Dask's statistical profiler (a stack sample every 10 ms)
    # and its 0.5 s resource monitor cost ~0.025 of a core for two workers (measured) and serve no batch run
    quiet = {"distributed.worker.daemon": False, "distributed.worker.profile.enabled": False,
             "distributed.admin.system-monitor.interval": "2s"}
    with dask.config.set(quiet):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               preload=["core.parallel"])  # its dask_setup: Ctrl-C is the client's to handle
    with cluster, Client(cluster) as client:
        yield client


def iter_chunks(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int = 1, scheduler: str | None = None,
                desc: str = "chunks", progress: bool = True, client: Any = None) -> Iterator[R]:
    """``fn(t)`` for every task, yielded in task order as soon as it and every task before it are done, so the
    caller's own work on them overlaps the rest (see the module docstring); ``client``: an open
    ``dask.distributed.Client`` to use instead of starting one (``dask_client``)."""
    check_workers(workers, scheduler)
    if client is None and workers <= 1 and scheduler is None:
        yield from (fn(t) for t in tqdm(tasks, desc=desc, unit="chunk", disable=not progress))
        return
    if client is None:
        with dask_client(workers, scheduler) as client:
            yield from iter_chunks(fn, tasks, desc=desc, progress=progress, client=client)
        return
    from dask.distributed import as_completed

    futures = client.map(fn, list(tasks), pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    done: dict[int, Any] = {}
    following = 0
    with tqdm(total=len(futures), desc=desc, unit="chunk", disable=not progress) as bar:
        for fut in as_completed(futures):
            done[index[fut.key]] = _result(fut)
            fut.release()
            bar.update()
            while following in done:
                yield done.pop(following)
                following += 1


def run_chunks(fn: Callable[[T], R], tasks: Sequence[T], **kwargs) -> list[R]:
    """``[fn(t) for t in tasks]``, serially or on Dask: ``iter_chunks``'s results as a list."""
    return list(iter_chunks(fn, tasks, **kwargs))


def dask_setup(worker: Any) -> None:  # noqa: ARG001 (Dask's preload hook: dask_client preloads this module)
    """In each worker of the local cluster: ignore SIGINT. Ctrl-C in a terminal reaches the whole process group,
    workers included; the client decides what an interrupt means and closes the cluster, so a worker need not
    print its own traceback."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():  # signal handlers can be set there only
        signal.signal(signal.SIGINT, signal.SIG_IGN)
