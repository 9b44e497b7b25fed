"""`make bench-history`: a warehouse of N simulated articles, built directly in DuckDB (not through the pages).

The daily run's cost must not grow with what the warehouse holds; measuring that at 10^6 articles through the
page pipeline would take hours. This builds the warehouse a long history would leave — every table of
`warehouse/schema.sql`, rows that pass the load's audit (`warehouse/audit.sql`) and look like the pipeline's:
a few paragraphs per article, 5-10 story sightings per page from a pool that grows with N, aliases, headline
lines, MinHash signatures, a few people, amounts and partnerships, one `runs` row per 1,000 articles — with
SQL generators over `range(N)` inside one transaction, then the search index the runs keep.

Each table is one generator in `GENERATORS` (a SELECT whose columns are named as the table's): a derived
table (one that can be computed from tables built before it) is one more entry, placed after its sources.
A table of schema.sql without a generator stops the build: a simulated warehouse missing a table would
measure a run that reads nothing from it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow as pa

from huunghi.enrich import reference_rows
from huunghi.text import stable_id
from huunghi.warehouse import backfill, search, store
from huunghi.warehouse.schema import SORTED_BY, schemas, sql_text

ARTICLES_PER_RUN = 1000  # one `runs` row per this many articles (a daily run of a large site)
DUPLICATE_EVERY = 25  # every 25th article is a copy of the one before it (no paragraphs of its own)
QUARANTINE_EVERY = 100  # one quarantined page per 100 articles
STORY_POOL_BASE, STORIES_PER_ARTICLE = 200, 0.2  # the story pool: 200 + N/5 stories
LINE_POOL_BASE, LINES_PER_ARTICLE = 50, 0.02  # headline lines: 50 + N/50 keys, on every third article
INDEX_CHUNK = 100_000  # articles tokenized at a time for the search index (each chunk reads the articles once)
SIM_URI = "file:///simulated/site/"
SIM_RUN = "simulated-"

# Syllables of our own choosing, for text that tokenizes, folds and shingles as Vietnamese does.
_SYLLABLES = (
    "hợp tác phát triển tỉnh kinh tế văn hóa giáo dục đoàn đại biểu hội nghị lãnh đạo nhân dân hai nước "
    "hữu nghị đặc biệt truyền thống thăm làm việc ký kết biên bản ghi nhớ giai đoạn thương mại đầu tư "
    "du lịch nông nghiệp y tế cửa khẩu biên giới an ninh quốc phòng đào tạo học sinh sinh viên trao tặng "
    "công trình nhà ở xã huyện bản làng cán bộ chiến sĩ quân tình nguyện chuyên gia hài cốt liệt sĩ "
    "tìm kiếm quy tập hỗ trợ kinh phí đồng tỉ triệu năm tháng ngày kỷ niệm thiết lập quan hệ ngoại giao "
    "gặp mặt chúc mừng tết lễ hội giao lưu thể thao nghệ thuật biểu diễn điện lực giao thông đường cầu"
)
SYLLABLES = _SYLLABLES.split()
SENTENCES = 4000  # the sentence pool the paragraphs are drawn from
BLOCKS = ["related", "other", "most_read", "latest", "sidebar", "inline", "multimedia", "video"]

# The plan every generator reads: one row per simulated article, one per story, and the pools of text.
PLAN = f"""
CREATE TEMP MACRO h(a, b) AS (hash(a, b) % 2147483647)::BIGINT;  -- a stable pseudo-random BIGINT
CREATE TEMP MACRO hid(kind, x) AS substr(sha256(kind || chr(31) || x), 1, 16);
CREATE TEMP MACRO uri(i) AS '{SIM_URI}' || lpad(i::VARCHAR, 7, '0') || '.html';
CREATE TEMP MACRO words(syllables, seed, k, n) AS array_to_string(
    list_transform(range(n), w -> syllables[1 + h(seed, k * 97 + w) % len(syllables)]), ' ');
CREATE TEMP TABLE sim_words AS SELECT {list(SYLLABLES)!r} AS syllables;
CREATE TEMP TABLE sim_text AS
SELECT syllables, list(s ORDER BY k) AS sentences FROM (
    SELECT k, syllables, upper(s[1]) || s[2:] || '.' AS s
    FROM (SELECT k, syllables, words(syllables, 'sentence', k, 12 + (h('len', k) % 14)::INT) AS s
          FROM range({SENTENCES}) t(k), sim_words)) GROUP BY syllables;
