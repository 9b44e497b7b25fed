"""Stage time limits that act (issue 25): a batch over its limit has its worker processes ended and its
unfinished chunks replaced by the stage's `overdue` result; a batch that shared those workers runs its chunks
again on new ones. Through `huunghi run`: a page slow to clean ends in the quarantine as `timeout`, every other
input where it belongs, and the run goes on."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from huunghi import parallel
from huunghi.corpus import generate
from huunghi.warehouse import store
from tests.reliability import HUUNGHI, REPO, environment

pytestmark = pytest.mark.e2e  # starts and kills worker processes
STUCK = -1


def double(chunk: list[int]) -> list[int]:
    if STUCK in chunk:
        time.sleep(3600)  # a parser stuck in a page: nothing in the process can interrupt it
    return [2 * x for x in chunk]


def double_slowly(chunk: list[int]) -> list[int]:
    time.sleep(2)
    return double(chunk)


def timed_out(chunk: list[int]) -> list[str]:
    return ["timeout"] * len(chunk)


def test_a_batch_over_its_limit_is_ended_and_others_go_on():
    parallel.map_chunks(double, list(range(100)))  # the workers started (their boot is not what is timed)
    items = [*range(99), STUCK]
    started = time.monotonic()
    got = [x for part in parallel.map_chunks(double, items, 8, timed_out) for x in part]
    assert time.monotonic() - started < 60
    stuck = len(parallel.chunks(items, parallel.workers() * 4)[-1])
    assert got == [2 * x for x in items[:-stuck]] + ["timeout"] * stuck  # only the stuck chunk is replaced

    other: list = []  # a batch of 8 chunks of 2 s on the same workers, cut when they are ended
    neighbour = threading.Thread(target=lambda: other.extend(parallel.map_chunks(double_slowly, list(range(100)), 600)))
    neighbour.start()
    got = [x for part in parallel.map_chunks(double, items, 4, timed_out) for x in part]
    neighbour.join(timeout=300)
    assert got[-1] == "timeout" and all(x in (2 * i, "timeout") for i, x in enumerate(got[:-1]))
    assert [x for part in other for x in part] == [2 * x for x in range(100)]  # ran again where it was cut
    with pytest.raises(parallel.StageTimeout):
        parallel.map_chunks(double, items, 4)
    parallel.shutdown()


def test_a_page_slow_to_clean_is_quarantined_as_timeout(tmp_path):
    corpus = generate(tmp_path / "c", 80, seed=71, formats=("html",))  # enough pages for the worker pool
    # 98,000 lines, inside the parser's bound (100,000), of 17 words each: ~8 s to clean on an idle machine, twice the
    # limit (lines of 8 words took ~2.8 s on this kind of machine, under the limit when it was idle)
    slow = corpus / "slow.txt"
    words = "về hợp tác giữa hai tỉnh bạn bè thân thiết lâu năm cùng phát triển"
    slow.write_text("Tiêu đề\n\n" + "\n\n".join(f"Đoạn {i} {words} {i + 1}" for i in range(49_000)), "utf-8")
    inputs = sorted(p.as_uri() for p in [*corpus.rglob("*.html"), slow])
    env = {**environment(tmp_path / "prefect"), "HUUNGHI_BATCH_SECONDS": "4", "HUUNGHI_WORKERS": "2"}
    done = subprocess.run([str(HUUNGHI), "run", "-q", "--source", str(corpus), "--warehouse", str(tmp_path / "wh")],
                          env=env, capture_output=True, text=True, timeout=600, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    con = store.connect(tmp_path / "wh", read_only=True)
    try:
        ended = dict(con.execute("SELECT source_uri, outcome FROM pages").fetchall())
        quarantined = dict(con.execute("SELECT source_uri, reason FROM quarantine").fetchall())
    finally:
        con.close()
    assert quarantined.get(slow.resolve().as_uri()) == "timeout", (ended.get(slow.resolve().as_uri()), quarantined)
    assert sorted(ended) == inputs  # every input in exactly one place: one `pages` row each
    assert {u for u, outcome in ended.items() if outcome == "quarantine"} == set(quarantined)
