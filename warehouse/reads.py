"""What a run reads from the warehouse as it was before the run: knowledge for the cleaner, state for dedup,
the pages already loaded, the quarantine rows to reprocess. Read-only; nothing when there is no warehouse.

Only a warehouse that does not exist yet (no catalog, or a catalog without a single table) reads as empty:
a table that is missing or renamed in an existing warehouse fails the run, instead of silently emptying the
knowledge and the dedup state (every page would be an unseen article again).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from huunghi.dedup.articles import DedupKeys, DedupState
from huunghi.knowledge import BOILERPLATE_MIN_PAGES, Knowledge
from huunghi.settings import Selection
from huunghi.text import title_key
from huunghi.warehouse import store


class WarehouseUnreadable(store.WarehouseError):
    """The warehouse exists but lacks what this version reads (a table or column renamed or dropped)."""


_session: dict[Path, duckdb.DuckDBPyConnection] = {}
_session_lock = threading.Lock()


@contextmanager
def session(root: Path) -> Iterator[None]:
    """Within it, the reads below share one read-only connection (each would otherwise attach the catalog
    anew, ~0.1 s). A writer cannot open the catalog meanwhile: leave it before the load."""
    key = root.resolve()
    con = store.connect(root, read_only=True) if store.has_catalog(root) else None
    if con is not None:
        with _session_lock:
            _session[key] = con
    try:
        yield
    finally:
        if con is not None:
            with _session_lock:
                _session.pop(key, None)
                for old in [k for k in _session_snapshots if k[0] == key]:
                    del _session_snapshots[old]
            con.close()
        close_pinned()


def _connection(root: Path) -> duckdb.DuckDBPyConnection:
    with _session_lock:
        shared = _session.get(root.resolve())
        if shared is not None:
            cursor = shared.cursor()  # its own connection to the same attached database, for any thread
            cursor.execute(f"USE {store.ALIAS}")  # the default catalog is set per connection
            return cursor
    return store.connect(root, read_only=True)


def _read(root: Path, query: str, tables: dict[str, pa.Table], params: list | None = None) -> list[tuple]:
    """A read-only query on the warehouse as it is before this run; nothing when there is none yet."""
    if not store.has_catalog(root):
        return []
    con = _connection(root)
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.execute(query, params or []).fetchall()
    except duckdb.CatalogException as exc:
        return _nothing_stored_yet(root, con, exc)
    finally:
        con.close()


def read_doubtful_share(root: Path, below: float) -> tuple[int, int]:
    """(articles with parse_confidence below `below`, all articles): the site's usual share of doubtful pages."""
    rows = _read(root, "SELECT count(*) FILTER (WHERE parse_confidence < ?), count(*) FROM articles", {}, [below])
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


# What earlier runs learned, read by key: a story title is known when a story's title has that title key (its
# stories are found through story_aliases, keyed by title key: every story's own title key is among its aliases);
# a line is furniture when it stands in BOILERPLATE_MIN_PAGES distinct articles.
_KNOWLEDGE_BY_KEY = f"""
    SELECT 'title', s.title FROM stories s
    WHERE s.story_id IN (SELECT story_id FROM story_aliases WHERE title_key IN (SELECT key FROM wanted))
    UNION ALL
    SELECT 'line', line_key FROM headline_lines WHERE line_key IN (SELECT key FROM wanted)
    GROUP BY line_key HAVING count(DISTINCT article_id) >= {int(BOILERPLATE_MIN_PAGES)}"""


def read_knowledge(root: Path, keys: Sequence[str], snapshot: int | None = None) -> Knowledge:
    """Which of `keys` earlier runs learned: as story titles, as site furniture (at `snapshot`, else now)."""
    wanted = set(keys)
    query = (root, _KNOWLEDGE_BY_KEY, {"wanted": pa.table({"key": pa.array(sorted(wanted), pa.string())})})
    found = _knowledge(_read_at(snapshot, *query) if snapshot is not None else _read(*query))
    return Knowledge(titles=found.titles & wanted, lines=found.lines)


