"""kill -9 of `huunghi run` at several points, with its real (temporary) Prefect server: the next run on
the same PREFECT_HOME completes without waiting, and the warehouse ends as an uninterrupted run leaves it.

The points are found by watching the run from outside, as an operator would see it: its worker pool
busy cleaning; the warehouse write slot held by it (the holder file in PREFECT_HOME names its process).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from huunghi.corpus import generate
from huunghi.warehouse import store
from tests.reliability import HUUNGHI, REPO, environment
from tests.reliability.test_orphan_processes import pool

HOLDER = "huunghi-write-slot.json"  # tasks/load.py: who holds the write slot


def command(corpus: Path, root: Path) -> list[str]:
    return [str(HUUNGHI), "run", "-q", "--source", str(corpus), "--warehouse", str(root)]


def cleaning(run: subprocess.Popen, home: Path) -> bool:
    return len(pool(run.pid)) >= 2  # the forkserver and its workers


def loading(run: subprocess.Popen, home: Path) -> bool:
    try:
        return json.loads((home / HOLDER).read_text()).get("process") == run.pid
    except (OSError, ValueError):
        return False


def contents(root: Path) -> dict[str, object]:
    """What a run leaves, without run ids and times: every table's row count but `runs`, the articles."""
    con = store.connect(root, read_only=True)
    try:
        counts = {t: n for t, n in store.row_counts(con).items() if t != "runs"}
        articles = con.execute("SELECT article_id, content_hash, duplicate_of FROM articles ORDER BY 1").fetchall()
    finally:
        con.close()
    return {"counts": counts, "articles": articles}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("kills"), 900, seed=61, formats=("html",))


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("reference")
    done = subprocess.run(command(corpus, base / "wh"), env=environment(base / "prefect"), capture_output=True,
                          text=True, timeout=600, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return contents(base / "wh")


@pytest.mark.parametrize("point", [cleaning, loading], ids=["while cleaning", "while holding the write slot"])
def test_kill_then_rerun(corpus, reference, tmp_path, point):
    home, root = tmp_path / "prefect", tmp_path / "wh"
    env = environment(home)
    run = subprocess.Popen(command(corpus, root), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           cwd=REPO)  # fmt: skip
    deadline = time.monotonic() + 300
    while run.poll() is None and not point(run, home) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert run.poll() is None, "the run ended before the point was reached"
    run.send_signal(signal.SIGKILL)
    run.wait()
    started = time.monotonic()
    again = subprocess.run(command(corpus, root), env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert again.returncode == 0, again.stderr[-3000:]
    assert time.monotonic() - started < 240  # no timeout waited out (the slot's wait is 900 s)
    assert contents(root) == reference
