"""`huunghi sql` acts on Ctrl-C at once, whenever it comes (warehouse/sandbox.py: `_answer`).

Python runs a signal's handler in the main thread, when that thread next runs bytecode. A Ctrl-C handled
just before the main thread blocks, or handled by another thread (the one reading the child's answers),
does not wake it: a main thread waiting for the query's answer in one piece slept on, silent, until the
query's time limit. The fresh-clone suite caught it (`test_ctrl_c_ends_the_query_at_once_with_one_line`
timed out once in a few runs); here the same case is made certain: the handler runs in another thread.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from huunghi.warehouse import sandbox

# A child that takes the request and never answers (a query that runs for minutes).
SILENT_CHILD = "import sys, time; sys.stdin.readline(); time.sleep(60)"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.usefixtures("ctrl_c_as_at_a_terminal")
def test_a_ctrl_c_handled_in_another_thread_stops_the_wait_at_once():
    # raise() in a thread delivers the signal to that thread: its C handler runs there, not in the main one
    ctrl_c = threading.Timer(0.5, signal.raise_signal, [signal.SIGINT])
    child = subprocess.Popen([sys.executable, "-c", SILENT_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        ctrl_c.start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            sandbox._answer(child, {}, timeout=60, memory=2**30)
        assert time.monotonic() - start < 5
    finally:
        ctrl_c.cancel()  # never a Ctrl-C into the next test
        ctrl_c.join()
        child.kill()
        child.wait(timeout=10)
        child.stdin.close()
        child.stdout.close()


def test_a_child_that_never_connects_is_given_up_after_the_connect_limit(monkeypatch):
    monkeypatch.setattr(sandbox, "CONNECT_SECONDS", 0.5)
    child = subprocess.Popen([sys.executable, "-c", SILENT_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        start = time.monotonic()
        with pytest.raises(sandbox.QueryFailed, match="did not connect"):
            sandbox._answer(child, {}, timeout=60, memory=2**30)
        assert time.monotonic() - start < 5
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdin.close()
        child.stdout.close()
