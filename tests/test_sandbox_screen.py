"""The statement screen of `huunghi sql` (warehouse/sandbox.py: check_query), without a warehouse: DuckLake's
writing functions are refused however they are spelled, reads pass; and the sizes `--memory-limit` takes."""

from __future__ import annotations

import duckdb
import duckdb_extensions
import pytest

from huunghi.warehouse import sandbox

# The `ducklake_*` spellings are in tests/reliability/test_hostile_sql.py; these got past the old screen.
REFUSED = [
    "SELECT * FROM wh.set_option('data_inlining_row_limit', 10)",
    "SELECT * FROM wh.main.set_option('data_inlining_row_limit', 10)",
    "SELECT * FROM WH.SET_OPTION('data_inlining_row_limit', 10)",
    'SELECT * FROM "wh"."set_option"(\'data_inlining_row_limit\', 10)',
    "SELECT * FROM set_option /* a comment */ ('data_inlining_row_limit', 10)",
    "SELECT * FROM wh.merge_adjacent_files()",
    "SELECT * FROM wh.expire_snapshots(older_than => now())",
    "SELECT * FROM query('SELECT * FROM wh.set_option(''data_inlining_row_limit'', 10)')",
    "SELECT * FROM query($$SELECT * FROM wh.set_option('data_inlining_row_limit', 10)$$)",
    "SELECT * FROM query('FROM query(''FROM wh.set_option(''''data_inlining_row_limit'''', 10)'')')",
    "SELECT * FROM query('SELECT * FROM wh.set_' || 'option(''data_inlining_row_limit'', 10)')",
    "SELECT * FROM query(concat('SELECT 1'))",
    "SELECT * FROM query_table('wh.set_option(''data_inlining_row_limit'', 10)')",
    "EXPLAIN SELECT * FROM Wh.Rewrite_Data_Files()",
    # An outside review got these past the screen that decoded strings itself (E'' escapes, literals joined
    # across a newline), and past its list (SQL run from its serialized tree, DuckLake's checkpoints).
    r"SELECT * FROM query(E'SELECT \'x\' AS y, * FROM wh.set_option(\'data_inlining_row_limit\', 10)')",
    "SELECT * FROM query('SELECT * FROM wh.set_opti'\n'on(''data_inlining_row_limit'', 10)')",
    "SELECT * FROM query_table(['t', 'wh.set_opti'\n'on(''data_inlining_row_limit'', 10)'])",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql("
    "'SELECT * FROM wh.set_option(''data_inlining_row_limit'', 10)'))",
    "SELECT * FROM json_execute_serialized_sql('{}')",
    "SELECT * FROM checkpoint('wh')",
    "SELECT * FROM force_checkpoint('wh')",
    # The catalog's sqlite extension reads any SQLite file (Prefect's own database) whatever the sandbox says.
    "SELECT * FROM sqlite_scan('/root/.prefect/prefect.db', 'flow_run')",
    "SELECT * FROM Sqlite_Query('/tmp/other.db', 'SELECT 1')",
    "SELECT * FROM sqlite_attach('/tmp/other.db')",
    "SELECT * FROM query('FROM sqlite_scan(''/tmp/other.db'', ''t'')')",
    "SELECT * FROM postgres_query('dbname=other', 'SELECT 1')",
]
ACCEPTED = [
    "SELECT * FROM ducklake_snapshots('wh')",
    "SELECT 42 AS answer",
    "SELECT 'wh.set_option(10)' AS text_about_it",
    "SELECT * FROM query('SELECT 1 AS one')",
    "SELECT * FROM query_table('some_table')",
    "EXPLAIN SELECT 1",
    r"SELECT * FROM query(E'SELECT \'it\'\'s\' AS quoted')",
    "SELECT * FROM query('SELECT 1'\n' AS one')",
    "SELECT json_serialize_sql('SELECT 1') AS tree, 1 AS checkpoint",
]


@pytest.fixture(scope="module")
def con():
    """DuckDB with the ducklake extension loaded: its functions are what the screen looks up."""
    connection = duckdb.connect()
    duckdb_extensions.import_extension("ducklake", con=connection)
    connection.execute("LOAD ducklake")
    yield connection
    connection.close()


@pytest.mark.parametrize("query", REFUSED)
def test_writing_ducklake_functions_are_refused_in_every_spelling(con, query):
    with pytest.raises(sandbox.ReadOnlyQuery):
        sandbox.check_query(con, query)


def test_the_screen_tells_reads_from_writes(con):
    """No refusal of what merely looks alike: a string about the function, query() of a read."""
    for query in ACCEPTED:
        sandbox.check_query(con, query)
    with pytest.raises(sandbox.ReadOnlyQuery):
        sandbox.check_query(con, REFUSED[0])


def test_memory_sizes():
    assert sandbox.parse_memory("2GB") == 2 * 10**9
    assert sandbox.parse_memory("512 MiB") == 512 * 2**20
    assert sandbox.parse_memory("1.5gib") == 3 * 2**29
    assert sandbox.parse_memory("50%") == sandbox.machine_memory() // 2
    for wrong in ("lots", "12 parsecs", "1KB", "-1GB", ""):
        with pytest.raises(ValueError):
            sandbox.parse_memory(wrong)


def test_time_limits():
    assert sandbox.limits_of(None, None).timeout == sandbox.DEFAULT_TIMEOUT_SECONDS
    assert sandbox.limits_of(2.5, "1GB") == sandbox.Limits(timeout=2.5, memory=10**9)
    for wrong in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="--timeout"):
            sandbox.limits_of(wrong, None)
