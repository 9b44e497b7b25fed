"""Full-text search over titles and bodies: accent-insensitive, ranked by BM25, offline, updated incrementally.

The index is an inverted index in its own DuckDB file `<warehouse>/search.duckdb`: `docs` (one row per
canonical article: title, date, length in terms, the version it was indexed at) and `postings` (term,
article, count). Each run indexes only the articles it added or changed and drops those it removed or
marked as copies, found by key: the rows of `articles` that DuckLake's `table_changes` lists between the
indexed snapshot and the latest (nothing else of the warehouse is read; a run that changed no article
leaves the file untouched). Scores are computed at query time from the postings, so nothing else goes stale.
The update is made in place, in one DuckDB transaction: a failed or killed update leaves the old index.
DuckDB lets one process write a file, or any number read it: a reader (`huunghi search`, `huunghi sql`) and
the update wait for each other's lock, for at most LOCK_WAIT seconds, so a reader sees the index before or
after an update, never half of one. A first index (or one of an older format) is built whole in a new file
that then replaces the old one. DuckDB's fts extension has no incremental update, which
is why the index is ours; it computes the same BM25 as fts (k1 = 1.2, b = 0.75, log10 idf, terms are the
folded text's runs of letters; a test compares the scores with fts's `match_bm25`).

Text and queries are folded the same way — lower case, tone marks and other accents stripped, đ → d —
so `ra pha bom min` finds `rà phá bom mìn`. Attached as `search`, the table macro works from any
connection: `huunghi sql "FROM search.search_articles('ra pha bom min')"`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from huunghi.settings import environment
from huunghi.warehouse import store

INDEX_FILE = "search.duckdb"
ALIAS = "search"
FORMAT = 2  # 1: DuckDB fts tables (rebuilt whole each run)
_FOLD = "strip_accents(lower(replace(replace(x, 'đ', 'd'), 'Đ', 'D')))"
_SCHEMA = f"""
CREATE MACRO fold(x) AS {_FOLD};
CREATE TABLE docs (article_id VARCHAR, title VARCHAR, published_at TIMESTAMPTZ, len INTEGER, version VARCHAR);
CREATE TABLE postings (term VARCHAR, article_id VARCHAR, tf INTEGER);
CREATE TABLE index_info (format INTEGER, snapshot_id BIGINT, built_at TIMESTAMPTZ, docs_added BIGINT,
                         docs_removed BIGINT);
