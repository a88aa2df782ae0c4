"""Chunked work in this process or on a Dask cluster, with the same results either way.

``run_chunks(fn, tasks, workers=N)`` calls ``fn(task)`` for every task and returns the results in task order:
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

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tqdm import tqdm

from core.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")


def check_workers(workers: int, scheduler: str | None) -> None:
    if workers < 1:
        raise ConfigError(f"--workers {workers}: need at least 1")
    if scheduler is not None and not str(scheduler).strip():
        raise ConfigError("--scheduler: give the address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")


def run_chunks(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int = 1, scheduler: str | None = None,
               desc: str = "chunks", progress: bool = True, client: Any = None) -> list[R]:
    """``[fn(t) for t in tasks]``, serially or on Dask (see the module docstring); ``client``: an open
    ``dask.distributed.Client`` to use instead of starting one."""
    check_workers(workers, scheduler)
    if client is None and workers <= 1 and scheduler is None:
        return [fn(t) for t in tqdm(tasks, desc=desc, unit="chunk", disable=not progress)]
    from dask.distributed import Client, LocalCluster, as_completed

    own = client is None
    cluster = None
    if own:
        if scheduler is not None:
            client = Client(scheduler)
        else:
            import dask

            with dask.config.set({"distributed.worker.daemon": False}):  # tasks may start their own processes
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
            client = Client(cluster)
    try:
        futures = client.map(fn, list(tasks), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        with tqdm(total=len(futures), desc=desc, unit="chunk", disable=not progress) as bar:
            for fut in as_completed(futures):
                out[index[fut.key]] = fut.result()
                bar.update()
        return out
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
