"""Scale-out on Dask (prefect-dask's DaskTaskRunner, a local cluster): the same tables as the default runner."""

from __future__ import annotations

import pytest

from huunghi.flows.pipeline import pipeline
from huunghi.flows.runners import task_runner
from tests.test_pipeline import dump

pytestmark = pytest.mark.slow


def test_dask_local_cluster_gives_identical_tables(small_corpus, tmp_path, capsys):
    from prefect_dask import DaskTaskRunner

    assert isinstance(task_runner("local"), DaskTaskRunner)
    assert isinstance(task_runner("tcp://127.0.0.1:8786"), DaskTaskRunner)
    pipeline(sources=[str(small_corpus)], warehouse=str(tmp_path / "threads"), batch_size=90)
    summary = pipeline(sources=[str(small_corpus)], warehouse=str(tmp_path / "dask"), batch_size=90, dask="local")
    assert summary.counts["articles_new"] > 300
    assert dump(tmp_path / "threads") == dump(tmp_path / "dask")