def _knowledge(rows: list[tuple]) -> Knowledge:
    """('title', story title) and ('line', line key) rows → what they teach, titles in key form."""
    titles = {title_key(text) for kind, text in rows if kind == "title"}
    return Knowledge(titles=frozenset(titles), lines=frozenset(text for kind, text in rows if kind == "line"))


@dataclass(frozen=True)
class StoredKnowledge:
    """The warehouse's knowledge at one snapshot, asked by key (a `Lookup`): small to ship to a batch (it
    names the warehouse, not what it holds) and a cache key that changes with every snapshot. Each process
    opens one read-only connection per snapshot and remembers the answers it got."""

    root: str
    snapshot: int

    def __call__(self, keys: Sequence[str]) -> Knowledge:
        with _answers_lock:
            if self not in _answers:  # a new snapshot: the answers about older ones are of no more use
                for old in [k for k in _answers if k.root == self.root]:
                    del _answers[old]
            answers = _answers.setdefault(self, _Answers())
            new = [] if answers.complete else [k for k in keys if k not in answers.asked]
            whole = bool(new) and answers.queries >= WHOLE_AFTER_QUERIES
        if new:
            got = read_all_knowledge(Path(self.root), self.snapshot) if whole else read_knowledge(
                Path(self.root), new, self.snapshot)  # fmt: skip
            with _answers_lock:
                answers.titles.update(got.titles)
                answers.lines.update(got.lines)
                answers.asked.update(new)
                answers.queries += 1
                answers.complete |= whole
        with _answers_lock:
            titles, lines = answers.titles, answers.lines
            return Knowledge(frozenset(k for k in keys if k in titles), frozenset(k for k in keys if k in lines))


# A process that has asked this many times (a large run: one query per chunk, each scanning the key columns) reads
# what the warehouse knows whole, once, as every run did before: the answers are the same, and a backfill never
# pays more than that one read plus these queries, while a daily run of a few pages asks by key only.
WHOLE_AFTER_QUERIES = 3


@dataclass
class _Answers:
    asked: set[str] = field(default_factory=set)
    titles: set[str] = field(default_factory=set)
    lines: set[str] = field(default_factory=set)
    queries: int = 0
    complete: bool = False  # every title and furniture line of the snapshot is in titles / lines


def read_all_knowledge(root: Path, snapshot: int) -> Knowledge:
    """Everything earlier runs learned, at `snapshot`: every story's title key, every furniture line."""
    return _knowledge(_read_at(snapshot, root, _ALL_KNOWLEDGE, {}))


_ALL_KNOWLEDGE = f"""
    SELECT 'title', title FROM stories
    UNION ALL
    SELECT 'line', line_key FROM headline_lines
    GROUP BY line_key HAVING count(DISTINCT article_id) >= {int(BOILERPLATE_MIN_PAGES)}"""


_answers: dict[StoredKnowledge, _Answers] = {}  # per process: keys asked, found
_answers_lock = threading.Lock()
_pinned: dict[tuple[Path, int], duckdb.DuckDBPyConnection] = {}  # per process: one connection per snapshot
_session_snapshots: dict[tuple[Path, int], int | None] = {}


def stored_knowledge(root: Path) -> StoredKnowledge | None:
    """What the cleaner asks of earlier runs, pinned to the warehouse's current snapshot; None when there is
    no warehouse yet."""
    snapshot = read_latest_snapshot(root)
    return StoredKnowledge(str(root.resolve()), int(snapshot)) if snapshot is not None else None


def _read_at(snapshot: int, root: Path, query: str, tables: dict[str, pa.Table]) -> list[tuple]:
    """A read-only query on the warehouse as it was at `snapshot`: through the run's session when that is where
    the warehouse still is (the run holds the run lock: no other run writes meanwhile), else through this
    process's own connection to the snapshot (a worker's, opened once per run)."""
    key = (root.resolve(), snapshot)
    with _session_lock:
        shared = _session.get(key[0])
    if shared is not None and _session_at(key, shared) == snapshot:
        return _read(root, query, tables)
    with _session_lock:
        if key not in _pinned:
            for old in [k for k in _pinned if k[0] == key[0]]:  # an older snapshot's: a later run's worker
                _pinned.pop(old).close()
            _pinned[key] = store.connect(root, read_only=True, snapshot=snapshot)
        con = _pinned[key].cursor()
    try:
        con.execute(f"USE {store.ALIAS}")
        for name, table in tables.items():
            con.register(name, table)
        return con.execute(query).fetchall()
    except duckdb.CatalogException as exc:
        return _nothing_stored_yet(root, con, exc)
    finally:
        con.close()