"""
# Created with the file attached as `search`: the macro names its tables `search.…`, so it works from any
# connection that attaches the index under that name.
_MACROS = """
CREATE OR REPLACE MACRO search_articles(q) AS TABLE
WITH query AS (
    SELECT DISTINCT unnest(regexp_split_to_array(search.main.fold(q), '[^a-z0-9]+')) AS term
), stats AS (
    SELECT count(*) AS num_docs, avg(len) AS avgdl FROM search.main.docs
), hits AS (
    SELECT p.article_id, p.term, p.tf, count(*) OVER (PARTITION BY p.term) AS df
    FROM search.main.postings p JOIN query USING (term)
), scored AS (
    SELECT h.article_id, count(*) AS matched,
           sum(log10((st.num_docs - h.df + 0.5) / (h.df + 0.5) + 1) * h.tf * 2.2
               / (h.tf + 1.2 * (1 - 0.75 + 0.75 * d.len / st.avgdl))) AS score
    FROM hits h JOIN search.main.docs d USING (article_id) CROSS JOIN stats st
    GROUP BY h.article_id
)
SELECT d.article_id, d.title, d.published_at, s.score, s.matched
FROM scored s JOIN search.main.docs d USING (article_id)
ORDER BY s.score DESC, d.article_id;
"""
# DuckDB's memory while it writes the index (at most; HUUNGHI_DUCKDB_MEMORY if less): beside the warehouse's
# connection that reads the texts, its buffers of written postings made the flow's peak of a 200,000-page run
# (1.6 GB with 512 MB each). What it writes is committed chunk by chunk (a new index) or spills.
UPDATE_MEMORY = 256 * 2**20
# Articles tokenized at a time: the index's memory follows it (a first index of 20,000 bench articles: 5,000 at a
# time peaked 115 MB higher than 2,000, for 2 % less time).
CHUNK = 2000
# The canonical articles and the version each is at: a new input (sha256) or a new reading of the same
# input (content_hash) is a new version.
_CURRENT = "SELECT article_id, sha256 || ':' || content_hash AS version FROM articles WHERE duplicate_of IS NULL"
_TEXTS = (
    "SELECT a.article_id, a.title, a.published_at, concat_ws(' ', a.title, a.lead, a.body) AS text, "
    "a.sha256 || ':' || a.content_hash AS version "
    "FROM articles a JOIN wanted w USING (article_id) WHERE a.duplicate_of IS NULL"
)
# A new index's texts: in one pass (a join with each chunk of wanted keys read the whole table again: quadratic).
_ALL_TEXTS = (
    "SELECT article_id, title, published_at, concat_ws(' ', title, lead, body) AS text, "
    "sha256 || ':' || content_hash AS version FROM articles WHERE duplicate_of IS NULL"
)
# The rows of `articles` written between two snapshots, by key (rowids are never reused): the ones still there at
# the end are the last insert or update of their rowid with no later delete; every article_id listed was touched.
# Only key columns: the text of a deleted row would be read from its (maybe large, old) data file.
_CHANGES = f"""
SELECT snapshot_id, rowid, change_type, article_id, duplicate_of, sha256 || ':' || content_hash AS version
FROM {store.ALIAS}.table_changes('articles', ?, ?)
"""
_LIVE = """
SELECT article_id, version FROM (
    SELECT * FROM changes WHERE change_type IN ('insert', 'update_postimage')
    QUALIFY row_number() OVER (PARTITION BY rowid ORDER BY snapshot_id DESC) = 1
) a
WHERE duplicate_of IS NULL AND NOT EXISTS (
    SELECT 1 FROM changes d
    WHERE d.rowid = a.rowid AND d.change_type IN ('delete', 'update_preimage') AND d.snapshot_id > a.snapshot_id
)
"""
# The texts written between two snapshots: read from the new data files only.
_INSERTED = f"""
SELECT article_id, title, published_at, concat_ws(' ', title, lead, body) AS text,
       sha256 || ':' || content_hash AS version
FROM {store.ALIAS}.table_insertions('articles', ?, ?)
"""
LOCK_WAIT = 30.0  # seconds a reader waits for an update to commit, or an update for readers to close the file


@dataclass(frozen=True)
class IndexUpdate:
    snapshot_id: int
    added: int  # articles (re)indexed: new or changed
    removed: int  # articles dropped: gone, changed or now a copy
    total: int


def index_path(root: Path) -> Path:
    return root / INDEX_FILE


def update_index(root: Path, *, rebuild: bool = False) -> IndexUpdate:
    """Bring the index to the warehouse's latest snapshot, indexing only new and changed articles
    (`rebuild`, or an index of an older format: all of them)."""
    indexed = None if rebuild else indexed_snapshot(root)
    if indexed is None:
        return _build(root)
    source = store.connect(root, read_only=True)
    try:
        snapshot = _snapshot(source)
        if _changes(source, indexed, snapshot) == 0:
            return IndexUpdate(snapshot, 0, 0, _total(root))  # no article changed: the file is not opened to write
        con = connect(index_path(root), read_only=False)
        try:
            return _apply(source, con)
        finally:
            con.close()
    finally:
        source.close()


def _build(root: Path) -> IndexUpdate:
    """Index every canonical article in a new file that then replaces the old one (readers never wait for it)."""
    tmp = root / f".{INDEX_FILE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        _create(tmp)
        source = store.connect(root, read_only=True)
        try:
            con = connect(tmp, read_only=False)  # bounded like every connection of the run
            try:
                update = _apply(source, con, new_file=True)
            finally:
                con.close()
        finally:
            source.close()
        os.replace(tmp, index_path(root))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return update


def connect(path: Path, *, read_only: bool, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the index, waiting while another process holds a conflicting lock on it (DuckDB: one writer
    or many readers per file)."""
    config = {"memory_limit": store.memory_limit(at_most=None if read_only else UPDATE_MEMORY)}  # it spills beyond
    return _retry_locked(lambda: duckdb.connect(str(path), read_only=read_only, config=config), wait)


