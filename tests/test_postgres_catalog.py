"""Many writers, shared storage: the DuckLake catalog in a real PostgreSQL server (Debian's postgresql
package, installed by the test set-up), started by this test on 127.0.0.1 in a folder of its own."""

from __future__ import annotations

import subprocess

import pytest

from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import store
from tests import postgres_server
from tests.test_pipeline import dump, state

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API
postgres = postgres_server.postgres  # the server fixture, shared with the S3 test


def test_catalog_in_postgresql(postgres, small_corpus, tmp_path, monkeypatch):
    catalog, bindir, port = postgres
    shared = tmp_path / "shared-data"  # stands for object storage: a path every writer reaches
    monkeypatch.setenv(store.CATALOG_VARIABLE, catalog)
    monkeypatch.setenv(store.DATA_PATH_VARIABLE, str(shared))
    root = tmp_path / "wh"
    pipeline(sources=[str(small_corpus)], warehouse=str(root))
    first, (counts, snapshot) = dump(root), state(root)
    assert counts["articles"] == 400 and not list(root.glob("catalog.*")), "no embedded catalog beside PostgreSQL"
    assert list(shared.rglob("*.parquet")) and not list((root / "data").rglob("*.parquet"))
    tables = subprocess.run(
        [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "huunghi", "-Atc",
         "SELECT count(*) FROM ducklake_snapshot"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert int(tables) == snapshot + 1  # the snapshots live in PostgreSQL
    # A second writer on another machine: another local folder, the same catalog and data.
    other = tmp_path / "other-machine"
    pipeline(sources=[str(small_corpus)], warehouse=str(other))
    assert dump(other) == first and state(other)[0] == {**counts, "runs": counts["runs"] + 1}
