"""The worker that reads each file of a batch: a call over its time limit is stopped, the next one still runs."""
from __future__ import annotations

import time

import pytest

from core.data.timed import CallTimeout, TimedWorker
from core.errors import SpectrumError


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
