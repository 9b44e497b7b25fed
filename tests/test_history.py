"""History: each run is one snapshot; the warehouse can be queried as it was after any earlier run."""

from __future__ import annotations

import json

import pytest

from huunghi.corpus import generate
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import store

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API


def sql(capsys, *args: str) -> list[dict]:
    assert main(["sql", "--format", "json", *args]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_query_as_of_an_earlier_run_and_what_a_run_added(tmp_path, capsys):
    root = str(tmp_path / "wh")
    first = pipeline(sources=[str(generate(tmp_path / "day1", 30, seed=3))], warehouse=root)
    second = pipeline(sources=[str(generate(tmp_path / "day2", 20, seed=4))], warehouse=root)
    count = "SELECT count(*) AS n FROM articles"
    assert sql(capsys, "--warehouse", root, count) == [{"n": 50}]
    assert sql(capsys, "--warehouse", root, "--at-run", first.run_id, count) == [{"n": 30}]
    runs = sql(capsys, "--warehouse", root, store.RUN_SNAPSHOTS)
    assert [r["run_id"] for r in runs] == [first.run_id, second.run_id]
    before, after = runs[0]["snapshot_id"], runs[1]["snapshot_id"]
    assert sql(capsys, "--warehouse", root, "--snapshot", str(before), count) == [{"n": 30}]
    added = sql(
        capsys, "--warehouse", root,
        f"SELECT change_type, count(*) AS n FROM wh.table_changes('articles', {after}, {after}) GROUP BY ALL",
    )  # fmt: skip
    assert added == [{"change_type": "insert", "n": 20}]


def test_earlier_snapshot_is_read_only_and_unknown_ones_are_refused(tmp_path, capsys):
    root = str(tmp_path / "wh")
    pipeline(sources=[str(generate(tmp_path / "c", 5, seed=3))], warehouse=root)
    assert main(["sql", "--warehouse", root, "--snapshot", "1", "DELETE FROM articles"]) == 2
    assert "only reads" in capsys.readouterr().err
    assert main(["sql", "--warehouse", root, "--snapshot", "9999", "SELECT 1"]) == 2
    assert "snapshot" in capsys.readouterr().err.lower()
    assert main(["sql", "--warehouse", root, "--at-run", "no-such-run", "SELECT 1"]) == 2
    assert "no run" in capsys.readouterr().err


def test_a_second_run_waits_for_the_first_then_says_why_it_stops(tmp_path):
    root = tmp_path / "wh"
    corpus = generate(tmp_path / "c", 5, seed=3)
    pipeline(sources=[str(corpus)], warehouse=str(root))
    before = store.row_counts(con := store.connect(root, read_only=True))
    con.close()
    busy = pytest.raises(store.WarehouseBusy, match=r"is busy: run in process \d+ since")
    with store.run_lock(root, 0), busy:  # held as a run in another process would hold it
        pipeline(sources=[str(corpus)], warehouse=str(root), lock_wait_seconds=0.5)
    con = store.connect(root, read_only=True)
    assert store.row_counts(con) == before  # the refused run wrote nothing, not even a runs row
    con.close()
    # Free again (the wait also bounds taking the write slot: a Prefect API call, slower than 0.5 s under load).
    pipeline(sources=[str(corpus)], warehouse=str(root), lock_wait_seconds=60)