T = TypeVar("T")


def _retry_locked(opener: Callable[[], T], wait: float | None = None) -> T:
    deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    while True:
        try:
            return opener()
        except duckdb.IOException as exc:
            if "lock" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _snapshot(source: duckdb.DuckDBPyConnection) -> int:
    return source.execute(f"SELECT max(snapshot_id) FROM {store.ALIAS}.snapshots()").fetchone()[0]


def _changes(source: duckdb.DuckDBPyConnection, indexed: int, snapshot: int) -> int | None:
    """How many changes to `articles` after the indexed snapshot; None when DuckLake cannot list them."""
    if indexed > snapshot:
        return None
    if indexed == snapshot:
        return 0
    try:
        return source.execute(
            f"SELECT count(*) FROM {store.ALIAS}.table_changes('articles', ?, ?)", [indexed + 1, snapshot]
        ).fetchone()[0]
    except duckdb.Error:
        return None  # e.g. the snapshots between were expired


def _changed_rows(source: duckdb.DuckDBPyConnection, indexed: int | None, snapshot: int) -> pa.Table | None:
    """The rows of `articles` written after the indexed snapshot (Arrow); None when they cannot be listed."""
    if indexed is None or indexed > snapshot:
        return None
    try:
        return source.execute(_CHANGES, [indexed + 1, snapshot]).to_arrow_table()
    except duckdb.Error:
        return None  # e.g. the snapshots between were expired: every article is compared


