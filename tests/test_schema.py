"""`huunghi schema` and warehouse/SCHEMA.md describe exactly the tables and views a run creates."""

from __future__ import annotations

from pathlib import Path

import pytest

from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import store
from huunghi.warehouse.docs import relations, schema_text

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API


@pytest.fixture(scope="module")
def warehouse(small_corpus, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wh-schema")
    pipeline(sources=[str(small_corpus)], warehouse=str(root))
    return root


def test_schema_md_is_the_generated_text(capsys):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    committed = (Path(__file__).resolve().parents[1] / "warehouse" / "SCHEMA.md").read_text("utf-8")
    assert printed == committed, "warehouse/SCHEMA.md is stale: run `huunghi schema > warehouse/SCHEMA.md`"


def test_every_table_and_view_is_described_column_by_column(warehouse):
    con = store.connect(warehouse, read_only=True)
    try:
        actual: dict[str, list[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = 'wh' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall():
            actual.setdefault(table, []).append(column)
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = 'wh'"
            ).fetchall()
        )
    finally:
        con.close()
    documented = {rel.name: rel for rel in relations()}
    assert documented.keys() == actual.keys()
    for name, rel in documented.items():
        assert [c for c, _, _ in rel.columns] == actual[name], name
        assert rel.kind == ("view" if kinds[name] == "VIEW" else "table")
        assert rel.meaning and all(meaning for _, _, meaning in rel.columns), name
    assert "| `vn_entity_id` |" in schema_text()


def test_views_agree_with_their_tables(warehouse):
    con = store.connect(warehouse, read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        assert one("SELECT count(*) FROM latest_articles") == one(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NULL"
        )
        dates = [r[0] for r in con.execute("SELECT published_at FROM latest_articles").fetchall() if r[0]]
        assert dates == sorted(dates, reverse=True)
        assert one("SELECT sum(articles) FROM partnerships_by_year") == one(
            "SELECT count(*) FROM (SELECT DISTINCT article_id, vn_entity_id, la_entity_id FROM partnerships)"
        )
        assert one("SELECT sum(sightings) FROM top_sidebar_stories") == one(
            "SELECT count(*) FROM story_appearances WHERE block <> 'inline'"
        )
        assert one("SELECT count(*) FROM people_meetings") > 0
        assert one("SELECT round(sum(value_vnd)) FROM amounts_by_province") == one(
            "SELECT round(sum(m.value_vnd)) FROM amounts m JOIN "
            "(SELECT DISTINCT article_id, vn_entity_id FROM partnerships) p USING (article_id)"
        )
    finally:
        con.close()
