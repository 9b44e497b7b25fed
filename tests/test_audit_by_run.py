"""The load audits its own run (issue 26): the rules of warehouse/audit.sql over the rows the run wrote or
removed and the rows that refer to them, so its cost follows the run, not the warehouse; `huunghi doctor`
audits the warehouse as a whole. Warehouses are simulated (flows/history.py) and runs hand-built: a run
rewrites a few stored articles (new raw bytes), as a changed page does."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from huunghi.flows import history
from huunghi.warehouse import doctor, store, write
from huunghi.warehouse.schema import build

N = 200
Rows = dict[str, list[dict]]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audit") / "wh"
    history.build(root, N)
    return root


@pytest.fixture
def warehouse(simulated, tmp_path) -> Path:
    """A copy per test (a warehouse folder copied whole reads its own data/)."""
    return Path(shutil.copytree(simulated, tmp_path / "wh"))


def _ids(con: duckdb.DuckDBPyConnection, k: int) -> list[str]:
    """k canonical articles with a mention, one of them duplicated by other stored articles."""
    return [
        r[0]
        for r in con.execute(f"""
        SELECT article_id FROM articles a WHERE duplicate_of IS NULL
           AND article_id IN (SELECT article_id FROM mentions)
        ORDER BY article_id IN (SELECT duplicate_of FROM articles) DESC, article_id LIMIT {int(k)}""").fetchall()
    ]


def _rewrite_rows(con: duckdb.DuckDBPyConnection, ids: list[str]) -> Rows:
    """The rows of a run that reads these articles again with new raw bytes: their stored rows, their pages
    and stories; the other tables empty."""
    con.register("ids", pa.table({"article_id": pa.array(ids, pa.string())}))
    rows: Rows = {name: [] for name in write.RUN_TABLES}
    for name in (*write.PER_ARTICLE, "pages"):
        rows[name] = (
            con.execute(f"SELECT * FROM {name} WHERE article_id IN (SELECT article_id FROM ids)")
            .to_arrow_table()
            .to_pylist()
        )
    rows["stories"] = (
        con.execute("""SELECT * FROM stories WHERE story_id IN
        (SELECT story_id FROM story_appearances WHERE article_id IN (SELECT article_id FROM ids))""")
        .to_arrow_table()
        .to_pylist()
    )
    for article in rows["articles"]:
        article["sha256"] = "0" * 64
    return rows


def _tables(rows: Rows) -> dict[str, pa.Table]:
    return {name: build(name, rows[name]) for name in write.RUN_TABLES}


def _audit_of_run(root: Path, plant: Callable[[Rows], None] = lambda rows: None, k: int = 3) -> dict[str, int]:
    """The counts the load's audit gives a rewrite of k stored articles, `plant` changing its rows first
    (a dry run: nothing is published)."""
    con = store.connect(root, read_only=True)
    try:
        rows = _rewrite_rows(con, _ids(con, k))
    finally:
        con.close()
    plant(rows)
    seen: list[dict] = []
    run = write.RunInfo("run-audited", None, datetime.now(UTC))
    write.publish(root, _tables(rows), run, audit=lambda t: seen.append(t.to_pylist()[0]), dry_run=True)
    return {name: n for name, n in seen[0].items() if name != "run_id" and n}


def _plant_old_breaks(root: Path) -> None:
    """Inconsistencies an old run or a hand edit left, committed: a paragraph of no article and a mention
    off its text, both of articles no run here touches."""
    con = store.connect(root, read_only=False)
    try:
        con.execute("""INSERT INTO paragraphs BY NAME
                       SELECT * REPLACE ('ffffffffffffffff' AS article_id) FROM paragraphs LIMIT 1""")
        con.execute("""UPDATE mentions SET surface = surface || ' (edited)' WHERE article_id =
                       (SELECT max(article_id) FROM mentions)""")
    finally:
        con.close()


def _first(rows: list[dict], article_id: str) -> dict:
    return next(r for r in rows if r["article_id"] == article_id)


def _plant_new_breaks(rows: Rows) -> None:
    """Five breaks, each in one rewritten article: the first (stored duplicates point at it) becomes a
    duplicate of the second; a mention off its text; a body dropped (with the mentions pointing into it); an
    appearance of a story nowhere stored; a page of an article nowhere stored."""
    ids = [a["article_id"] for a in rows["articles"]]
    rows["articles"][0]["duplicate_of"] = ids[1]
    _first(rows["mentions"], ids[2])["surface"] += "x"
    rows["paragraphs"] = [p for p in rows["paragraphs"] if p["article_id"] != ids[3] or p["kind"] != "body"]
    rows["mentions"] = [m for m in rows["mentions"] if m["article_id"] != ids[3]]
    _first(rows["story_appearances"], ids[4])["story_id"] = "no-such-story"
    _first(rows["pages"], ids[4])["article_id"] = "no-such-article"


def test_the_runs_audit_catches_what_the_run_breaks_and_only_that(warehouse) -> None:
    """Older breaks (planted and committed first) are doctor's to find; the run's audit counts its own,
    a stored duplicate pointing at an article the run turned into a duplicate included."""
    _plant_old_breaks(warehouse)
    con = store.connect(warehouse, read_only=True)
    try:
        (pointing,) = con.execute("SELECT count(*) FROM articles WHERE duplicate_of = ?", _ids(con, 1)).fetchone()
    finally:
        con.close()
    assert pointing > 0
    assert _audit_of_run(warehouse, _plant_new_breaks, k=5) == {
        "duplicates_of_missing_articles": pointing,
        "mentions_off_their_text": 1,
        "canonical_articles_without_body": 1,
        "appearances_without_story": 1,
        "pages_without_their_article": 1,
    }


def test_a_row_written_outside_the_runs_keys_is_audited(warehouse, monkeypatch) -> None:
    """A bug that inserts a row of an article the run never named: the rows the transaction inserted are
    the run's too."""
    original = write.write_run

    def buggy(con, tables):
        out = original(con, tables)
        con.execute(
            "INSERT INTO mentions BY NAME SELECT * REPLACE ('eeeeeeeeeeeeeeee' AS article_id) FROM mentions LIMIT 1"
        )
        return out

    monkeypatch.setattr(write, "write_run", buggy)
    assert _audit_of_run(warehouse) == {"mentions_off_their_text": 1}


