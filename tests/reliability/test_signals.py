"""SIGINT and SIGTERM at several points of `huunghi run` (issue 25): the command ends within 5 s with one line
and exit 130 / 143, and the warehouse holds either nothing of the run or all of it, as that line says.

The points are found by watching the run from outside: its worker pool busy cleaning; the warehouse write
slot held by it; its search index being written (the index's temporary copy); the index in place (what is
left is the run's summary and the exit).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from huunghi.corpus import generate
from huunghi.warehouse import store
from tests.reliability import HUUNGHI, REPO, environment
from tests.reliability.test_kills import cleaning, loading

pytestmark = pytest.mark.e2e
PAGES = 300


def indexing(run: subprocess.Popen, home: Path, root: Path) -> bool:
    return (root / f".search.duckdb.{run.pid}.tmp").exists()


def indexed(run: subprocess.Popen, home: Path, root: Path) -> bool:
    return (root / "search.duckdb").exists()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("signals"), PAGES, seed=67, formats=("html",))


def published(root: Path) -> tuple[int, int]:
    """(runs recorded, pages accounted for) in the warehouse; (0, 0) when nothing was ever committed to it."""
    if not store.has_catalog(root):
        return 0, 0
    con = store.connect(root, read_only=True)
    try:
        counts = store.row_counts(con)
    finally:
        con.close()
    return counts.get("runs", 0), counts.get("pages", 0)


CASES = [
    (signal.SIGINT, lambda run, home, root: cleaning(run, home)),
    (signal.SIGTERM, lambda run, home, root: cleaning(run, home)),
    (signal.SIGINT, lambda run, home, root: loading(run, home)),
    (signal.SIGINT, indexing),
    (signal.SIGTERM, indexing),
    (signal.SIGINT, indexed),
]
IDS = ["SIGINT cleaning", "SIGTERM cleaning", "SIGINT loading", "SIGINT indexing", "SIGTERM indexing",
       "SIGINT before the end"]  # fmt: skip


@pytest.mark.parametrize(("signum", "point"), CASES, ids=IDS)
def test_signal_ends_the_run(corpus, tmp_path, signum, point):
    home, root = tmp_path / "prefect", tmp_path / "wh"
    command = [str(HUUNGHI), "run", "-q", "--source", str(corpus), "--warehouse", str(root)]
    run = subprocess.Popen(command, env=environment(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, cwd=REPO)  # fmt: skip
    deadline = time.monotonic() + 300
    while run.poll() is None and not point(run, home, root) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert run.poll() is None, f"the run ended before the point was reached: {run.stderr.read()}"
    run.send_signal(signum)
    sent = time.monotonic()
    try:
        run.wait(timeout=30)
    finally:
        run.kill()
    seconds = time.monotonic() - sent
    lines = run.stderr.read().splitlines()
    assert run.returncode in (128 + signum, -signum), lines  # the shell shows both as 128 + signum
    assert seconds < 5, f"{seconds:.1f} s"
    assert len(lines) == 1, lines
    runs, pages = published(root)
    if "published" in lines[0] and "nothing" not in lines[0]:
        assert (runs, pages) == (1, PAGES), lines  # the whole run
    elif "all of the run or nothing of it" in lines[0]:  # a signal during the commit itself: either, never part
        assert (runs, pages) in ((0, 0), (1, PAGES)), lines
    else:
        assert runs == 0, lines  # nothing of it