def _total(root: Path) -> int:
    con = connect(index_path(root), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM docs").fetchone()[0]
    finally:
        con.close()


def _create(path: Path) -> None:
    con = connect(path, read_only=False)
    try:
        con.execute(_SCHEMA)
    finally:
        con.close()
    con = duckdb.connect()  # the macro is created with the file attached under the name it uses
    try:
        con.execute(f"ATTACH '{path}' AS {ALIAS}")
        con.execute(f"USE {ALIAS}")
        con.execute(_MACROS)
    finally:
        con.close()


def _apply(source: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, *, new_file: bool = False) -> IndexUpdate:
    """One transaction on the index: drop stale versions, add the current ones it lacks. The articles
    compared are those DuckLake lists as changed since the indexed snapshot (all of them for a new index, or
    when the changes cannot be listed). In a `new_file` (which replaces the index only once whole, see
    `_build`), each chunk is committed: an uncommitted transaction holds what it wrote, so a first index of a
    large warehouse would take memory in proportion to it."""
    snapshot = _snapshot(source)
    con.execute("BEGIN")
    info = con.execute("SELECT format, snapshot_id FROM index_info").fetchone()
    indexed = info[1] if info and info[0] == FORMAT else None
    if indexed is not None and indexed == snapshot:  # brought up to date by another process meanwhile
        con.execute("ROLLBACK")
        return IndexUpdate(snapshot, 0, 0, con.execute("SELECT count(*) FROM docs").fetchone()[0])
    changes = _changed_rows(source, indexed, snapshot)
    by_key = changes is not None
    if by_key:
        con.register("changes", changes)
        con.execute(f"CREATE OR REPLACE TEMP TABLE current_docs AS {_LIVE}")
        touched = "SELECT DISTINCT article_id FROM changes"
        scope = f"(SELECT * FROM docs WHERE article_id IN ({touched}))"
    else:
        con.register("current_source", source.execute(_CURRENT).to_arrow_table())
        con.execute("CREATE OR REPLACE TEMP TABLE current_docs AS FROM current_source")
        scope = "docs"
    # Indexed versions no longer current (gone, changed, now a copy) go; current ones not indexed come.
    stale = con.execute(
        f"SELECT article_id FROM {scope} ANTI JOIN temp.current_docs USING (article_id, version)"
    ).to_arrow_table()
    wanted = con.execute(  # the indexed versions of these articles only: not a scan of every doc's key and version
        "SELECT * FROM temp.current_docs ANTI JOIN (SELECT article_id, version FROM docs WHERE article_id IN "
        "(SELECT article_id FROM temp.current_docs)) USING (article_id, version) ORDER BY article_id"
    ).to_arrow_table()
    if stale.num_rows:  # a scan of the postings: only when an indexed article changed or went
        con.register("stale", stale)
        con.execute("DELETE FROM postings WHERE article_id IN (SELECT article_id FROM stale)")
        con.execute("DELETE FROM docs WHERE article_id IN (SELECT article_id FROM stale)")
    if by_key:
        added = _index_insertions(source, con, wanted, indexed + 1, snapshot)
        if added != wanted.num_rows:  # every live row was inserted in the window
            raise RuntimeError("search index: a changed article's text is missing from DuckLake's insertions")
    elif new_file:  # every canonical article, its text read once, as a stream of CHUNK rows
        for batch in source.execute(_ALL_TEXTS).to_arrow_reader(CHUNK):
            _index_chunk(con, pa.Table.from_batches([batch]))
            con.execute("COMMIT")
            con.execute("BEGIN")
    else:
        for start in range(0, wanted.num_rows, CHUNK):  # memory: the tokens of CHUNK articles at a time
            source.register("wanted", wanted.slice(start, CHUNK).select(["article_id"]))
            _index_chunk(con, source.execute(_TEXTS).to_arrow_table())
            if new_file:
                con.execute("COMMIT")
                con.execute("BEGIN")
    con.execute("DELETE FROM index_info")
    added, removed = wanted.num_rows, stale.num_rows
    con.execute("INSERT INTO index_info VALUES (?, ?, now(), ?, ?)", [FORMAT, snapshot, added, removed])
    con.execute("COMMIT")
    total = con.execute("SELECT count(*) FROM docs").fetchone()[0]
    return IndexUpdate(snapshot, added, removed, total)


def _index_insertions(
    source: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, wanted: pa.Table, first: int, last: int
) -> int:
    """Index the wanted articles' texts as DuckLake's insertions between two snapshots list them, read as a
    stream of CHUNK rows: the texts of a large run are never in memory whole (they were, as one Arrow table).
    An article inserted twice in the window (loaded, then reloaded) is indexed once; returns how many were."""
    con.register("wanted_keys", wanted)
    con.execute("CREATE OR REPLACE TEMP TABLE pending AS SELECT article_id, version FROM wanted_keys")
    con.unregister("wanted_keys")
    added = 0
    for batch in source.execute(_INSERTED, [first, last]).to_arrow_reader(CHUNK):
        con.register("inserted", pa.Table.from_batches([batch]))
        try:
            texts = con.execute(
                "SELECT DISTINCT ON (article_id) i.* FROM inserted i JOIN temp.pending USING (article_id, version) "
                "ORDER BY article_id"
            ).to_arrow_table()
        finally:
            con.unregister("inserted")
        _index_chunk(con, texts)
        con.execute("DELETE FROM temp.pending WHERE article_id IN (SELECT article_id FROM texts)")  # indexed now
        added += texts.num_rows
    return added


def _index_chunk(con: duckdb.DuckDBPyConnection, texts: pa.Table) -> None:
    """Postings and docs rows of some articles (article_id, title, published_at, text, version)."""
    con.register("texts", texts)
    # fts's tokens: the folded text split at anything but a-z, empty pieces dropped.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tokens AS SELECT article_id, term FROM "
        "(SELECT article_id, unnest(string_split_regex(fold(text), '[^a-z]+')) AS term FROM texts) "
        "WHERE term <> ''"
    )
    con.execute("INSERT INTO postings SELECT term, article_id, count(*) FROM temp.tokens GROUP BY ALL ORDER BY ALL")
    con.execute(
        "INSERT INTO docs SELECT t.article_id, t.title, t.published_at, coalesce(n.len, 0), t.version FROM texts t "
        "LEFT JOIN (SELECT article_id, count(*) AS len FROM temp.tokens GROUP BY ALL) n USING (article_id) "
        "ORDER BY t.article_id"
    )