@pytest.mark.slow
def test_doctor_audits_the_whole_warehouse_and_a_run_still_loads(warehouse) -> None:
    _plant_old_breaks(warehouse)
    run = write.RunInfo("run-after-old-breaks", None, datetime.now(UTC))
    con = store.connect(warehouse, read_only=True)
    try:
        tables = _tables(_rewrite_rows(con, _ids(con, 3)))
    finally:
        con.close()

    def refuse(counts: pa.Table) -> None:
        broken = {k: v for k, v in counts.to_pylist()[0].items() if k != "run_id" and v}
        assert not broken, broken

    assert write.publish(warehouse, tables, run, audit=refuse).snapshot is not None
    [rules] = [f for f in doctor.examine(warehouse) if f.check == "warehouse rules"]
    assert rules.status == "problem"
    assert rules.detail == "paragraphs_without_article: 1 rows, mentions_off_their_text: 1 rows"


def _rows_above_the_scans(root: Path, k: int = 3) -> dict[str, int]:
    """Per scope, the rows every operator of the audit's queries handles, the table scans left out (they read
    the key columns of a table whole: DuckLake has no index), for a rewrite of k stored articles."""
    con = store.connect(root, read_only=False)
    try:
        tables = _tables(_rewrite_rows(con, _ids(con, k)))
        con.execute("BEGIN TRANSACTION")
        write.write_run(con, tables)
        write.run_keys(con, "run-profiled")
        con.execute("PRAGMA enable_profiling = 'no_output'")
        con.execute("""SET custom_profiling_settings = '{"OPERATOR_CARDINALITY": "true", "OPERATOR_TYPE": "true"}'""")
        rows = {}
        for scope in ("run", "warehouse"):
            rows[scope] = 0
            for _, query in store.audit_queries(scope):
                con.execute(query).fetchall()
                rows[scope] += _cardinality(json.loads(con.get_profiling_information(format="json")))
        con.execute("ROLLBACK")
        return rows
    finally:
        con.close()


def _cardinality(node: dict) -> int:
    own = node.get("operator_cardinality", 0) if node.get("operator_type") != "TABLE_SCAN" else 0
    return own + sum(_cardinality(child) for child in node.get("children", []))


@pytest.mark.slow
def test_the_runs_audit_works_on_the_runs_rows_whatever_the_warehouse_holds(warehouse, tmp_path) -> None:
    """Rows counted, not seconds: a warehouse 4 times larger shows the growth plainly (an audit of the whole
    warehouse in the run's scope would handle ~4 times the rows) at a fraction of the build time of 10 times."""
    big = tmp_path / "big"
    history.build(big, 4 * N)
    small, large = _rows_above_the_scans(warehouse), _rows_above_the_scans(big)
    assert large["warehouse"] > 3 * small["warehouse"]  # the whole warehouse's audit grows with it
    assert large["run"] < 1.5 * small["run"] and large["run"] < large["warehouse"] / 5, (small, large)


@pytest.mark.slow
def test_the_runs_audit_grows_with_the_run_not_faster(warehouse) -> None:
    """Ten times the run's articles, about ten times the rows the audit handles. A correlated NOT EXISTS over a
    CTE of the run's rows was planned, inside the load's transaction, as a join of that CTE with itself: the
    rows grew with the square of the run (a 20,000-page run's load was killed by the OOM killer at 22 GB)."""
    small, large = _rows_above_the_scans(warehouse, 6)["run"], _rows_above_the_scans(warehouse, 60)["run"]
    assert large < 20 * small, (small, large)