def _session_at(key: tuple[Path, int], shared: duckdb.DuckDBPyConnection) -> int | None:
    """The snapshot the session's connection reads (asked once per session and snapshot)."""
    with _session_lock:
        if key in _session_snapshots:
            return _session_snapshots[key]
    latest = read_latest_snapshot(key[0])
    with _session_lock:
        _session_snapshots[key] = latest
    return _session_snapshots[key]


def close_pinned() -> None:
    """Close this process's connections to past snapshots (the flow's, before the load opens the writer)."""
    with _session_lock:
        pinned = list(_pinned.values())
        _pinned.clear()
    for con in pinned:
        con.close()


def read_headline_counts(root: Path, keys: list[str], exclude_articles: list[str]) -> dict[str, int]:
    """Pages of earlier runs (other than this run's) on which each headline line stands."""
    rows = _read(
        root,
        """SELECT line_key, count(DISTINCT article_id) FROM headline_lines
                          WHERE line_key IN (SELECT key FROM wanted)
                            AND article_id NOT IN (SELECT article_id FROM excluded) GROUP BY line_key""",
        {
            "wanted": pa.table({"key": pa.array(keys, pa.string())}),
            "excluded": pa.table({"article_id": pa.array(exclude_articles, pa.string())}),
        },
    )
    return dict(rows)


def read_latest_snapshot(root: Path) -> int | None:
    """The warehouse's latest snapshot id; None when there is no warehouse yet."""
    rows = _read(root, f"SELECT max(snapshot_id) FROM {store.ALIAS}.snapshots()", {})
    return rows[0][0] if rows else None


def read_loaded_pages(root: Path, uris: list[str]) -> dict[str, dict]:
    """source_uri → its `pages` row, for the inputs already loaded as an article or a duplicate."""
    columns = ("source_uri", "sha256", "format", "size", "fetched_at", "outcome", "article_id", "url")
    rows = _read(
        root,
        f"""SELECT {", ".join(columns)} FROM pages WHERE outcome IN ('article', 'duplicate')
           AND source_uri IN (SELECT uri FROM wanted)""",
        {"wanted": pa.table({"uri": pa.array(uris, pa.string())})},
    )
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


# Up to this many keys a lookup names them in the query (a constant filter DuckDB pushes into the Parquet scan);
# more go in a registered table, joined.
LITERAL_KEYS = 1000
# Up to this many string keys, one `column = ?` scan each: DuckDB applies an equality inside the Parquet scan and
# decodes the other columns (a signature's 1 KB) of matching rows only, while an IN list is only an optional
# (min/max) filter there, with every row decoded and filtered above the scan (EXPLAIN ANALYZE, DuckDB 1.5).
EACH_KEYS = 64


def _by_key(root: Path, query: str, column: str, values: list, suffix: str = "", each: bool = False) -> list[tuple]:
    """`query WHERE column IN (values) suffix`: named in the query for few keys (with `each`, one equality per
    key for very few keys: for wide rows), joined with a registered table for many. Strings are passed as parameters;
    integers (band keys) are written as UBIGINT literals, so the column is compared as it is stored (a
    parameter above 2**63 would bind as HUGEINT and cast the column)."""
    if not values:
        return []
    ints = isinstance(values[0], int)
    if len(values) > LITERAL_KEYS:
        keys = pa.table({"key": pa.array(values, pa.uint64() if ints else pa.string())})
        return _read(root, f"{query} WHERE {column} IN (SELECT key FROM wanted) {suffix}", {"wanted": keys})
    if ints:
        listed = ", ".join(f"{int(v)}::UBIGINT" for v in values)
        return _read(root, f"{query} WHERE {column} IN ({listed}) {suffix}", {})
    if each and len(values) <= EACH_KEYS and not suffix:
        each = " UNION ALL ".join(f"{query} WHERE {column} = ?" for _ in values)
        return _read(root, each, {}, list(values))
    return _read(root, f"{query} WHERE {column} IN ({', '.join('?' * len(values))}) {suffix}", {}, list(values))


