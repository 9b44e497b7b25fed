"""Great Expectations in a process of its own, for a command that starts a fresh Python for each run.

Importing Great Expectations costs ~2 s of one core. In `huunghi run` it came at the first gate, on the run's
critical path (a 3-page run: ~9 s, a fifth of it this import). The command starts this helper first thing
instead: it imports Great Expectations on the other core while the command imports Prefect, and the run's
gates and Data Docs are done there (huunghi/quality/gates.py sends them when `running()`). Its pandas frames
are held there too, not in the flow's process.

A process that lives on (a served deployment, a notebook, the tests) imports Great Expectations once and
validates in-process: nothing here is started. The helper ignores Ctrl-C (the command decides), ends with
the command (`stop`, at exit, or within a second of it dying however it died), and every call has a deadline.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from huunghi.memory import release
from huunghi.parallel import _QUIET_TRACKER

R = TypeVar("R")

CALL_SECONDS = 1800.0  # one gate: as long as a gate task may take (tasks/gates.py)
DOCS_SECONDS = 600.0  # the Data Docs of a run
WAKE_SECONDS = 0.1  # the caller's wait is cut in slices, so that a signal's handler runs at once (interrupts.py)

_helper: ProcessPoolExecutor | None = None
_lock = threading.Lock()


class HelperFailed(RuntimeError):
    """The helper process died or overran its deadline: the gate has no verdict, the run stops."""


def start() -> None:
    """Start the helper now, in the background (a fresh interpreter: never a fork of a process that runs
    Prefect's threads); it imports Great Expectations while the caller goes on."""
    global _helper
    with _lock:
        if _helper is not None:
            return
        if _QUIET_TRACKER not in sys.warnoptions:  # the helper is killed at the end: its semaphore is noise
            sys.warnoptions.append(_QUIET_TRACKER)
        context = multiprocessing.get_context("spawn")
        _helper = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_prepare, initargs=(os.getpid(),))
        with _ctrl_c_ignored():  # from its first instruction: a Ctrl-C is the command's (the helper inherits this)
            _helper.submit(int)  # the process starts on the first call
        atexit.register(stop)


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set a handler
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def running() -> bool:
    return _helper is not None


def call(function: Callable[..., R], *args: Any, deadline: float = CALL_SECONDS) -> R:
    """`function(*args)` in the helper; its exception is raised here as it was there."""
    with _lock:
        helper = _helper
    if helper is None:
        raise HelperFailed("the Great Expectations helper is not running")
    try:
        future = helper.submit(function, *args)
    except BrokenProcessPool as exc:  # it died while idle, or could not start (its stderr says why)
        stop()
        raise HelperFailed(f"the Great Expectations helper process has died ({exc})") from exc
    end = time.monotonic() + deadline
    try:
        while not future.done():
            if time.monotonic() > end:
                raise HelperFailed(f"the Great Expectations helper did not answer within {deadline:.0f} s: stopped")
            wait([future], timeout=WAKE_SECONDS, return_when=FIRST_COMPLETED)
    except BaseException:  # the deadline, Ctrl-C, a task's timeout: a call given up on ends the helper with it
        stop()
        raise
    try:
        result = future.result()
    except BrokenProcessPool as exc:
        stop()
        raise HelperFailed(f"the Great Expectations helper process died during a call ({exc})") from exc
    with suppress(BrokenProcessPool, RuntimeError):  # not waited for: the helper does it while the run goes on
        helper.submit(release)  # what the call freed (a gate's pandas frames) given back, as the flow's stages do
    return result


def stop() -> None:
    """End the helper now, whatever it is doing (a gate's verdict is not waited for past this point)."""
    global _helper
    with _lock:
        helper, _helper = _helper, None
    if helper is None:
        return
    for process in list((helper._processes or {}).values()):  # the executor keeps no public list of them
        process.kill()
    helper.shutdown(wait=False, cancel_futures=True)


def _prepare(parent: int) -> None:
    """In the helper: leave Ctrl-C to the command, end with it, and import Great Expectations now."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent,), name="end-with-command", daemon=True).start()
    from huunghi.quality.gates import preload

    preload()


def _end_with(parent: int, every: float = 0.5) -> None:
    """End soon after the command is gone, however it went (a kill -9 runs no clean-up): the helper is its child,
    and is handed to another parent when it dies (asking whether its pid lives would see a zombie not reaped)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)
