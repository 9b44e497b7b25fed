"""The warehouse tables, written once: `schema.sql` is the source; the Arrow schemas the stages build their
tables with are derived from it (DuckDB creates the tables in memory and reports their Arrow types), so the
two forms cannot drift. Pure: no warehouse is opened.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyarrow as pa

SQL_DIR = Path(__file__).resolve().parent

# The column a table's Parquet files are sorted by: the key a run looks its rows up by. DuckLake sorts the rows of
# every INSERT (and of a compaction) by it, so a file's row groups hold narrow ranges of the key and a lookup of a
# few keys reads the row groups whose min/max hold them instead of the whole column (at 10^6 simulated articles,
# the band keys of 3 pages among 15 M rows: 0.15 s unsorted, 0.02 s sorted). A sorting INSERT holds its rows in
# DuckDB, so large tables stay in load order: 250,000 articles failed to sort within a run's 512 MB memory_limit,
# and the 200,000-page bench's story appearances and mentions (8 M rows) took +630 MB to sort (article bands,
# 3.2 M rows: +190 MB, kept: dedup reads them for every page).
SORTED_BY = {
    "stories": "story_id",
    "story_aliases": "title_key",
    "entities": "entity_id",
    "people": "article_id",
    "partnerships": "article_id",
    "amounts": "article_id",
    "article_bands": "band_key",
    "story_alias_groups": "group_key",
    "headline_lines": "line_key",
    "pages": "source_uri",
    "quarantine": "source_uri",
    "frontier": "url",
    "runs": "run_id",
}


def sql_text(name: str) -> str:
    """One of this package's SQL files (schema.sql, views.sql, audit.sql)."""
    return (SQL_DIR / name).read_text("utf-8")


@cache
def schemas() -> dict[str, pa.Schema]:
    """table name → Arrow schema, in schema.sql's column order (columns nullable; the load checks keys)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")  # TIMESTAMPTZ columns become timestamp[us, tz=UTC]
        con.execute(sql_text("schema.sql"))
        names = [n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
        return {name: _plain(con.execute(f'SELECT * FROM "{name}" LIMIT 0').arrow().schema) for name in names}
    finally:
        con.close()


def _plain(schema: pa.Schema) -> pa.Schema:
    """Nullable fields, list items named as pyarrow names them (DuckDB says `l`)."""
    return pa.schema(
        pa.field(f.name, pa.list_(f.type.value_type) if pa.types.is_list(f.type) else f.type) for f in schema
    )


def build(name: str, rows: list[dict]) -> pa.Table:
    """An Arrow table of the named schema from row dicts (missing keys become nulls)."""
    return pa.Table.from_pylist(rows, schema=schemas()[name])


def from_rows(name: str, rows: list[tuple]) -> pa.Table:
    """An Arrow table of the named schema from tuples in its column order."""
    schema = schemas()[name]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema.names]
    return pa.table(dict(zip(schema.names, columns, strict=True)), schema=schema)
