"""A run killed while it holds the warehouse write slot does not block the runs after it.

Prefect counts the slot in its database and keeps the lease in the server's memory; with the command's
temporary server, a kill -9 took the lease away and left the count, so every later run waited its whole
timeout at "load" (900 s) and failed. Here a real process takes the slot through the same code as the
load and is killed with SIGKILL together with its server (a killed command alone lets its server stop
gracefully, which sometimes releases the slot: a race this test does not rely on); the next
`huunghi run` on the same PREFECT_HOME must complete at once, saying that it freed the slot of a dead run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from huunghi.corpus import generate
from tests.reliability import HUUNGHI, REPO, environment

HOLD_THE_SLOT = """
import time
from huunghi.flows.api import start_local_server
server = start_local_server()
server.hand_to_prefect(120)
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
    started = time.monotonic()
    done = subprocess.run(
        [str(HUUNGHI), "run", "--source", str(corpus), "--warehouse", str(tmp_path / "wh")],
        env=env, capture_output=True, text=True, timeout=240, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "freed the warehouse write slot held by a run that died" in done.stdout + done.stderr
    assert "run doomed" in done.stdout + done.stderr  # it names the dead holder
    assert time.monotonic() - started < 120  # no wait for a timeout (the slot's wait is 900 s)


def test_runs_one_after_another_never_free_a_live_slot(tmp_path):
    """The freeing is only for the dead: ordinary successive runs say nothing of it."""
    env = environment(tmp_path / "prefect")
    corpus = generate(tmp_path / "corpus", 4, seed=8)
    for _ in range(2):
        done = subprocess.run(
            [str(HUUNGHI), "run", "--source", str(corpus), "--warehouse", str(tmp_path / "wh"), "-q"],
            env=env, capture_output=True, text=True, timeout=240, cwd=REPO,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert "freed" not in done.stdout + done.stderr
