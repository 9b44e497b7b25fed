"""Load: write a run's tables to the warehouse in one DuckLake transaction (one snapshot), or nothing.

Idempotent by construction: an article is (re)written only when its source is new or its raw bytes
changed; stories, entities, pages and quarantine rows are merged on their keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from huunghi.enrich import TABLES as ENRICHED
from huunghi.warehouse import store

# Tables whose rows belong to one article: replaced whole when the article's input changed.
PER_ARTICLE = ("articles", "paragraphs", "story_appearances", "headline_lines", "article_signatures", "article_bands",
               *ENRICHED)  # fmt: skip
# Everything a run hands to the load, by warehouse table name.
RUN_TABLES = (*PER_ARTICLE, "stories", "story_aliases", "story_alias_groups", "entities", "pages", "quarantine",
              "frontier")  # fmt: skip


@dataclass
class RunInfo:
    run_id: str
    flow_run_id: str | None
    started_at: datetime
    status: str = "completed"  # the `runs` row's status: completed | read_nothing (see schema.sql)


def _columns(table: pa.Table | ds.Dataset) -> str:
    return ", ".join(f'"{name}"' for name in table.schema.names)  # names come from warehouse/schema.sql


def _insert_from_n(table: pa.Table | ds.Dataset) -> str:
    """The INSERT arm of a MERGE whose source is aliased `n`."""
    return f"INSERT ({_columns(table)}) VALUES ({', '.join('n.' + c for c in table.schema.names)})"


def write_run(con: duckdb.DuckDBPyConnection, t: dict[str, pa.Table | ds.Dataset]) -> tuple[dict[str, int], list[str]]:
    """All writes of one run inside the caller's transaction; the counts for `runs` and the new stories. A table
    is in memory (Arrow) or staged on disk (a Parquet dataset, read by DuckDB as it writes)."""
    missing = set(RUN_TABLES) - set(t)
    if missing:
        raise ValueError(f"a run must hand every table to the load; missing: {sorted(missing)}")
    for name in RUN_TABLES:
        con.register(f"new_{name}", t[name])

    # Articles that are new, or whose raw bytes changed since they were loaded: found in DuckDB, as a set (a
    # backfill's hundreds of thousands of rows never become Python objects).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE changed AS
        SELECT n.article_id, o.article_id IS NULL AS is_new, coalesce(n.duplicate_of, '') <> '' AS is_copy
        FROM new_articles n LEFT JOIN (
            SELECT article_id, sha256 FROM articles WHERE article_id IN (SELECT article_id FROM new_articles)
        ) o USING (article_id)
        WHERE o.sha256 IS DISTINCT FROM n.sha256""")
    for table in PER_ARTICLE:
        con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM changed WHERE NOT is_new)")
    new_stories = [
        title
        for (title,) in con.execute(
            "SELECT title FROM new_stories WHERE story_id NOT IN (SELECT story_id FROM stories "
            "WHERE story_id IN (SELECT story_id FROM new_stories)) ORDER BY title"
        ).fetchall()
    ]
    counts = {}
    for table in PER_ARTICLE:
        cols = _columns(t[table])
        counts[table] = con.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM new_{table} "
            "WHERE article_id IN (SELECT article_id FROM changed)"
        ).fetchone()[0]

    con.execute(f"""
        INSERT INTO story_alias_groups ({_columns(t["story_alias_groups"])}) SELECT {_columns(t["story_alias_groups"])}
        FROM new_story_alias_groups
        WHERE title_key NOT IN (SELECT title_key FROM story_aliases
                                WHERE title_key IN (SELECT title_key FROM new_story_alias_groups))""")  # before them
    con.execute(f"""
        INSERT INTO story_aliases ({_columns(t["story_aliases"])}) SELECT {_columns(t["story_aliases"])}
        FROM new_story_aliases
        WHERE title_key NOT IN (SELECT title_key FROM story_aliases
                                WHERE title_key IN (SELECT title_key FROM new_story_aliases))""")
    # A story keeps its first title; a longer summary seen later replaces a shorter one; a URL fills a gap.
    con.execute(f"""
        MERGE INTO stories USING new_stories AS n ON stories.story_id = n.story_id
        WHEN MATCHED AND (length(coalesce(n.summary, '')) > length(coalesce(stories.summary, ''))
                          OR (stories.url IS NULL AND n.url IS NOT NULL))
            THEN UPDATE SET
                summary = CASE WHEN length(coalesce(n.summary, '')) > length(coalesce(stories.summary, ''))
                               THEN n.summary ELSE stories.summary END,
                url = coalesce(stories.url, n.url)
        WHEN NOT MATCHED THEN {_insert_from_n(t["stories"])}""")
    con.execute(f"""
        MERGE INTO entities USING new_entities AS n ON entities.entity_id = n.entity_id
        WHEN MATCHED AND (entities.name, entities.name_2025, entities.iso_code_2025)
                     IS DISTINCT FROM (n.name, n.name_2025, n.iso_code_2025)
            THEN UPDATE SET name = n.name, name_2025 = n.name_2025, iso_code_2025 = n.iso_code_2025
        WHEN NOT MATCHED THEN {_insert_from_n(t["entities"])}""")
    con.execute(f"""
        MERGE INTO pages USING new_pages AS n ON pages.source_uri = n.source_uri
        WHEN MATCHED AND (pages.sha256, pages.outcome, pages.article_id)
                     IS DISTINCT FROM (n.sha256, n.outcome, n.article_id)
            THEN UPDATE SET sha256 = n.sha256, url = n.url, format = n.format, size = n.size, fetched_at = n.fetched_at,
                            outcome = n.outcome, article_id = n.article_id, run_id = n.run_id
        WHEN NOT MATCHED THEN {_insert_from_n(t["pages"])}""")
    # An input is in one place: a source read again leaves the quarantine, or its row is replaced when it
    # now fails otherwise (a changed file, another stage or reason); the same failure again changes nothing.
    same_failure = """n.source_uri = q.source_uri AND n.sha256 IS NOT DISTINCT FROM q.sha256
                      AND n.stage = q.stage AND n.reason = q.reason"""
    con.execute(f"""
        DELETE FROM quarantine q WHERE q.source_uri IN (SELECT source_uri FROM new_pages)
           AND NOT EXISTS (SELECT 1 FROM new_quarantine n WHERE {same_failure})""")
    quarantined = con.execute(f"""
        INSERT INTO quarantine ({_columns(t["quarantine"])})
        SELECT {_columns(t["quarantine"])} FROM new_quarantine AS n
        WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE {same_failure})""").fetchone()[0]
    # The frontier: a URL keeps when it was first listed; a row changes only when its state, reason or last
    # request does (a URL listed again and still waiting changes nothing).
    con.execute(f"""
        MERGE INTO frontier USING new_frontier AS n ON frontier.url = n.url
        WHEN MATCHED AND (frontier.source, frontier.state, frontier.reason, frontier.last_fetched_at)
                     IS DISTINCT FROM (n.source, n.state, n.reason, n.last_fetched_at)
            THEN UPDATE SET source = n.source, state = n.state, reason = n.reason,
                            last_fetched_at = n.last_fetched_at, run_id = n.run_id
        WHEN NOT MATCHED THEN {_insert_from_n(t["frontier"])}""")
    articles_new, articles_updated, duplicates_new = con.execute(
        "SELECT count(*) FILTER (is_new AND NOT is_copy), count(*) FILTER (NOT is_new), "
        "count(*) FILTER (is_new AND is_copy) FROM changed"
    ).fetchone()
    return {
        "pages_in": t["pages"].num_rows,
        "articles_new": articles_new,
        "articles_updated": articles_updated,
        "duplicates_new": duplicates_new,
        "quarantined_new": quarantined,
        "stories_new": len(new_stories),
        "appearances_new": counts["story_appearances"],
        **{f"{table}_new": counts[table] for table in ENRICHED},
    }, new_stories


