"""The `huunghi sql` contract: formats, and a query can read the warehouse but never write anything."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API


@pytest.fixture(scope="module")
def warehouse(small_corpus, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("wh-cli")
    pipeline(sources=[str(small_corpus)], warehouse=str(root))
    return str(root)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def count_articles(warehouse: str, capsys) -> int:
    _, out, _ = run(capsys, "sql", "--warehouse", warehouse, "--format", "json", "SELECT count(*) AS n FROM articles")
    return json.loads(out)[0]["n"]


def test_json_is_one_array_of_objects(warehouse, capsys):
    code, out, _ = run(
        capsys,
        "sql",
        "--warehouse",
        warehouse,
        "--format",
        "json",
        "SELECT count(*) AS n, min(published_at) AS first FROM articles",
    )
    assert code == 0
    rows = json.loads(out)
    assert isinstance(rows, list) and rows[0]["n"] > 0 and rows[0]["first"].startswith("20")


def test_csv_has_a_header(warehouse, capsys):
    code, out, _ = run(
        capsys,
        "sql",
        "--warehouse",
        warehouse,
        "--format",
        "csv",
        "SELECT kind, count(*) AS n FROM paragraphs GROUP BY kind ORDER BY kind",
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["kind", "n"] and {r[0] for r in rows[1:]} == {"lead", "body", "caption"}


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM articles",
        "INSERT INTO runs SELECT * FROM runs",
        "COPY (SELECT * FROM articles) TO '/tmp/huunghi-leak.csv'",
        "SELECT 1; DELETE FROM articles",
        "SET threads = 1",
        "ATTACH '/tmp/huunghi-other.db' AS other",
    ],
)
def test_writes_and_outside_files_are_refused(warehouse, capsys, statement):
    before = count_articles(warehouse, capsys)
    code, _, err = run(capsys, "sql", "--warehouse", warehouse, statement)
    assert code == 2
    assert err.startswith("huunghi: error: `huunghi sql` only reads the warehouse")
    assert count_articles(warehouse, capsys) == before


def test_missing_warehouse_is_a_clear_error(tmp_path, capsys):
    code, _, err = run(capsys, "sql", "--warehouse", str(tmp_path / "nowhere"), "SELECT 1")
    assert code == 2 and "no warehouse at" in err


def test_run_refuses_missing_source_and_bad_warehouse_before_starting(tmp_path, capsys):
    code, _, err = run(capsys, "run", "--source", str(tmp_path / "missing"), "--warehouse", str(tmp_path / "wh"))
    assert code == 2 and err.strip() == f"huunghi: error: source not found: {tmp_path / 'missing'}"
    target = tmp_path / "a-file"
    target.write_text("x")
    code, _, err = run(capsys, "run", "--warehouse", str(target))
    assert code == 2 and "not a folder" in err


def test_times_are_shown_in_the_warehouse_time_zone(warehouse, capsys, monkeypatch):
    """Stored as instants; shown in Vietnam time by default (HUUNGHI_TIMEZONE), in sql and in search."""
    query = "SELECT published_at FROM articles WHERE published_at IS NOT NULL ORDER BY article_id LIMIT 1"
    _, out, _ = run(capsys, "sql", "--warehouse", warehouse, "--format", "json", query)
    local = json.loads(out)[0]["published_at"]
    assert local.endswith("+07:00")
    monkeypatch.setenv("HUUNGHI_TIMEZONE", "UTC")
    _, out, _ = run(capsys, "sql", "--warehouse", warehouse, "--format", "json", query)
    utc = json.loads(out)[0]["published_at"]
    assert utc.endswith("+00:00")
    assert datetime.fromisoformat(local) == datetime.fromisoformat(utc)  # the same instant
    monkeypatch.delenv("HUUNGHI_TIMEZONE")
    _, out, _ = run(capsys, "search", "--warehouse", warehouse, "--format", "json", "--limit", "1", "hop tac")
    assert json.loads(out)[0]["published_at"].endswith("+07:00")
