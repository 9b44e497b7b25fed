"""The simulated history of `make bench-history` (flows/history.py): a warehouse built directly in DuckDB must be
one the pipeline accepts — every table of schema.sql filled, the load's audit passed, a run into it loads —
or the benchmark would time a run into a warehouse no real history leaves."""

from __future__ import annotations

import shutil

import pytest

from huunghi.corpus import generate
from huunghi.flows import history
from huunghi.warehouse import search, store
from huunghi.warehouse.schema import schemas

N = 200


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("history") / "wh"
    return root, history.build(root, N)


@pytest.mark.slow
def test_every_table_of_the_schema_is_filled_and_the_audit_passes(simulated) -> None:
    root, counts = simulated
    assert set(counts) == set(schemas())
    assert counts["articles"] == N
    assert all(counts[t] > 0 for t in schemas() if t != "frontier"), counts  # file sources list no URLs
    assert counts["paragraphs"] > 3 * counts["article_signatures"]  # a lead and 3-6 body paragraphs
    assert counts["story_appearances"] >= 5 * counts["article_signatures"]
    _, audit = history.audit_seconds(root)
    assert audit and not any(audit.values()), audit
    con = store.connect(root, read_only=True)
    try:
        sizes = {len(m) for (m,) in con.execute("SELECT minhash FROM article_signatures").fetchall()}
        (canonical,) = con.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NULL").fetchone()
    finally:
        con.close()
    assert sizes == {128 * 8}  # huunghi.signatures: 128 uint64 values
    update = search.update_index(root)  # the index was built with the warehouse: nothing left to add
    assert (update.added, update.removed, update.total) == (0, 0, canonical)
    assert canonical == counts["article_signatures"]


def test_a_table_without_a_generator_stops_the_build(monkeypatch, tmp_path) -> None:
    monkeypatch.delitem(history.GENERATORS, "headline_lines")
    with pytest.raises(history.UnknownTable, match="headline_lines"):
        history.build(tmp_path / "wh", 10)
    assert not (tmp_path / "wh").exists()


@pytest.mark.usefixtures("prefect_server")
def test_a_run_into_the_simulated_warehouse_loads(simulated, tmp_path) -> None:
    from huunghi.flows.pipeline import pipeline

    root = shutil.copytree(simulated[0], tmp_path / "wh")  # the other tests' warehouse stays as built
    pages = generate(tmp_path / "pages", 3, seed=5, formats=("html.gz",))
    summary = pipeline(sources=[str(pages)], warehouse=str(root))
    assert summary.counts["articles_new"] >= 1
    con = store.connect(root, read_only=True)
    try:
        (articles,) = con.execute("SELECT count(*) FROM articles").fetchone()
    finally:
        con.close()
    assert articles == N + summary.counts["articles_new"] + summary.counts["duplicates_new"]