@dataclass
class LoadOutcome:
    counts: dict[str, int]
    new_stories: list[str]
    snapshot: int | None  # None for a dry run
    last_new_article_at: datetime | None = None  # end of the latest run that added or changed an article
    first_run_at: datetime | None = None  # start of the warehouse's first run: how long it has been watched


# The rows this transaction inserted, whatever wrote them: DuckLake gives a row its snapshot_id at COMMIT, NULL before,
# and skips the files of earlier snapshots for this filter (at 10^6 simulated articles, 0.015 s a table against
# 0.13 s for `rowid >= 10^18`, the transaction-local row ids, which read the rowid of every stored row).
INSERTED = "snapshot_id IS NULL"


def run_keys(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """The keys the run's audit reads (audit.sql's header), as temp tables: what write_run was handed and
    changed (its `changed`, `new_*` tables), and the keys of every row inserted in this transaction, so a row
    written outside those keys (a bug) is audited too."""
    inserted = " UNION ".join(f"SELECT article_id FROM {table} WHERE {INSERTED}" for table in PER_ARTICLE)
    keys = {
        "run_articles": f"SELECT article_id FROM changed UNION {inserted}",
        "run_article_rows": "SELECT article_id, duplicate_of FROM articles "
        "WHERE article_id IN (SELECT article_id FROM run_articles)",
        "run_paragraphs": "SELECT rowid AS r, article_id, kind FROM paragraphs "
        "WHERE article_id IN (SELECT article_id FROM run_articles)",
        "run_stories": f"SELECT story_id FROM new_stories UNION SELECT story_id FROM stories WHERE {INSERTED}",
        "run_sources": "SELECT source_uri FROM new_pages UNION SELECT source_uri FROM new_quarantine UNION "
        f"SELECT source_uri FROM pages WHERE {INSERTED} UNION SELECT source_uri FROM quarantine WHERE {INSERTED}",
        "run_urls": f"SELECT url FROM new_frontier UNION SELECT url FROM frontier WHERE {INSERTED}",
        "run_ids": f"SELECT ? AS run_id UNION SELECT run_id FROM runs WHERE {INSERTED}",
    }
    for name, query in keys.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}", [run_id] if "?" in query else [])


