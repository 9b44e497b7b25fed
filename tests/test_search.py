"""Full-text search: accent-insensitive, BM25 as DuckDB's fts computes it, kept up to date by each run."""

from __future__ import annotations

import json

import duckdb
import pytest

from huunghi.corpus import generate, generate_page
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import search
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


def test_from_sql_with_the_same_scores_as_fts(warehouse, capsys):
    root, _ = warehouse
    rows = run_json(
        capsys, "sql", "--warehouse", str(root),
        "SELECT article_id, score FROM search.search_articles('quang tri hop tac') LIMIT 20",
    )  # fmt: skip
    con = duckdb.connect(str(root / search.INDEX_FILE), read_only=True)
    search._load_fts(con)
    expected = con.execute(
        "SELECT article_id, fts_main_docs.match_bm25(article_id, 'quang tri hop tac') AS score FROM docs "
        "WHERE score IS NOT NULL ORDER BY score DESC, article_id LIMIT 20"
    ).fetchall()
    con.close()
    assert [(r["article_id"], pytest.approx(r["score"])) for r in rows] == expected


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
