"""`huunghi sql` cannot write: not the warehouse, not its catalog, not any other file — whatever the query.

Each statement below is one a curious or hostile user could send; several got through when only the outer
statement type was checked (EXPLAIN ANALYZE COPY …, DuckLake's maintenance functions inside a SELECT).
Every file under the warehouse, the scratch folder the statements aim at, and DuckDB's extension folder
are fingerprinted before and after; the catalog's snapshots are counted too.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from huunghi.corpus import generate
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import sandbox
from tests.reliability import snapshot_count

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: the warehouse is built by real runs

HOSTILE = [
    "EXPLAIN ANALYZE COPY (SELECT 42) TO '{tmp}/x.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 42) TO '{wh}/catalog.sqlite'",
    "EXPLAIN (FORMAT json) ANALYZE COPY (SELECT 42) TO '{tmp}/x.json'",
    "COPY (SELECT 42) TO '{wh}/catalog.sqlite'",
    "COPY (SELECT 42) TO '{tmp}/x.csv'",
    "COPY articles TO '{tmp}/articles.parquet'",
    "COPY (SELECT 1 AS x) TO '{wh}/data/x.parquet'",
    "COPY (SELECT 1 AS x) TO 'huunghi-ro://{wh}/data/x.parquet'",
    "COPY articles FROM '{tmp}/articles.csv'",
    "SELECT * FROM ducklake_merge_adjacent_files('wh')",
    "EXPLAIN ANALYZE SELECT * FROM ducklake_merge_adjacent_files('wh')",
    "SELECT * FROM \"DUCKLAKE_MERGE_ADJACENT_FILES\"('wh')",
    "WITH m AS (SELECT * FROM ducklake_rewrite_data_files('wh')) SELECT * FROM m",
    "SELECT * FROM ducklake_set_option('wh', 'data_inlining_row_limit', 10)",
    "SELECT * FROM ducklake_set_option('wh', 'parquet_compression', 'zstd')",
    "CALL ducklake_set_option('wh', 'parquet_compression', 'zstd')",
    "SELECT * FROM ducklake_expire_snapshots('wh', older_than => now())",
    "SELECT * FROM ducklake_cleanup_old_files('wh', cleanup_all => true)",
    "SELECT * FROM ducklake_delete_orphaned_files('wh', cleanup_all => true)",
    "SELECT * FROM ducklake_flush_inlined_data('wh')",
    "SELECT * FROM ducklake_add_data_files('wh', 'runs', '{tmp}/x.parquet')",
    "SELECT * FROM ducklake_set_commit_message('wh', 'someone', 'hello')",
    "SUMMARIZE SELECT * FROM ducklake_rewrite_data_files('wh')",
    "EXPLAIN ANALYZE INSTALL httpfs",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL ducklake",
    "DELETE FROM articles",
    "UPDATE articles SET title = 'x'",
    "INSERT INTO runs SELECT * FROM runs",
    "DROP TABLE articles",
    "ALTER TABLE articles ADD COLUMN x INTEGER",
    "CREATE TABLE t AS SELECT 1 AS x",
    "CREATE VIEW v AS SELECT 1 AS x",
    "TRUNCATE articles",
    "ATTACH '{tmp}/other.db' AS other",
    "ATTACH '{wh}/catalog.sqlite' AS again",
    # The catalog's sqlite extension opens files outside DuckDB's file-access settings: only the screen stops these.
    "ATTACH '{wh}/catalog.sqlite' AS again (TYPE sqlite)",
    "ATTACH 'sqlite:{tmp}/other.db' AS other",
    "DETACH wh",
    "EXPORT DATABASE '{tmp}/export'",
    "IMPORT DATABASE '{tmp}/export'",
    "PRAGMA import_database('{tmp}/export')",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "RESET lock_configuration",
    "PRAGMA profiling_output = '{tmp}/profile.json'",
    "CHECKPOINT wh",
    "VACUUM articles",
    "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
    "SELECT * FROM read_csv('{tmp}/../../etc/passwd')",
    "SELECT * FROM read_text('huunghi-ro://{wh}/../../../etc/passwd')",
    "SELECT 1; COPY (SELECT 1) TO '{tmp}/y.csv'",
    "USE memory",
]
# Statements the construction alone (no check_query) may not meet: DuckDB 1.5.5 crashes on this one on a
# read-only catalog (a segmentation fault: nothing written, but no answer either).
CRASHES_DUCKDB = {"SELECT * FROM ducklake_set_option('wh', 'data_inlining_row_limit', 10)"}
# Attaching through the sqlite extension succeeds in the sandboxed connection (the extension reads and writes
# SQLite files by itself, whatever enable_external_access says): the statement check alone refuses these.
SCREEN_ONLY = {t for t in HOSTILE if t.startswith("ATTACH") and ("sqlite" in t)}


def fingerprint(*folders: Path) -> dict[str, tuple[int, str]]:
    """Every file under the folders: size and content hash (a rewrite in place shows too)."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file():
                found[str(path)] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Two runs, so every table has several small files that DuckLake's maintenance would merge."""
    root = tmp_path_factory.mktemp("wh-hostile")
    for seed in (5, 6):
        corpus = generate(tmp_path_factory.mktemp(f"corpus{seed}"), 12, seed=seed)
        pipeline(sources=[str(corpus)], warehouse=str(root))
    return root


