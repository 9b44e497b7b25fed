"""The layers hold: the library (huunghi/) knows nothing of Prefect, tasks wrap it, flows compose the tasks;
every registered enricher and reader is complete; every default has one source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from huunghi import enrich, readers, settings
from huunghi.warehouse import schema, write

REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "huunghi"


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def offenders(folder: Path, forbidden: re.Pattern[str], allowed: re.Pattern[str] | None = None) -> list[str]:
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for name in sorted(imports(path)):
            if forbidden.match(name) and not (allowed and allowed.match(name)):
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    return bad


def test_library_knows_nothing_of_prefect_tasks_flows_or_storage():
    """The library may read the warehouse's table definitions (pure), nothing that opens a warehouse."""
    forbidden = re.compile(r"^(prefect|prefect_dask|huunghi\.(tasks|flows|warehouse))\b")
    allowed = re.compile(r"^huunghi\.warehouse(\.schema\b.*)?$")
    assert offenders(LIBRARY, forbidden, allowed) == []


def test_warehouse_and_tasks_do_not_reach_up():
    assert offenders(REPO / "warehouse", re.compile(r"^(prefect|huunghi\.(tasks|flows))\b")) == []
    assert offenders(REPO / "tasks", re.compile(r"^huunghi\.flows\b")) == []


def test_nothing_imports_the_old_top_level_names():
    """flows, tasks and warehouse live in the huunghi namespace only (no generic top-level packages)."""
    old = re.compile(r"^(flows|tasks|warehouse|expectations)(\.|$)")
    for folder in ("huunghi", "flows", "tasks", "warehouse", "tests"):
        assert offenders(REPO / folder, old) == [], folder


@pytest.mark.parametrize("enricher", enrich.ENRICHERS, ids=lambda e: e.table)
def test_every_enricher_has_its_table_suite_and_load(enricher):
    """Adding an enricher = its module, its line in ENRICHERS, its table in schema.sql, its suite."""
    assert enricher.table in schema.schemas(), "table in warehouse/schema.sql"
    assert schema.schemas()[enricher.table].names[0] == "article_id", "rows belong to an article"
    assert (REPO / "expectations" / f"{enricher.table}.json").is_file(), "suite in expectations/"
    assert enricher.table in write.PER_ARTICLE, "the load replaces its rows with the article's"


def test_enrichers_fill_their_tables_from_article_text():
    """Through the one interface: every enricher's rows fit its table (Arrow checks the types)."""
    from huunghi.records import ArticleText
    from huunghi.warehouse.schema import from_rows

    article = ArticleText(
        "a1",
        "Quảng Trị và Savannakhet ký kết biên bản ghi nhớ hợp tác",
        None,
        (
            (0, "lead", "Ngày 3/5, tỉnh Quảng Trị và tỉnh Savannakhet ký kết biên bản ghi nhớ giai đoạn 2024 - 2026."),
            (1, "body", "Chủ tịch UBND tỉnh Quảng Trị Nguyễn Văn Hòa trao 2 tỷ đồng hỗ trợ xây trường học."),
        ),
    )
    rows = enrich.enrich_chunk([article])
    assert set(rows) == set(enrich.TABLES)
    for table, found in rows.items():
        assert found, f"{table}: nothing found in a sentence made for it"
        assert from_rows(table, found).num_rows == len(found)


def test_every_input_format_has_one_reader():
    kinds = [r.kind for r in readers.READERS]
    suffixes = [s for r in readers.READERS for s in r.suffixes]
    assert len(suffixes) == len(set(suffixes)), "a file ending belongs to one reader"
    assert {"text", "html", "warc"} <= set(kinds)
    assert readers.kind_of(Path("a/b.HTML.gz")) == "html" and readers.kind_of(Path("x.pdf")) is None


def test_the_deployment_file_agrees_with_the_defaults():
    """prefect.yaml cannot import Python: its schedule is checked against huunghi.settings instead."""
    text = (REPO / "prefect.yaml").read_text("utf-8")
    assert f'cron: "{settings.DAILY_CRON}"' in text
    assert f"timezone: {settings.TIMEZONE}" in text


def test_environment_settings_are_validated(monkeypatch):
    monkeypatch.setenv("HUUNGHI_WORKERS", "0")
    with pytest.raises(ValueError, match="workers"):
        settings.environment()
    monkeypatch.setenv("HUUNGHI_WORKERS", "3")
    monkeypatch.setenv("HUUNGHI_WAREHOUSE", "/tmp/somewhere")
    assert settings.environment().workers == 3
    assert settings.default_warehouse() == Path("/tmp/somewhere")


def test_arrow_schemas_come_from_schema_sql():
    """One source: the Arrow schema of every table follows schema.sql's columns, in order."""
    sql = schema.sql_text("schema.sql")
    for name, arrow in schema.schemas().items():
        block = sql[sql.index(f"CREATE TABLE IF NOT EXISTS {name} (") :].split(");", 1)[0]
        columns = re.findall(r"^\s{4}(\w+)\s+[A-Z]", block, flags=re.M)
        assert arrow.names == columns, name
