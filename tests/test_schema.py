"""`huunghi schema` and warehouse/SCHEMA.md describe exactly the tables and views a run creates."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.pipeline import pipeline
from huunghi.cli import main
from warehouse import store
from warehouse.docs import relations, schema_text

pytestmark = pytest.mark.slow


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