def watched(root: Path, tmp: Path) -> tuple[dict, int]:
    return fingerprint(root, tmp, Path.home() / ".duckdb"), snapshot_count(root)


def test_hostile_list_is_long_enough():
    assert len(set(HOSTILE)) >= 40


@pytest.mark.parametrize("template", HOSTILE)
def test_huunghi_sql_refuses_and_changes_nothing(warehouse, tmp_path, capsys, template):
    statement = template.format(wh=warehouse, tmp=tmp_path)
    before = watched(warehouse, tmp_path)
    code = main(["sql", "--warehouse", str(warehouse), "--format", "csv", statement])
    err = capsys.readouterr().err
    assert code == 2, f"not refused: {statement}"
    assert err.startswith("huunghi: error: "), err
    assert watched(warehouse, tmp_path) == before


def test_the_sandbox_alone_writes_nothing(warehouse, tmp_path):
    """Without the statement check: the connection itself cannot write (read-only catalog, read-only
    data files, no other file access, locked configuration) — except through the sqlite extension's ATTACH,
    which only the statement check refuses (SCREEN_ONLY, tested with the check above)."""
    before = watched(warehouse, tmp_path)
    answered = 0
    for template in HOSTILE:
        if template in CRASHES_DUCKDB or template in SCREEN_ONLY:
            continue
        con = sandbox.connect(warehouse)
        try:
            con.execute(template.format(wh=warehouse, tmp=tmp_path)).fetchall()
            answered += 1
        except (duckdb.Error, PermissionError):
            pass
        finally:
            con.close()
    assert watched(warehouse, tmp_path) == before
    assert answered <= 6  # the few that run find nothing to do in a read-only world (e.g. a merge that cannot write)


def test_a_crashing_function_is_refused_before_duckdb_sees_it(warehouse, tmp_path):
    """Refused by name, before DuckDB sees it (were the check missing, the query's child process would end
    with a segmentation fault: tests/reliability/test_sql_sandbox.py)."""
    (statement,) = CRASHES_DUCKDB
    done = subprocess.run(
        [sys.executable, "-m", "huunghi.flows.cli", "sql", "--warehouse", str(warehouse), statement],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONFAULTHANDLER": ""},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "ducklake_set_option maintains the warehouse" in done.stderr


def test_reads_still_work(warehouse, capsys):
    for statement in (
        "SELECT count(*) FROM paragraphs",
        "EXPLAIN ANALYZE SELECT count(*) FROM articles",
        "SELECT count(*) FROM ducklake_snapshots('wh')",
        "SELECT * FROM ducklake_table_info('wh')",
        "DESCRIBE articles",
        "SUMMARIZE SELECT title FROM articles",
        "FROM search.search_articles('hop tac') LIMIT 1",
    ):
        assert main(["sql", "--warehouse", str(warehouse), "--format", "csv", statement]) == 0, statement
    assert capsys.readouterr().err == ""
