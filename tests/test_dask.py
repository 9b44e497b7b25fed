"""Scale-out on Dask (prefect-dask's DaskTaskRunner, a local cluster): the same tables as the default runner."""

from __future__ import annotations

import pytest

from huunghi.flows.pipeline import pipeline
from huunghi.flows.runners import task_runner
from tests.test_pipeline import dump

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API


def test_dask_local_cluster_gives_identical_tables(small_corpus, tmp_path, capsys):
    from prefect_dask import DaskTaskRunner

    local, remote = task_runner("local"), task_runner("tcp://127.0.0.1:8786")
    assert isinstance(local, DaskTaskRunner) and local.address is None  # a cluster of its own …
    assert local.cluster_kwargs["threads_per_worker"] == 1  # … one core per worker: Dask owns the parallelism
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://127.0.0.1:8786"
    assert not isinstance(task_runner(None), DaskTaskRunner)  # unset: Prefect's thread pool
    pipeline(sources=[str(small_corpus)], warehouse=str(tmp_path / "threads"), batch_size=90)
    summary = pipeline(sources=[str(small_corpus)], warehouse=str(tmp_path / "dask"), batch_size=90, dask="local")
    assert summary.counts["articles_new"] > 300
    assert dump(tmp_path / "threads") == dump(tmp_path / "dask")
