"""The search index's update follows the run: in place, by key, atomic, and safe beside readers.

Warehouses are simulated (flows/history.py) and changed with SQL, so no pipeline run is needed; the tests
that start processes (a killed update, a reader beside an update) are end-to-end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from huunghi.flows import history
from huunghi.flows.cli import main
from huunghi.warehouse import doctor, search, store
from tests.test_search import index_tables

# An update that stops inside its transaction, after its first article, for argv[3] seconds.
PAUSED_UPDATE = """
import sys, time
from pathlib import Path
from huunghi.warehouse import search
root, marker, pause = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
original = search._index_chunk
def paused(con, texts):
    original(con, texts)
    marker.write_text("inside the transaction")
    time.sleep(pause)
search._index_chunk = paused
search.CHUNK = 1
print(search.update_index(root))
"""
# A reader that holds the index open for argv[3] seconds.
HOLDING_READER = """
import sys, time
from pathlib import Path
from huunghi.warehouse import search
con = search.connect(search.index_path(Path(sys.argv[1])), read_only=True)
Path(sys.argv[2]).write_text("open")
time.sleep(float(sys.argv[3]))
con.close()
"""


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("simulated") / "wh"
    history.build(root, 120)
    return root


@pytest.fixture
def root(simulated, tmp_path):
    """A fresh copy of the simulated warehouse and its index."""
    copy = tmp_path / "wh"
    subprocess.run(["cp", "-a", str(simulated), str(copy)], check=True)
    return copy


def canonical_ids(root, n: int) -> list[str]:
    con = store.connect(root, read_only=True)
    ids = [r[0] for r in con.execute(
        "SELECT article_id FROM articles WHERE duplicate_of IS NULL ORDER BY article_id LIMIT ?", [n]
    ).fetchall()]  # fmt: skip
    con.close()
    return ids


def commit(root, *statements: str) -> None:
    """One warehouse snapshot of these statements."""
    con = store.connect(root, read_only=False)
    con.execute("BEGIN")
    for sql in statements:
        con.execute(sql)
    con.execute("COMMIT")
    con.close()


def add_new_articles(root, n: int, words: str = "khanh thanh thuy dien xe ca man") -> None:
    tag = words.replace(" ", "-")  # a new article_id per text
    commit(root, f"INSERT INTO articles SELECT * REPLACE (article_id || '-{tag}' AS article_id, "
                 f"'{words} ' || title AS title, content_hash || '-{tag}' AS content_hash) "
                 f"FROM articles WHERE duplicate_of IS NULL ORDER BY article_id DESC LIMIT {n}")  # fmt: skip


def file_state(path) -> tuple:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


@pytest.mark.slow
def test_the_update_is_in_place_by_key_and_equals_a_rebuild(root):
    edited, copy, gone, *_ = canonical_ids(root, 5)
    path = search.index_path(root)
    inode = path.stat().st_ino
    add_new_articles(root, 3)
    commit(root, f"UPDATE articles SET body = body || ' thao go bom min', content_hash = 'edited' "
                 f"WHERE article_id = '{edited}'")  # fmt: skip
    commit(root, f"UPDATE articles SET duplicate_of = '{edited}' WHERE article_id = '{copy}'",
           f"DELETE FROM articles WHERE article_id = '{gone}'")  # fmt: skip
    add_new_articles(root, 1, "mot bai viet roi bi xoa")  # added then removed between two updates: never indexed
    commit(root, "DELETE FROM articles WHERE title LIKE 'mot bai viet roi bi xoa%'")
    update = search.update_index(root)
    assert (update.added, update.removed) == (4, 3)  # 3 new + the edited; the edited, the copy, the gone
    assert path.stat().st_ino == inode  # updated in place, not copied
    incremental = index_tables(path)
    search.build_index(root)
    assert index_tables(path) == incremental
    assert search.search(root, "thao go bom min")[0][0] == edited
    assert search.search(root, "thuy dien xe ca man")[0][4] == 5


@pytest.mark.slow
def test_an_article_written_twice_since_the_last_update_is_indexed_once(root, monkeypatch):
    """The update reads DuckLake's insertions as a stream (here one row at a time): an article deleted and
    written again, unchanged, after it was added is listed twice, in two batches, and indexed once."""
    monkeypatch.setattr(search, "CHUNK", 1)
    add_new_articles(root, 2)
    new = "article_id LIKE '%-khanh-thanh-thuy-dien-xe-ca-man'"
    commit(root, f"CREATE OR REPLACE TEMP TABLE again AS FROM articles WHERE {new}",
           f"DELETE FROM articles WHERE {new}", "INSERT INTO articles FROM temp.again")  # fmt: skip
    con = store.connect(root, read_only=True)
    latest = con.execute("SELECT max(snapshot_id) FROM wh.snapshots()").fetchone()[0]
    listed = con.execute(f"SELECT count(*) FROM wh.table_insertions('articles', ?, ?) WHERE {new}",
                         [search.indexed_snapshot(root) + 1, latest]).fetchone()[0]  # fmt: skip
    con.close()
    assert listed == 4  # each of the two, twice
    update = search.update_index(root)
    assert (update.added, update.removed) == (2, 0)
    path = search.index_path(root)
    incremental = index_tables(path)
    search.build_index(root)
    assert index_tables(path) == incremental


def test_articles_the_run_did_not_touch_are_not_compared(root):
    """By key: an indexed version the warehouse no longer has is left alone unless its article changed (the
    old update compared every article and re-indexed it)."""
    untouched = canonical_ids(root, 1)[0]
    con = duckdb.connect(str(search.index_path(root)))
    con.execute("UPDATE docs SET version = 'an older version' WHERE article_id = ?", [untouched])
    con.close()
    add_new_articles(root, 2)
    update = search.update_index(root)
    assert (update.added, update.removed) == (2, 0)
    con = duckdb.connect(str(search.index_path(root)), read_only=True)
    assert con.execute("SELECT version FROM docs WHERE article_id = ?", [untouched]).fetchone()[0] == (
        "an older version"
    )
    con.close()


def test_a_run_that_changed_no_article_leaves_the_file_untouched(root):
    path = search.index_path(root)
    before, tables = file_state(path), index_tables(path)
    commit(root, "INSERT INTO paragraphs SELECT * FROM paragraphs LIMIT 1")  # a snapshot, no article changed
    con = store.connect(root, read_only=True)
    current = con.execute(f"SELECT max(snapshot_id) FROM {store.ALIAS}.snapshots()").fetchone()[0]
    con.close()
    assert search.indexed_snapshot(root) < current
    update = search.update_index(root)
    assert (update.snapshot_id, update.added, update.removed) == (current, 0, 0)
    assert file_state(path) == before and not path.with_name(path.name + ".wal").exists()
    assert index_tables(path) == tables


def test_changes_that_cannot_be_listed_fall_back_to_comparing_every_article(root, monkeypatch):
    add_new_articles(root, 2)
    monkeypatch.setattr(search, "_CHANGES", "SELECT * FROM no_such_table WHERE ? < ?")
    update = search.update_index(root)
    assert (update.added, update.removed) == (2, 0)
    incremental = index_tables(search.index_path(root))
    search.build_index(root)
    assert index_tables(search.index_path(root)) == incremental


@pytest.mark.slow
def test_doctor_and_search_say_in_one_line_whether_the_index_lags(root, capsys):
    """A run that changed no article leaves the index file at its older snapshot but not behind: doctor does
    not call it stale. An article changed since: one line says where each stands, and search catches up."""
    indexed = search.indexed_snapshot(root)
    commit(root, "INSERT INTO paragraphs SELECT * FROM paragraphs LIMIT 1")  # a snapshot, no article changed
    [finding] = [f for f in doctor.examine(root, repair=False) if f.check == "search index"]
    assert (finding.status, finding.detail) == (
        "ok", f"search index at snapshot {indexed}, up to date: no article changed up to snapshot {indexed + 1}"
    )  # fmt: skip
    add_new_articles(root, 1)
    assert search.state(root).line() == (
        f"search index at snapshot {indexed}, warehouse at {indexed + 2}: the next run or `huunghi search` "
        "brings it up to date"
    )
    assert main(["search", "--warehouse", str(root), "--format", "csv", "thuy dien xe ca man"]) == 0
    out, err = capsys.readouterr()
    assert err == f"(search index at snapshot {indexed}, warehouse at {indexed + 2}: updating it…)\n"
    assert "khanh thanh" in out
    assert search.state(root).line() == f"search index at snapshot {indexed + 2}, up to date"


def start(script: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait_for(marker, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the child never got there"
        time.sleep(0.05)


@pytest.mark.e2e
def test_an_update_killed_inside_its_transaction_leaves_the_old_index(root, tmp_path):
    path = search.index_path(root)
    old, indexed = index_tables(path), search.indexed_snapshot(root)
    add_new_articles(root, 5)
    marker = tmp_path / "inside"
    child = start(PAUSED_UPDATE, root, marker, 600)
    try:
        wait_for(marker, child)  # postings and docs of one article written, not committed
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate(timeout=60)
    assert search.indexed_snapshot(root) == indexed and index_tables(path) == old
    update = search.update_index(root)  # the next update catches up
    assert (update.added, update.removed) == (5, 0)
    incremental = index_tables(path)
    search.build_index(root)
    assert index_tables(path) == incremental


@pytest.mark.e2e
def test_a_reader_waits_for_an_update_and_sees_all_of_it(root, tmp_path):
    add_new_articles(root, 3)
    marker = tmp_path / "inside"
    child = start(PAUSED_UPDATE, root, marker, 0.3)  # 3 articles: about 1 s inside the transaction
    try:
        wait_for(marker, child)
        hits = search.search(root, "thuy dien xe ca man", limit=50)  # waits for the update's lock
    finally:
        _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert len([h for h in hits if h[4] == 5]) == 3  # the three new articles, never one or two


@pytest.mark.e2e
def test_an_update_waits_for_a_reader_but_not_for_long(root, tmp_path, monkeypatch):
    add_new_articles(root, 1)
    marker = tmp_path / "open"
    reader = start(HOLDING_READER, root, marker, 1)
    try:
        wait_for(marker, reader)
        t0 = time.monotonic()
        assert search.update_index(root).added == 1  # waited for the reader to close the file
        assert time.monotonic() - t0 < search.LOCK_WAIT
    finally:
        reader.communicate(timeout=60)
    add_new_articles(root, 1, "mot bai khac")
    indexed = search.indexed_snapshot(root)
    marker.unlink()
    monkeypatch.setattr(search, "LOCK_WAIT", 0.5)
    reader = start(HOLDING_READER, root, marker, 30)
    try:
        wait_for(marker, reader)
        t0 = time.monotonic()
        with pytest.raises(duckdb.IOException, match="lock"):  # the run warns; its next update catches up
            search.update_index(root)
        assert time.monotonic() - t0 < 5
    finally:
        reader.kill()
        reader.communicate(timeout=60)
    assert search.indexed_snapshot(root) == indexed