def build_index(root: Path) -> int:
    """Index every canonical article anew; returns the snapshot indexed."""
    return update_index(root, rebuild=True).snapshot_id


def _info(path: Path) -> tuple[int, int] | None:
    """(format, snapshot) of an index file; None when there is none or it cannot be read."""
    if not path.exists():
        return None
    con = connect(path, read_only=True)  # an update in progress: its lock is waited for, not taken for no index
    try:
        return con.execute("SELECT format, snapshot_id FROM index_info").fetchone()
    except duckdb.Error:
        return None  # e.g. an fts-era index (format 1) has no format column
    finally:
        con.close()


def indexed_snapshot(root: Path) -> int | None:
    """The warehouse snapshot the index was brought to, or None when there is no (current-format) index."""
    info = _info(index_path(root))
    return info[1] if info and info[0] == FORMAT else None


@dataclass(frozen=True)
class IndexState:
    indexed: int | None  # the snapshot the index was brought to; None: no (current-format) index
    snapshot: int  # the warehouse's latest
    behind: bool  # an article changed after the indexed snapshot (or there is no index)

    def line(self, remedy: str = "") -> str:
        """One line for `huunghi doctor` (the remedy said) and `huunghi search` (which applies it)."""
        if self.indexed is None:
            remedy = remedy or "the next run or `huunghi search` builds it"
            return f"no search index yet, warehouse at snapshot {self.snapshot}: {remedy}"
        if self.behind:
            remedy = remedy or "the next run or `huunghi search` brings it up to date"
            return f"search index at snapshot {self.indexed}, warehouse at {self.snapshot}: {remedy}"
        if self.indexed == self.snapshot:
            return f"search index at snapshot {self.snapshot}, up to date"
        return f"search index at snapshot {self.indexed}, up to date: no article changed up to snapshot {self.snapshot}"


def state(root: Path) -> IndexState:
    """Whether the index lags the warehouse. A run that changed no article (nothing new, or only its `runs`
    row) leaves the index file at its older snapshot: that index is not behind, so the snapshot numbers alone
    cannot say it."""
    indexed = indexed_snapshot(root)
    source = store.connect(root, read_only=True)
    try:
        snapshot = _snapshot(source)
        behind = indexed is None or _changes(source, indexed, snapshot) != 0
    finally:
        source.close()
    return IndexState(indexed, snapshot, behind)


def attach(con: duckdb.DuckDBPyConnection, root: Path) -> bool:
    """Attach the index read-only as `search` (for `huunghi sql`); False when there is none."""
    if not index_path(root).exists():
        return False
    _retry_locked(lambda: con.execute(f"ATTACH '{index_path(root)}' AS {ALIAS} (READ_ONLY)"))
    return True


def search(root: Path, query: str, limit: int = 10) -> list[tuple]:
    """(article_id, title, published_at, score, matched terms), best first."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = ?", [environment().timezone])  # dates shown in the warehouse's time zone
        attach(con, root)
        return con.execute(f"FROM {ALIAS}.search_articles(?) LIMIT ?", [query, limit]).fetchall()
    finally:
        con.close()
