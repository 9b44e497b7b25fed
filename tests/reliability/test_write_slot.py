"""A run killed while it holds the warehouse write slot does not block the runs after it.

Prefect counts the slot in its database and keeps the lease in the server's memory; with the command's
temporary server, a kill -9 took the lease away and left the count, so every later run waited its whole
timeout at "load" (900 s) and failed. Here a real process takes the slot through the same code as the
load and is killed with SIGKILL together with its server (a killed command alone lets its server stop
gracefully, which sometimes releases the slot: a race this test does not rely on); the next
`huunghi run` on the same PREFECT_HOME must take the slot without waiting, saying that it freed the slot of a
dead run. "Without waiting" is read from what the run recorded in the holder file (the seconds it waited for
the slot), not from the run's wall time, which a loaded machine stretches past any fixed bound.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from huunghi.corpus import generate
from huunghi.tasks.load import HOLDER_FILE
from tests.reliability import HUUNGHI, REPO, environment

pytestmark = pytest.mark.e2e  # runs `huunghi`, holds the slot in a process with its own server, kills it

HOLD_THE_SLOT = """
import time
from huunghi.flows.api import start_local_server
server = start_local_server()
server.hand_to_prefect(300)
from prefect import flow
from huunghi.tasks.load import write_slot

@flow
def hold():
    with write_slot(run_id="doomed"):
        print("held", flush=True)
        time.sleep(600)

hold()
"""


def test_next_run_frees_the_slot_of_a_killed_run(tmp_path):
    env = environment(tmp_path / "prefect")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_SLOT], env=env, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
    finally:  # the run and its server together (an OOM kill, a crash): nothing gets to release the slot
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    corpus = generate(tmp_path / "corpus", 6, seed=4)
    # --lock-wait 60, well under the subprocess's timeout: were the freeing broken, the run would give up
    # waiting and fail here with its own message, not die on TimeoutExpired after the default 900 s wait.
    done = subprocess.run(
        [str(HUUNGHI), "run", "--source", str(corpus), "--warehouse", str(tmp_path / "wh"), "--lock-wait", "60"],
        env=env, capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    assert "freed the warehouse write slot held by a run that died" in output
    assert "run doomed" in output  # it names the dead holder
    assert "waiting up to" not in output
    record = json.loads((tmp_path / "prefect" / HOLDER_FILE).read_text())
    assert record["process"] != holder.pid and record["waited_seconds"] < 30  # no wait for a timeout (60 s)


def test_runs_one_after_another_never_free_a_live_slot(tmp_path):
    """The freeing is only for the dead: ordinary successive runs say nothing of it, and each records in the
    holder file that it gave the slot back (what tells a later run that no run died)."""
    env = environment(tmp_path / "prefect")
    corpus = generate(tmp_path / "corpus", 4, seed=8)
    for _ in range(2):
        done = subprocess.run(
            [str(HUUNGHI), "run", "--source", str(corpus), "--warehouse", str(tmp_path / "wh"), "-q"],
            env=env, capture_output=True, text=True, timeout=600, cwd=REPO,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert "a run that died" not in done.stdout + done.stderr
        assert "released" in json.loads((tmp_path / "prefect" / HOLDER_FILE).read_text())


def test_lock_wait_bounds_the_wait_for_a_slot_held_by_a_live_run(tmp_path):
    """--lock-wait reaches the load's wait for the write slot (it was always the 900 s default): with the slot
    held by a live run elsewhere, a run with --lock-wait 5 gives up after about 5 s, saying who holds it."""
    env = environment(tmp_path / "prefect")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_SLOT], env=env, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        corpus = generate(tmp_path / "corpus", 3, seed=5)
        started = time.monotonic()
        done = subprocess.run(
            [str(HUUNGHI), "run", "--source", str(corpus), "--warehouse", str(tmp_path / "wh"), "--lock-wait", "5"],
            env=env, capture_output=True, text=True, timeout=300, cwd=REPO,
        )  # fmt: skip
        took = time.monotonic() - started
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-2000:]
    assert "waiting up to 5 s for the warehouse write slot" in output
    assert "the warehouse write slot stayed held for 5 s" in output and "run doomed" in output
    assert took < 150, f"{took:.0f} s"  # a run of 3 pages plus the 5 s wait, not 900 s (generous: loaded machine)


LOAD_THEN_LOSE_THE_RELEASE = """
from huunghi.flows.api import start_local_server
server = start_local_server()
server.hand_to_prefect(300)
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from huunghi.tasks.load import WRITE_LIMIT, write_slot

@flow
def load(run_id: str):
    with write_slot(run_id=run_id):
        pass

load("clean")  # takes the slot, gives it back through Prefect, ends: no run dies here
with get_client(sync_client=True) as client:  # the count Prefect sometimes kept after such a release
    client.update_global_concurrency_limit(WRITE_LIMIT, GlobalConcurrencyLimitUpdate(active_slots=1))
load("next")
"""


def test_a_slot_count_left_after_a_clean_release_is_not_blamed_on_a_dead_run(tmp_path):
    """Once in ~25 sequential runs, a run said it "freed the warehouse write slot held by a run that died"
    though no run died: the slot's count had outlived a clean release. The next load still frees it (nobody
    holds it), and says what happened: the holder file records that its last holder released it."""
    done = subprocess.run([sys.executable, "-c", LOAD_THEN_LOSE_THE_RELEASE], env=environment(tmp_path / "prefect"),
                          capture_output=True, text=True, timeout=600, cwd=REPO)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-2000:]
    assert "a run that died" not in output
    assert "reset the warehouse write slot" in output and "no run died" in output and "run clean" in output
    record = json.loads((tmp_path / "prefect" / HOLDER_FILE).read_text())
    assert record["run"] == "next" and "released" in record
