"""Full-text search over titles and bodies: accent-insensitive, ranked by BM25, offline.

The index is DuckDB's fts extension (from its PyPI package, like ducklake) over the canonical articles, in
its own file `<warehouse>/search.duckdb`, rebuilt after each run's commit into a temporary file that then
replaces the old one (a reader keeps the file it opened). Text and queries are folded the same way —
lower case, tone marks and other accents stripped, đ → d — so `ra pha bom min` finds `rà phá bom mìn`.

fts's own `match_bm25` macro names its tables without a catalog, so it only works with the index as the
default database. `search_articles(q)` computes the same BM25 as fts (k1 = 1.2, b = 0.75, log10 idf; a test compares the
two) with every table named `search.…`: attached as `search`, it works from any connection —
`huunghi sql "FROM search.search_articles('ra pha bom min')"`.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import duckdb_extensions

from huunghi.warehouse import store

INDEX_FILE = "search.duckdb"
ALIAS = "search"
_FOLD = "strip_accents(lower(replace(replace(x, 'đ', 'd'), 'Đ', 'D')))"
_MACROS = f"""
CREATE OR REPLACE MACRO fold(x) AS {_FOLD};
CREATE OR REPLACE MACRO search_articles(q) AS TABLE
WITH query AS (
    SELECT DISTINCT unnest(regexp_split_to_array(search.main.fold(q), '[^a-z0-9]+')) AS term
), hits AS (
    SELECT t.docid, d.term, d.df, count(*) AS tf
    FROM query JOIN search.fts_main_docs.dict d ON d.term = query.term
    JOIN search.fts_main_docs.terms t ON t.termid = d.termid
    GROUP BY ALL
), scored AS (
    SELECT h.docid, count(DISTINCT h.term) AS matched,
           sum(log10((st.num_docs - h.df + 0.5) / (h.df + 0.5) + 1) * h.tf * 2.2
               / (h.tf + 1.2 * (1 - 0.75 + 0.75 * doc.len / st.avgdl))) AS score
    FROM hits h JOIN search.fts_main_docs.docs doc ON doc.docid = h.docid
    CROSS JOIN search.fts_main_docs.stats st
    GROUP BY h.docid
)
SELECT doc.name AS article_id, a.title, a.published_at, s.score, s.matched
FROM scored s JOIN search.fts_main_docs.docs doc ON doc.docid = s.docid
JOIN search.main.docs a ON a.article_id = doc.name
ORDER BY s.score DESC, article_id;
"""


def _load_fts(con: duckdb.DuckDBPyConnection) -> None:
    duckdb_extensions.import_extension("fts", con=con)
    con.execute("LOAD fts")


def index_path(root: Path) -> Path:
    return root / INDEX_FILE


def build_index(root: Path) -> int:
    """Rebuild the search index from the warehouse's canonical articles; returns the snapshot indexed."""
    source = store.connect(root, read_only=True)
    try:
        snapshot = source.execute(f"SELECT max(snapshot_id) FROM {store.ALIAS}.snapshots()").fetchone()[0]
        articles = source.execute(
            "SELECT article_id, title, published_at, concat_ws(' ', title, lead, body) AS text "
            "FROM articles WHERE duplicate_of IS NULL ORDER BY article_id"
        ).arrow()
    finally:
        source.close()
    tmp = root / f".{INDEX_FILE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        _load_fts(con)
        con.register("new_articles", articles)
        con.execute(f"CREATE MACRO fold(x) AS {_FOLD}")
        con.execute("CREATE TABLE docs AS SELECT article_id, title, published_at, fold(text) AS text FROM new_articles")
        con.execute(
            "PRAGMA create_fts_index('docs', 'article_id', 'text', stemmer='none', stopwords='none', "
            "strip_accents=1, lower=1, overwrite=1)"
        )
        con.execute("CREATE TABLE index_info AS SELECT ? AS snapshot_id, now() AS built_at", [snapshot])
    finally:
        con.close()
    # The table macro names `search.…`: it is created with the file attached under that name.
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{tmp}' AS {ALIAS}")
        con.execute(f"USE {ALIAS}")
        con.execute(_MACROS)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, index_path(root))
    return snapshot


def indexed_snapshot(root: Path) -> int | None:
    """The warehouse snapshot the index was built from, or None when there is no index."""
    if not index_path(root).exists():
        return None
    con = duckdb.connect(str(index_path(root)), read_only=True)
    try:
        return con.execute("SELECT snapshot_id FROM index_info").fetchone()[0]
    except duckdb.Error:
        return None
    finally:
        con.close()


def attach(con: duckdb.DuckDBPyConnection, root: Path) -> bool:
    """Attach the index read-only as `search` (for `huunghi sql`); False when there is none."""
    if not index_path(root).exists():
        return False
    _load_fts(con)
    con.execute(f"ATTACH '{index_path(root)}' AS {ALIAS} (READ_ONLY)")
    return True


def search(root: Path, query: str, limit: int = 10) -> list[tuple]:
    """(article_id, title, published_at, score, matched terms), best first."""
    con = duckdb.connect()
    try:
        attach(con, root)
        return con.execute(f"FROM {ALIAS}.search_articles(?) LIMIT ?", [query, limit]).fetchall()
    finally:
        con.close()