def audit_table(con: duckdb.DuckDBPyConnection, run_id: str, scope: str = "warehouse") -> pa.Table:
    """One row: for each rule of warehouse/audit.sql, how many rows break it, in the (uncommitted) warehouse
    as a whole, or with scope "run" among the rows of the run write_run just wrote on `con` and those that
    refer to them: what the load audits, at the cost of the run's rows."""
    if scope == "run":
        run_keys(con, run_id)
    row: dict[str, object] = {"run_id": run_id}
    for name, query in store.audit_queries(scope):
        row[name] = con.execute(query).fetchone()[0]
    return pa.Table.from_pylist([row])


def _commit_message(con: duckdb.DuckDBPyConnection, run: RunInfo) -> None:
    con.execute(
        f"CALL {store.ALIAS}.set_commit_message(?, ?, extra_info => ?)",
        ["huunghi", f"run {run.run_id}", json.dumps({"run_id": run.run_id, "flow_run_id": run.flow_run_id})],
    )


def _insert_run(con: duckdb.DuckDBPyConnection, run: RunInfo, counts: dict[str, int]) -> None:
    con.execute(
        """INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [run.run_id, run.flow_run_id, run.started_at, datetime.now(UTC), run.status,
         *(counts[k] for k in ("pages_in", "articles_new", "articles_updated", "duplicates_new", "quarantined_new",
                               "stories_new", "appearances_new", "mentions_new"))],
    )  # fmt: skip


def _snapshot(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"SELECT max(snapshot_id) FROM {store.ALIAS}.snapshots()").fetchone()[0]


def _history(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, datetime | None]:
    """(end of the latest run that added or changed an article, start of the first run)."""
    return con.execute(
        "SELECT max(finished_at) FILTER (WHERE articles_new + articles_updated > 0), min(started_at) FROM runs"
    ).fetchone()


def record_run(root: Path, run: RunInfo, pages_in: int, dry_run: bool = False) -> LoadOutcome:
    """A run that found nothing new: its `runs` row alone, in its own snapshot (every other table is left as it
    is, so no gate has a row to judge and no audit a row to count). A dry run records nothing."""
    counts = dict.fromkeys(
        ("articles_new", "articles_updated", "duplicates_new", "quarantined_new", "stories_new", "appearances_new",
         *(f"{table}_new" for table in ENRICHED)), 0,
    ) | {"pages_in": pages_in}  # fmt: skip
    con = store.connect(root, read_only=False)
    try:
        store.ensure_schema(con)
        con.execute("BEGIN TRANSACTION")
        try:
            _commit_message(con, run)
            _insert_run(con, run, counts)
            last_new, first_run = _history(con)
            con.execute("ROLLBACK" if dry_run else "COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        snapshot = None if dry_run else _snapshot(con)
        return LoadOutcome({**counts, "orphan_files_removed": 0}, [], snapshot, last_new, first_run)
    finally:
        con.close()


def publish(
    root: Path,
    tables: dict[str, pa.Table | ds.Dataset],
    run: RunInfo,
    audit: Callable[[pa.Table], object],
    dry_run: bool = False,
) -> LoadOutcome:
    """Write every table of the run, audit the result, then publish it as one DuckLake snapshot; if
    anything fails — the audit included — roll back: the warehouse stays at its previous snapshot.
    A dry run writes and audits, then rolls back: the counts are what the run would have published.
    `audit` gets the counts of warehouse/audit.sql's run rules and raises to refuse (the `warehouse` gate)."""
    con = store.connect(root, read_only=False)
    try:
        orphans = store.orphan_files(con, remove=True)  # what a killed or failed write left behind
        store.ensure_schema(con)  # tables first, in their own commit on a new warehouse (DuckLake needs them)
        con.execute("BEGIN TRANSACTION")
        try:
            store.ensure_views(con)  # views with the data they describe, in the run's snapshot
            _commit_message(con, run)
            counts, new_stories = write_run(con, tables)
            _insert_run(con, run, counts)
            last_new, first_run = _history(con)
            audit(audit_table(con, run.run_id, scope="run"))  # audit the run's rows before publishing
            con.execute("ROLLBACK" if dry_run else "COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            store.orphan_files(con, remove=True)  # the files the rolled-back transaction wrote
            raise
        if dry_run:
            orphans += store.orphan_files(con, remove=True)  # the files the rolled-back transaction wrote
        counts["orphan_files_removed"] = len(orphans)
        if dry_run:
            return LoadOutcome(counts, new_stories, None, last_new, first_run)
        return LoadOutcome(counts, new_stories, _snapshot(con), last_new, first_run)
    finally:
        con.close()
