"""Full-text search: accent-insensitive, BM25 as DuckDB's fts computes it, updated by each run with what changed."""

from __future__ import annotations

import json

import duckdb
import duckdb_extensions
import pytest

from huunghi.corpus import generate, generate_page
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import search, store
from tests.test_relations import TEASER_PAGE

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API

MINE_CLEARANCE = TEASER_PAGE.replace(
    "Nghệ An và Xiêng Khoảng ký kết biên bản ghi nhớ hợp tác giai đoạn 2024 - 2028",
    "Quảng Trị và Savannakhet phối hợp rà phá bom mìn, vật nổ sau chiến tranh",
)


def run_json(capsys, *args: str) -> list[dict]:
    assert main([*args, "--format", "json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    corpus = generate(tmp / "corpus", 60, seed=21)
    (corpus / "bom-min.txt").write_text(MINE_CLEARANCE, "utf-8")
    root = tmp / "wh"
    pipeline(sources=[str(corpus)], warehouse=str(root))
    return root, tmp


def test_accent_insensitive_and_ranked(warehouse, capsys):
    root, _ = warehouse
    for query in ("ra pha bom min", "rà phá bom mìn", "RA PHA BOM MIN"):
        hits = run_json(capsys, "search", "--warehouse", str(root), query)
        assert hits[0]["title"] == "Quảng Trị và Savannakhet phối hợp rà phá bom mìn, vật nổ sau chiến tranh"
        assert hits[0]["terms"] == 4 and all(h["score"] <= hits[0]["score"] for h in hits)
    assert run_json(capsys, "search", "--warehouse", str(root), "dang bo") != []  # "đ" folds to "d"


def fts_scores(root, query: str, limit: int = 20) -> list[tuple]:
    """What DuckDB's fts extension scores over the same canonical articles, folded the same way."""
    source = store.connect(root, read_only=True)
    articles = source.execute(
        "SELECT article_id, concat_ws(' ', title, lead, body) AS text FROM articles WHERE duplicate_of IS NULL"
    ).arrow()
    source.close()
    con = duckdb.connect()
    duckdb_extensions.import_extension("fts", con=con)
    con.execute("LOAD fts")
    con.register("new_articles", articles)
    fold = "strip_accents(lower(replace(replace(text, 'đ', 'd'), 'Đ', 'D')))"
    con.execute(f"CREATE TABLE docs AS SELECT article_id, {fold} AS text FROM new_articles")
    con.execute("PRAGMA create_fts_index('docs', 'article_id', 'text', stemmer='none', stopwords='none')")
    rows = con.execute(
        "SELECT article_id, fts_main_docs.match_bm25(article_id, ?) AS score FROM docs "
        "WHERE score IS NOT NULL ORDER BY score DESC, article_id LIMIT ?", [query, limit]
    ).fetchall()  # fmt: skip
    con.close()
    return rows


def index_tables(path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    tables = {
        "docs": con.execute("SELECT article_id, title, published_at, len, version FROM docs ORDER BY ALL").fetchall(),
        "postings": con.execute("SELECT term, article_id, tf FROM postings ORDER BY ALL").fetchall(),
    }
    con.close()
    return tables


def test_from_sql_with_the_same_scores_as_fts(warehouse, capsys):
    root, _ = warehouse
    for query in ("quang tri hop tac", "ra pha bom min", "dang bo tinh 2024"):
        rows = run_json(
            capsys, "sql", "--warehouse", str(root),
            f"SELECT article_id, score FROM search.search_articles('{query}') LIMIT 20",
        )  # fmt: skip
        expected = fts_scores(root, query)
        assert expected and [(r["article_id"], pytest.approx(r["score"])) for r in rows] == expected


def test_each_run_updates_the_index(warehouse, capsys):
    root, tmp = warehouse
    extra = tmp / "day2"
    extra.mkdir()
    page = generate_page(99, 1)
    (extra / "new.txt").write_text(
        page.text.replace(page.truth["title"], "Khánh thành nhà máy thủy điện Xê Ca Man 3"), "utf-8"
    )
    before = search.indexed_snapshot(root)
    pipeline(sources=[str(extra)], warehouse=str(root))
    assert search.indexed_snapshot(root) > before
    hits = run_json(capsys, "search", "--warehouse", str(root), "thuy dien xe ca man")
    assert hits[0]["title"] == "Khánh thành nhà máy thủy điện Xê Ca Man 3"


def test_the_update_indexes_only_what_changed_and_equals_a_rebuild(warehouse, tmp_path):
    root, tmp = warehouse
    corpus = tmp / "corpus"
    edited = corpus / "bom-min.txt"
    edited.write_text(edited.read_text("utf-8").replace("rà phá bom mìn", "tháo gỡ bom mìn"), "utf-8")
    day3 = tmp_path / "day3"
    day3.mkdir()
    (day3 / "another.txt").write_text(generate_page(7, 3).text, "utf-8")
    (day3 / "copy.txt").write_text(sorted(corpus.glob("*.txt"))[0].read_text("utf-8"), "utf-8")
    pipeline(sources=[str(corpus), str(day3)], warehouse=str(root))
    con = duckdb.connect(str(root / search.INDEX_FILE), read_only=True)
    assert con.execute("SELECT docs_added, docs_removed FROM index_info").fetchone() == (2, 1)  # edited, new
    con.close()
    source = store.connect(root, read_only=True)
    canonical = source.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NULL").fetchone()[0]
    source.close()
    assert search.update_index(root) == search.IndexUpdate(search.indexed_snapshot(root), 0, 0, canonical)
    incremental = index_tables(root / search.INDEX_FILE)
    search.build_index(root)
    assert index_tables(root / search.INDEX_FILE) == incremental
    with pytest.MonkeyPatch.context() as patch:  # articles tokenized a few at a time: the same index
        patch.setattr(search, "CHUNK", 3)
        search.build_index(root)
    assert index_tables(root / search.INDEX_FILE) == incremental
    hits = search.search(root, "thao go bom min")
    assert hits[0][1] == "Quảng Trị và Savannakhet phối hợp tháo gỡ bom mìn, vật nổ sau chiến tranh"
    assert hits[0][4] == 4 and search.search(root, "ra pha")[0][0] != hits[0][0]  # the old text is gone


def test_an_index_of_the_old_format_is_rebuilt(warehouse):
    root, _ = warehouse
    old = root / search.INDEX_FILE
    old.unlink()
    con = duckdb.connect(str(old))
    con.execute("CREATE TABLE index_info AS SELECT 5 AS snapshot_id, now() AS built_at")  # fts-era file
    con.close()
    assert search.indexed_snapshot(root) is None
    update = search.update_index(root)
    assert update.added == update.total > 0 and search.indexed_snapshot(root) == update.snapshot_id