CREATE TEMP MACRO para(sentences, i, p) AS
    sentences[1 + h(i, p * 3) % len(sentences)] || ' ' || sentences[1 + h(i, p * 3 + 1) % len(sentences)]
    || ' ' || sentences[1 + h(i, p * 3 + 2) % len(sentences)];
CREATE TEMP TABLE sim_places AS
SELECT list(entity_id ORDER BY entity_id) FILTER (WHERE country = 'VN') AS vn_ids,
       list(name ORDER BY entity_id) FILTER (WHERE country = 'VN') AS vn_names,
       list(entity_id ORDER BY entity_id) FILTER (WHERE country = 'LA') AS la_ids
FROM ref_entities WHERE kind = 'province';
CREATE TEMP TABLE sim_articles AS
SELECT i, uri(i) AS source_uri, hid('article', uri(i)) AS article_id,
       CASE WHEN i % {DUPLICATE_EVERY} = {DUPLICATE_EVERY - 1} THEN hid('article', uri(i - 1)) END AS duplicate_of,
       '{SIM_RUN}' || lpad((i // {ARTICLES_PER_RUN})::VARCHAR, 6, '0') AS run_id,
       3 + (h(i, 'nb') % 4)::INT AS nb,
       1 + h(i, 'vn') % len(vn_ids) AS vn, 1 + h(i, 'la') % len(la_ids) AS la,
       TIMESTAMPTZ '2016-01-01 00:00:00+00' + to_seconds((i * 315360000 // getvariable('n'))::BIGINT) AS published_at,
       substr(sha256('content' || chr(31) || (i - (i % {DUPLICATE_EVERY} = {DUPLICATE_EVERY - 1})::INT)), 1, 16)
           AS content_hash
FROM range(getvariable('n')) t(i), sim_places;
CREATE TEMP TABLE sim_stories AS
SELECT s, key, upper(key[1]) || key[2:] AS title, hid('story', key) AS story_id,
       '{SIM_RUN}' || lpad((least(s * 5, getvariable('n') - 1) // {ARTICLES_PER_RUN})::VARCHAR, 6, '0') AS first_run_id
FROM (SELECT s, words(syllables, 'story', s, 7 + (h('slen', s) % 5)::INT) AS key
      FROM range({STORY_POOL_BASE} + (getvariable('n') * {STORIES_PER_ARTICLE})::BIGINT) t(s), sim_words);
"""
# A canonical article's body paragraph p: the first names a Vietnamese province (its mention), the second of
# every fifth article starts with an amount of money.
_BODY = """CASE WHEN p = 1 THEN vn_names[vn] || ' ' ELSE '' END
    || CASE WHEN p = 2 AND i % 5 = 0 THEN (1 + i % 90)::VARCHAR || ',' || (i % 10)::VARCHAR || ' tỉ đồng ' ELSE '' END
    || para(sentences, i, p)"""
_CANONICAL = "FROM sim_articles, sim_text, sim_places WHERE duplicate_of IS NULL"
_SIGNATURE = (  # 128 values below 2**32 as little-endian uint64, as huunghi.signatures stores them
    "unhex(array_to_string(list_transform(range(16), j -> regexp_replace("
    "sha256(article_id || ':' || j::VARCHAR), '(.{8})', '\\1' || '00000000', 'g')), ''))"
)

GENERATORS: dict[str, str] = {
    "entities": "SELECT * FROM ref_entities",
    "runs": """
        SELECT run_id, NULL AS flow_run_id, min(published_at) AS started_at,
               min(published_at) + INTERVAL 40 SECOND AS finished_at, 'completed' AS status,
               count(*) AS pages_in, count(*) FILTER (WHERE duplicate_of IS NULL) AS articles_new,
               0 AS articles_updated, count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS duplicates_new,
               0 AS quarantined_new, 0 AS stories_new, 0 AS appearances_new, 0 AS mentions_new
        FROM sim_articles GROUP BY run_id""",
    "articles": f"""
        SELECT a.article_id, a.source_uri, replace(a.source_uri, '{SIM_URI}', 'https://simulated.example/') AS url,
               upper(t[1]) || t[2:] AS title, a.published_at, 'Hữu nghị › Bốn phương kết bạn' AS section,
               words(syllables, 'author', i, 3) AS author, para(sentences, i, 0) AS lead,
               CASE WHEN a.duplicate_of IS NULL THEN array_to_string(
                   list_transform(range(1, nb + 1), p -> {_BODY}), chr(10) || chr(10)) END AS body,
               a.duplicate_of, a.content_hash, sha256(a.source_uri) AS sha256, a.run_id, 'layout' AS extractor,
               NULL AS kicker, 0.9 AS parse_confidence, []::VARCHAR[] AS parse_doubts, 'vi' AS language
        FROM (SELECT *, words(syllables, 'title', i, 9 + (h('tlen', i) % 6)::INT) AS t FROM sim_articles, sim_text) a,
             sim_places""",
    "paragraphs": f"""
        SELECT article_id, p AS position, CASE WHEN p = 0 THEN 'lead' ELSE 'body' END AS kind,
               CASE WHEN p = 0 THEN para(sentences, i, 0) ELSE {_BODY} END AS text
        FROM (SELECT *, unnest(range(nb + 1)) AS p {_CANONICAL})""",
    "stories": "SELECT story_id, title, words(syllables, 'summary', s, 20) AS summary, "
    "'https://simulated.example/story/' || s AS url, first_run_id FROM sim_stories, sim_words",
    "story_aliases": """
        SELECT key AS title_key, story_id FROM sim_stories
        UNION ALL SELECT replace(key, ' ', ''), story_id FROM sim_stories WHERE s % 5 = 0""",
    "story_appearances": f"""
        SELECT st.story_id, x.article_id, x.block, x.pos AS position,
               'https://simulated.example/story/' || st.s AS url
        FROM (SELECT article_id, pos, list_element({BLOCKS!r}, 1 + (pos % {len(BLOCKS)})::INT) AS block,
                     (i * {STORIES_PER_ARTICLE} + h(i, pos) % 400)::BIGINT % (SELECT count(*) FROM sim_stories) AS s
              FROM (SELECT *, unnest(range(5 + (h(i, 'ns') % 6)::INT)) AS pos {_CANONICAL})) x
        JOIN sim_stories st USING (s)""",
    "article_signatures": f"SELECT article_id, {_SIGNATURE} AS minhash {_CANONICAL}",
    "headline_lines": f"""
        SELECT words(syllables, 'line', h(i, 'line') % lines, 6) AS line_key, article_id
        FROM (SELECT *, {LINE_POOL_BASE} + (getvariable('n') * {LINES_PER_ARTICLE})::BIGINT AS lines FROM sim_articles),
             sim_words WHERE duplicate_of IS NULL AND i % 3 = 0""",
    "mentions": f"""
        SELECT article_id, vn_ids[vn] AS entity_id, vn_names[vn] AS surface, 1 AS paragraph_position,
               0 AS start_char, length(vn_names[vn]) AS end_char, NULL AS place {_CANONICAL}""",
    "people": """
        SELECT article_id, words(syllables, 'person', i, 3) AS name, 'Chủ tịch UBND tỉnh' AS role,
               'ORG-UBND-' || vn_ids[vn] AS organization_entity_id, vn_ids[vn] AS province_entity_id,
               1 AS paragraph_position, length(vn_names[vn]) + 1 AS start_char
        FROM sim_articles, sim_places, sim_words WHERE duplicate_of IS NULL AND i % 4 = 0""",
    "amounts": f"""
        SELECT article_id, (1 + i % 90) + (i % 10) / 10 AS value, 'VND' AS currency,
               ((1 + i % 90) + (i % 10) / 10) * 1e9 AS value_vnd,
               (1 + i % 90)::VARCHAR || ',' || (i % 10)::VARCHAR || ' tỉ đồng' AS surface,
               2 AS paragraph_position, 0 AS start_char
        {_CANONICAL} AND i % 5 = 0""",
    "partnerships": f"""
        SELECT article_id, vn_ids[vn] AS vn_entity_id, la_ids[la] AS la_entity_id, 'visit' AS event_type,
               ['visit'] AS event_types, published_at::DATE AS event_date, NULL AS event_end,
               NULL AS agreement_kind, NULL AS period_start, NULL AS period_end, ['education'] AS sectors
        {_CANONICAL} AND i % 6 = 0""",
    "pages": f"""
        SELECT source_uri, sha256(source_uri) AS sha256, 'html' AS format, 40000 + h(i, 'size') % 30000 AS size,
               published_at AS fetched_at, CASE WHEN duplicate_of IS NULL THEN 'article' ELSE 'duplicate' END
               AS outcome, article_id, run_id, NULL AS url FROM sim_articles
        UNION ALL
        SELECT '{SIM_URI}bad-' || q, sha256('bad' || q), 'html', 100, TIMESTAMPTZ '2020-01-01 00:00:00+00',
               'quarantine', NULL, '{SIM_RUN}000000', NULL FROM range(getvariable('n') // {QUARANTINE_EVERY}) t(q)""",
    "quarantine": f"""
        SELECT '{SIM_URI}bad-' || q AS source_uri, sha256('bad' || q) AS sha256, 'clean' AS stage,
               'no_title' AS reason, 'the page has no title' AS details, NULL AS raw, '{SIM_RUN}000000' AS run_id
        FROM range(getvariable('n') // {QUARANTINE_EVERY}) t(q)""",
    "frontier": "SELECT * FROM wh.frontier WHERE false",  # file sources list no URLs: a history of pages read
    # dedup's lookup tables, derived from the rows above as the backfill of an older warehouse derives them
    "article_bands": backfill.bands_select("wh.article_signatures"),
    "story_alias_groups": backfill.groups_select("wh.story_aliases"),
}


class UnknownTable(RuntimeError):
    """schema.sql defines a table the builder has no generator for."""


def check_generators() -> list[str]:
    """The tables of schema.sql in the order they are built; raises when one has no generator."""
    missing = sorted(set(schemas()) - set(GENERATORS))
    if missing:
        raise UnknownTable(f"no generator in flows/history.py GENERATORS for the table(s) {missing} of "
                           "schema.sql: add one (a SELECT naming the table's columns)")  # fmt: skip
    return [name for name in GENERATORS if name in schemas()]


def build(root: Path, n: int) -> dict[str, int]:
    """A new warehouse at `root` holding n simulated articles (one snapshot), and its search index.
    Returns the rows written per table."""
    tables = check_generators()
    if root.exists():
        shutil.rmtree(root)
    root = store.check_location(root, create=True)
    con = store.connect(root, read_only=False)
    counts: dict[str, int] = {}
    try:
        con.execute("SET enable_progress_bar = false")  # minutes of INSERT at 10^6 articles: the bench prints
        store.ensure_schema(con)
        con.execute("USE memory")  # the plan lives in this process; the warehouse is written as wh.<table>
        con.register("ref_entities_view", pa.Table.from_pylist(reference_rows(), schema=schemas()["entities"]))
        con.execute("CREATE TEMP TABLE ref_entities AS FROM ref_entities_view")
        con.execute(f"SET VARIABLE n = {int(n)}")
        con.execute(PLAN)
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CALL {store.ALIAS}.set_commit_message('huunghi', 'simulated history of {int(n)} articles')")
        for name in tables:
            counts[name] = con.execute(f"INSERT INTO {store.ALIAS}.{name} BY NAME {GENERATORS[name]}").fetchone()[0]
        con.execute("USE wh")
        store.ensure_views(con)
        con.execute("COMMIT")
    finally:
        con.close()
    chunk, search.CHUNK = search.CHUNK, INDEX_CHUNK
    try:
        search.build_index(root)
    finally:
        search.CHUNK = chunk
    return counts


def audit_seconds(root: Path) -> tuple[float, dict[str, int]]:
    """The whole-warehouse audit (warehouse/audit.sql, as `huunghi doctor` runs it): its seconds and its counts."""
    from huunghi.warehouse.write import audit_table

    con = store.connect(root, read_only=True)
    try:
        t0 = time.perf_counter()
        row = audit_table(con, "audit").to_pylist()[0]
        return time.perf_counter() - t0, {k: v for k, v in row.items() if k != "run_id"}
    finally:
        con.close()


def fingerprint() -> str:
    """Changes when the builder or the schema does: a cached simulated warehouse is rebuilt then."""
    return stable_id(PLAN, _BODY, _CANONICAL, _SIGNATURE, *GENERATORS, *GENERATORS.values(), sql_text("schema.sql"),
                     repr(sorted(SORTED_BY.items())))  # fmt: skip


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args()
    t0 = time.perf_counter()
    counts = build(args.warehouse, args.n)
    print(f"built in {time.perf_counter() - t0:.1f} s, {disk_bytes(args.warehouse) / 2**20:,.0f} MB: {counts}")
    seconds, audit = audit_seconds(args.warehouse)
    print(f"audit {seconds:.2f} s: {audit}")


if __name__ == "__main__":
    main()