def read_dedup_state(root: Path, keys: DedupKeys) -> DedupState:
    """What dedup must know of the warehouse for this run's pages, read by key: the canonical articles of their
    content hashes, the aliases sharing a group with their titles, the signatures of their own articles and of
    the canonical articles sharing an LSH band key with them. Nothing else reaches Python; DuckDB still scans the
    key columns (no index: content_hash, group_key, title_key, band_key, article_id), never the signatures."""
    content = _by_key(root, "SELECT content_hash, min(article_id) FROM articles", "content_hash",
                      keys.content_hashes, "AND duplicate_of IS NULL GROUP BY content_hash")  # fmt: skip
    titles = sorted({t for (t,) in _by_key(root, "SELECT title_key FROM story_alias_groups", "group_key",
                                           keys.title_groups)})  # fmt: skip
    aliases = _by_key(root, "SELECT title_key, story_id FROM story_aliases", "title_key", titles)
    bands = keys.bands
    if not isinstance(bands, pa.Table):
        pairs = list(zip(*bands, strict=True)) or [(), ()]
        bands = pa.table({"band": pa.array(pairs[0], pa.int8()), "band_key": pa.array(pairs[1], pa.uint64())})
    same_band = "SELECT DISTINCT a.article_id FROM article_bands a JOIN wanted w USING (band, band_key)"
    matched = _read(root, same_band, {"wanted": bands}) if bands.num_rows else []
    ids = sorted({aid for (aid,) in matched} | set(keys.article_ids))
    canonical = _by_key(root, "SELECT article_id FROM articles", "article_id", ids, "AND duplicate_of IS NULL")
    signatures = _by_key(root, "SELECT article_id, minhash FROM article_signatures", "article_id",
                         sorted(a for (a,) in canonical), each=True)  # fmt: skip
    return DedupState(content=dict(content), story_keys=dict(aliases), signatures=dict(signatures))


def read_quarantined(root: Path, selection: Selection) -> list[dict]:
    """The quarantine rows the selection names, with what `pages` knows of each input."""
    if not store.has_catalog(root):
        return []
    con = _connection(root)
    try:
        cursor = con.execute(
            """SELECT q.source_uri, q.sha256, q.stage, q.reason, q.details, q.run_id, q.raw,
                      p.format, p.url, p.fetched_at, p.size
               FROM quarantine q LEFT JOIN pages p USING (source_uri)
               WHERE (?::VARCHAR IS NULL OR q.reason = ?) AND (?::VARCHAR IS NULL OR q.stage = ?)
                 AND (?::VARCHAR IS NULL OR q.run_id = ?)
                 AND (?::VARCHAR IS NULL OR contains(q.source_uri, ?))
               ORDER BY q.source_uri, q.stage""",
            [v for value in (selection.reason, selection.stage, selection.run_id, selection.source_contains)
             for v in (value, value)],
        )  # fmt: skip
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.CatalogException as exc:
        return _nothing_stored_yet(root, con, exc)
    finally:
        con.close()


def _nothing_stored_yet(root: Path, con: duckdb.DuckDBPyConnection, exc: duckdb.CatalogException) -> list:
    """No rows when the catalog has no table at all (a first run that stopped before its tables were made);
    otherwise the warehouse is not what this version reads, and the run must not go on as if it were empty."""
    if not store.table_names(con):
        return []
    raise WarehouseUnreadable(
        f"the warehouse at {root} lacks what this version reads ({str(exc).splitlines()[0]}); "
        'nothing was written: check its tables (huunghi sql "SHOW TABLES") or restore it from a backup'
    ) from exc
