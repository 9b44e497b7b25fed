"""Scale-out storage end to end: the data files on S3-compatible storage (moto's server on 127.0.0.1), the
DuckLake catalog in PostgreSQL, the batches on a local Dask cluster — the same tables as a plain local
warehouse, nothing written locally under data/, a rerun adds nothing, and `huunghi sql` answers from it."""

from __future__ import annotations

import pytest

from huunghi.corpus import generate
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import sandbox, store
from tests import postgres_server
from tests import s3_server as s3
from tests.test_pipeline import dump, state
from tests.test_s3_storage import use_s3

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API
postgres, s3_server = postgres_server.postgres, s3.s3_server  # the servers' fixtures


def test_s3_postgres_dask_gives_the_local_tables(postgres, s3_server, tmp_path, monkeypatch):
    corpus = generate(tmp_path / "corpus", 24, seed=26, formats=("text", "html"))
    pages = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix in (".txt", ".html"))
    first = [str(p) for p in pages[: len(pages) // 2]]  # two runs: half the pages, then all of them
    plain = tmp_path / "plain"
    for sources in (first, [str(corpus)]):
        pipeline(sources=sources, warehouse=str(plain))
    expected, (plain_counts, _) = dump(plain), state(plain)

    catalog, _, _ = postgres
    endpoint, client, bucket = s3_server
    monkeypatch.setenv(store.CATALOG_VARIABLE, catalog)
    prefix = use_s3(monkeypatch, endpoint, bucket)
    root = tmp_path / "shared"
    for sources in (first, [str(corpus)]):
        pipeline(sources=sources, warehouse=str(root), dask="local")
    assert dump(root) == expected
    counts, _ = state(root)
    assert counts == plain_counts and counts["articles"] > 10
    files = s3.keys(client, bucket, prefix)
    assert files and all(k.endswith(".parquet") for k in files)
    assert not list(root.glob("catalog.*")) and not [p for p in root.rglob("*.parquet")], "nothing local"

    again = pipeline(sources=[str(corpus)], warehouse=str(root))  # a rerun adds nothing
    assert again.counts["articles_new"] == 0 and dump(root) == expected
    assert state(root)[0] == {**counts, "runs": counts["runs"] + 1}
    answer = sandbox.run(root, "SELECT count(*) FROM articles")  # `huunghi sql`, with the read-only key
    assert answer.rows == [(counts["articles"],)]
