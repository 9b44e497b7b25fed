"""The embedded catalog is SQLite in WAL mode: a reader's open transaction neither blocks nor fails a writer
and keeps its snapshot; a warehouse of the old DuckDB-file catalog is migrated by its first writer with its
whole history; a reader of an existing warehouse never takes a missing table for "nothing stored yet"."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import duckdb_extensions
import pytest

from huunghi.text import title_key
from huunghi.warehouse import reads, store

SNAPSHOT_COLUMNS = "snapshot_id, snapshot_time, schema_version, changes, author, commit_message, commit_extra_info"


def legacy_warehouse(root: Path) -> Path:
    """A warehouse as the versions before SQLite made it: `catalog.ducklake`, a DuckDB file, attached with the
    same options, holding the schema, views and several commits (one deletes and rewrites a row)."""
    (root / store.DATA_DIR).mkdir(parents=True)
    con = duckdb.connect()
    duckdb_extensions.import_extension("ducklake", con=con)
    con.execute(f"ATTACH 'ducklake:{root / store.LEGACY_CATALOG_FILE}' AS wh "
                f"(DATA_PATH '{root / store.DATA_DIR}/', DATA_INLINING_ROW_LIMIT 0)")  # fmt: skip
    con.execute("USE wh")
    store.ensure_schema(con)  # one transaction: one snapshot
    for run, titles in (("r1", ["Một", "Hai", "Ba"]), ("r2", ["Bốn"]), ("r3", ["Hai, sửa lại"])):
        con.execute("BEGIN TRANSACTION")
        store.ensure_views(con)
        message = [f"run {run}", f'{{"run_id": "{run}"}}']
        con.execute("CALL wh.set_commit_message('huunghi', ?, extra_info => ?)", message)
        if run == "r3":
            con.execute("DELETE FROM stories WHERE title = 'Hai'")
        con.executemany("INSERT INTO stories VALUES (?, ?, NULL, NULL, ?)", [[f"id-{t}", t, run] for t in titles])
        con.execute("COMMIT")
    con.close()
    return root


def state(url: str) -> tuple[list, dict[int, tuple], dict[str, tuple]]:
    """Every snapshot (its metadata); at each, its tables and views and the stories (the table the commits
    changed) as row count and content hash; at the latest, every table and view the same way."""
    con = duckdb.connect()
    for name in ("ducklake", "sqlite"):
        duckdb_extensions.import_extension(name, con=con)
        con.execute(f"LOAD {name}")

    def tables(db: str) -> list[str]:
        query = "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? ORDER BY 1"
        return [t for (t,) in con.execute(query, [db]).fetchall()]

    def content(db: str, table: str) -> tuple:
        return con.execute(f'SELECT count(*), bit_xor(hash(x)) FROM {db}."{table}" x').fetchone()

    try:
        con.execute(f"ATTACH 'ducklake:{url}' AS now (READ_ONLY)")
        snapshots = con.execute(f"SELECT {SNAPSHOT_COLUMNS} FROM now.snapshots() ORDER BY snapshot_id").fetchall()
        latest = {t: content("now", t) for t in tables("now")}
        con.execute("DETACH now")
        history = {}
        for snapshot, *_ in snapshots:
            con.execute(f"ATTACH 'ducklake:{url}' AS past (READ_ONLY, SNAPSHOT_VERSION {snapshot})")
            names = tables("past")
            history[snapshot] = (names, content("past", "stories") if "stories" in names else None)
            con.execute("DETACH past")
    finally:
        con.close()
    return snapshots, history, latest


def test_a_new_warehouse_gets_a_sqlite_catalog_in_wal_mode(tmp_path):
    root = store.check_location(tmp_path / "wh", create=True)
    assert not store.has_catalog(root)
    con = store.connect(root, read_only=False)
    store.ensure_schema(con)
    con.close()
    assert store.has_catalog(root) and not (root / store.LEGACY_CATALOG_FILE).exists()
    db = sqlite3.connect(root / store.CATALOG_FILE)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent: every later client uses WAL
    db.close()
    assert not list(root.glob(".*.tmp*")), "nothing left of the catalog's making"


@pytest.mark.slow
def test_old_catalog_is_migrated_by_the_first_writer_with_every_snapshot(tmp_path):
    root = legacy_warehouse(tmp_path / "wh")
    files = sorted((root / store.DATA_DIR).rglob("*.parquet"))
    before = state(str(root / store.LEGACY_CATALOG_FILE))
    assert len(before[0]) >= 5 and before[2]["stories"][0] == 4

    con = store.connect(root, read_only=False)  # a run's load, or `huunghi doctor`: a writer, under the run lock
    con.close()
    assert (root / store.CATALOG_FILE).is_file() and not (root / store.LEGACY_CATALOG_FILE).exists()
    kept = root / (store.LEGACY_CATALOG_FILE + store.MIGRATED_SUFFIX)
    assert kept.is_file(), "the old catalog is kept beside the new one"
    after = state(f"sqlite:{root / store.CATALOG_FILE}")
    assert after == before  # every snapshot with its time, message and run id; the tables at every snapshot
    assert sorted((root / store.DATA_DIR).rglob("*.parquet")) == files  # the same data files, none rewritten

    # Time travel through huunghi's own connection, and the next write lands after the migrated history.
    first_run = store.connect(root, read_only=True, snapshot=before[0][-3][0])
    assert sorted(t for (t,) in first_run.execute("SELECT title FROM stories").fetchall()) == ["Ba", "Hai", "Một"]
    first_run.close()
    con = store.connect(root, read_only=False)
    con.execute("INSERT INTO stories VALUES ('id-5', 'Năm', NULL, NULL, 'r4')")
    latest = con.execute("SELECT max(snapshot_id) FROM wh.snapshots()").fetchone()[0]
    titles = sorted(t for (t,) in con.execute("SELECT title FROM stories").fetchall())
    con.close()
    assert latest == before[0][-1][0] + 1 and titles == ["Ba", "Bốn", "Hai, sửa lại", "Một", "Năm"]


@pytest.mark.slow
def test_a_migration_cut_short_leaves_the_old_catalog_in_use(tmp_path, monkeypatch):
    root = legacy_warehouse(tmp_path / "wh")
    before = state(str(root / store.LEGACY_CATALOG_FILE))

    def cut_short(legacy: Path, tmp: Path, data: str) -> None:
        real_copy(legacy, tmp, data)  # the whole copy is made, then the process "dies" before the rename
        raise KeyboardInterrupt

    real_copy = store._copy_catalog
    monkeypatch.setattr(store, "_copy_catalog", cut_short)
    with pytest.raises(KeyboardInterrupt):
        store.connect(root, read_only=False)
    assert not (root / store.CATALOG_FILE).exists() and (root / store.LEGACY_CATALOG_FILE).is_file()
    assert not list(root.glob(".catalog*")), "the half-made catalog is removed"
    con = store.connect(root, read_only=True)  # readers still read the old one, as it was
    assert con.execute(f"SELECT {SNAPSHOT_COLUMNS} FROM wh.snapshots() ORDER BY 1").fetchall() == before[0]
    assert con.execute("SELECT count(*) FROM stories").fetchone()[0] == 4
    con.close()
    monkeypatch.undo()
    con = store.connect(root, read_only=False)  # the next writer migrates it
    assert con.execute(f"SELECT {SNAPSHOT_COLUMNS} FROM wh.snapshots() ORDER BY 1").fetchall() == before[0]
    con.close()
    assert (root / store.CATALOG_FILE).is_file() and not (root / store.LEGACY_CATALOG_FILE).exists()


READER = textwrap.dedent(
    """
    import select, sys
    from pathlib import Path
    from huunghi.warehouse import store
    con = store.connect(Path(sys.argv[1]), read_only=True)
    con.execute("BEGIN TRANSACTION")
    print(con.execute("SELECT count(*) FROM stories").fetchone()[0], flush=True)
    select.select([sys.stdin], [], [], 60)  # until the writer committed (or a minute, if it waits for this one)
    print(con.execute("SELECT count(*) FROM stories").fetchone()[0], flush=True)
    con.execute("COMMIT")
    print(con.execute("SELECT count(*) FROM stories").fetchone()[0], flush=True)
    """
)


@pytest.mark.slow
def test_a_reader_holding_a_transaction_neither_blocks_nor_fails_a_writer(tmp_path):
    root = store.check_location(tmp_path / "wh", create=True)
    con = store.connect(root, read_only=False)
    store.ensure_schema(con)
    con.executemany("INSERT INTO stories VALUES (?, ?, NULL, NULL, 'r1')", [[f"id-{n}", str(n)] for n in range(4)])
    con.close()
    reader = subprocess.Popen([sys.executable, "-c", READER, str(root)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert reader.stdout.readline().strip() == "4", reader.stderr.read()
        started = time.monotonic()
        con = store.connect(root, read_only=False)
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO stories VALUES ('id-5', 'Năm', NULL, NULL, 'r4')")
        con.execute("COMMIT")
        con.close()
        took = time.monotonic() - started
        assert reader.poll() is None, "the reader still holds its transaction"
        reader.stdin.write("\n")
        reader.stdin.flush()
        out, err = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert reader.returncode == 0, err
    assert out.split() == ["4", "5"]  # its snapshot until its transaction ended, then the commit
    assert took < 30, f"the writer took {took:.1f} s beside a reader"  # the old catalog: as long as the reader stayed


@pytest.mark.slow
def test_reads_are_empty_only_for_a_warehouse_that_does_not_exist_yet(tmp_path):
    root = store.check_location(tmp_path / "wh", create=True)
    keys = [title_key("Một"), title_key("Hai"), title_key("Ba")]
    assert reads.read_knowledge(root, keys).titles == frozenset()  # no catalog: nothing stored
    store.connect(root, read_only=False).close()  # a catalog without a table yet (a first run cut short)
    assert reads.read_loaded_pages(root, ["file:///x"]) == {}

    con = store.connect(store.check_location(tmp_path / "old", create=True), read_only=False)
    store.ensure_schema(con)
    con.executemany("INSERT INTO stories VALUES (?, ?, NULL, NULL, 'r1')", [[f"id-{t}", t] for t in ("Một", "Hai")])
    con.executemany("INSERT INTO story_aliases VALUES (?, ?)", [[title_key(t), f"id-{t}"] for t in ("Một", "Hai")])
    con.close()
    assert len(reads.read_knowledge(tmp_path / "old", keys).titles) == 2
    con = store.connect(tmp_path / "old", read_only=False)
    con.execute("ALTER TABLE stories RENAME TO stories_renamed")  # a later version renamed it, say
    con.close()
    with pytest.raises(store.WarehouseError, match="stories"):
        reads.read_knowledge(tmp_path / "old", keys)  # not an empty knowledge: every title would be new again
    with reads.session(tmp_path / "old"), pytest.raises(store.WarehouseError):  # the run's shared connection
        reads.read_knowledge(tmp_path / "old", keys)
