"""Preloaded by the local Dask cluster's workers (``core.parallel.dask_client``): Ctrl-C in a terminal reaches the
whole process group, workers included; the client decides what an interrupt means and closes the cluster, so a
worker ignores SIGINT instead of printing its own traceback."""
from __future__ import annotations

import signal
import threading


def dask_setup(worker) -> None:  # noqa: ARG001 (Dask's preload hook)
    if threading.current_thread() is threading.main_thread():  # signal handlers can be set there only
        signal.signal(signal.SIGINT, signal.SIG_IGN)
