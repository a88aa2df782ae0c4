"""Ingest and encode on a real dask.distributed LocalCluster with 2 workers: identical to serial, even when a
worker is killed midway."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest

from core.data.dataset import load_dataset
from core.data.ingest import ingest
from core.errors import ConfigError
from core.parallel import run_chunks
from core.simulate.as_pha import write_as_pha
from core.simulate.demo import build_demo

distributed = pytest.importorskip("dask.distributed")


def _die_once(task: tuple[str, int]) -> int:
    """Kills its worker the first time it sees task 1 (a marker file remembers), then succeeds."""
    marker, i = task
    if i == 1 and not Path(marker).exists():
        Path(marker).write_text("killed")
        os._exit(1)
    return i * i


@pytest.fixture(scope="module")
def cluster():
    import dask

    with dask.config.set({"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 3}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as lc, distributed.Client(lc) as client:
            yield client


def test_run_chunks_survives_a_killed_worker(cluster, tmp_path):
    tasks = [(str(tmp_path / "marker"), i) for i in range(6)]
    assert run_chunks(_die_once, tasks, client=cluster, progress=False) == [i * i for i in range(6)]
    assert (tmp_path / "marker").exists()  # a worker really died
    with pytest.raises(ConfigError, match="at least 1"):
        run_chunks(_die_once, tasks, workers=0)


def test_run_chunks_starts_and_stops_its_own_local_cluster():
    assert run_chunks(abs, [-3, 2, -1], workers=2, progress=False) == [3, 2, 1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    ds = load_dataset(build_demo(root / "demo", seed=5, n=30, progress=False))
    write_as_pha(ds, root / "pha", progress=False)
    (root / "pha" / "zz_broken_pha3.fits").write_bytes(b"SIMPLE  =  not really a FITS file")
    return root


def test_ingest_on_the_cluster_equals_serial(corpus, cluster, tmp_path, monkeypatch):
    import core.data.ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "CHUNK_FILES", 8)  # several tasks per worker
    serial = ingest([corpus / "pha"], tmp_path / "serial", progress=False)
    marker, read_chunk = tmp_path / "killed", ingest_mod.read_chunk

    def kill_one_worker_then_read(task):  # the third chunk kills its worker (and orphans its reader) once
        if task[0][0] == serial.loaded[16] and not marker.exists():
            marker.write_text("x")
            os._exit(1)
        return read_chunk(task)

    monkeypatch.setattr(ingest_mod, "dask_client", lambda workers, scheduler: contextlib.nullcontext(cluster))
    monkeypatch.setattr(ingest_mod, "read_chunk", kill_one_worker_then_read)
    parallel = ingest([corpus / "pha"], tmp_path / "parallel", progress=False, workers=2)
    assert marker.exists()
    assert parallel.exit_status == serial.exit_status == 2  # the broken file is reported, never fatal
    assert [str(p) for p, _ in parallel.rejected] == [str(corpus / "pha" / "zz_broken_pha3.fits")]
    for name in ("spectra.npy", "background.npy", "catalog.parquet", "energy_edges.npy"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "parallel" / name).read_bytes(), name


def test_encode_on_the_cluster_equals_serial(cluster, tmp_path, monkeypatch):
    import core.run.encode as encode_mod
    from core.model import ModelConfig
    from core.run.train import TrainConfig, train
    from tiny_data import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny", n=90)
    run = train(data, tmp_path / "run", ModelConfig(n_bins=32, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32),
                TrainConfig(max_epochs=1), progress=False)
    encode_mod.encode_run(run, chunk=20)
    serial = {n: np.load(run / n) for n in ("latents.npy", "recon_error.npy", "map_umap.npy")}
    marker = tmp_path / "killed"

    def kill_one_worker_then_encode(task):  # the first task of the cluster run kills its worker once
        if not marker.exists():
            marker.write_text("x")
            os._exit(1)
        return encode_mod.encode_chunk(task)

    monkeypatch.setattr(encode_mod, "run_chunks", lambda fn, tasks, **kw: run_chunks(
        kill_one_worker_then_encode, tasks, client=cluster, progress=False))
    encode_mod.encode_run(run, chunk=20, workers=2)
    assert marker.exists()
    for name, arr in serial.items():
        np.testing.assert_array_equal(np.load(run / name), arr, err_msg=name)


def test_workers_under_a_nanny_stop_the_ingest_with_what_to_do(corpus, tmp_path):
    """Dask's default workers are daemon processes, which may not start the reading process: every good file
    would have been reported bad. The ingest stops at once, says how to start the workers, and writes nothing."""
    import dask

    from core.data.timed import ReaderUnavailable

    with dask.config.set({"distributed.worker.daemon": True}), distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        with pytest.raises(ReaderUnavailable, match="daemonic processes.*--no-nanny"):
            ingest([corpus / "pha"], tmp_path / "out", progress=False, scheduler=lc.scheduler_address)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("*report*"))


def test_cluster_refusals(monkeypatch):
    import core.parallel as par

    with pytest.raises(ConfigError, match="give one of them"):
        par.check_workers(2, "tcp://127.0.0.1:1")
    monkeypatch.setattr(par, "SCHEDULER_TIMEOUT_S", 1.0)
    with pytest.raises(par.ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 1 s"):
        with par.dask_client(1, "tcp://127.0.0.1:9"):
            pass


class _Erred:
    """A future whose task the scheduler could not load, as Dask reports it (a RuntimeError caused by the import)."""

    def result(self):
        try:
            raise ModuleNotFoundError("No module named 'core'", name="core")
        except ModuleNotFoundError as exc:
            raise RuntimeError("Error during deserialization of the task graph") from exc


def test_a_cluster_without_this_project_is_told_what_it_needs():
    import core.parallel as par

    with pytest.raises(par.ClusterError, match="PYTHONPATH"):
        par._result(_Erred())
