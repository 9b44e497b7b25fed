"""Both cores for the CPU-bound stages: map a function over contiguous chunks in worker processes.

Prefect tasks stay one per stage and batch; inside a task the work is spread here. Workers start from a
forkserver (never fork a process that runs Prefect's threads) and live for the whole run. Results come
back in input order, so chunking never changes the output.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from huunghi.settings import environment

T = TypeVar("T")
R = TypeVar("R")

_MIN_PARALLEL_ITEMS = 64  # below this, starting workers costs more than it saves
# Imported once by the forkserver, so each worker starts warm instead of importing Prefect and friends.
PRELOAD = ["huunghi.readers", "huunghi.parsing.clean", "huunghi.enrich"]
_pool: ProcessPoolExecutor | None = None


def workers() -> int:
    """HUUNGHI_WORKERS, or one worker per core; one inside a Dask worker (Dask spreads the batches)."""
    if _in_dask_worker():
        return 1
    return max(1, environment().workers or os.cpu_count() or 1)


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:  # never imported: not in a Dask worker (and no 0.4 s import to ask)
        return False
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _pool = ProcessPoolExecutor(
            max_workers=workers(), mp_context=context, initializer=exit_with, initargs=(os.getpid(),)
        )
        atexit.register(shutdown)
    return _pool


def exit_with(pid: int, every: float = 0.5) -> None:
    """End this worker soon after process `pid` (the run) is gone, however it went: a run killed with
    SIGKILL runs no clean-up, and its workers would otherwise go on holding their memory. The workers'
    parent is the forkserver, not the run, so a parent-death signal cannot tell; a watching thread can."""

    def watch() -> None:
        while True:
            time.sleep(every)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive, under another user (a reused pid would be; good enough)
                pass

    threading.Thread(target=watch, name="exit-with-run", daemon=True).start()


def warm_up(items: int) -> None:
    """Start the workers now, in the background, so that the first stage does not wait for them; not for
    a run too small to use them."""
    if workers() > 1 and items >= _MIN_PARALLEL_ITEMS:
        _get_pool().submit(int)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None


def chunks(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    size = max(1, -(-len(items) // parts))
    return [items[i : i + size] for i in range(0, len(items), size)]


def map_chunks(fn: Callable[[Sequence[T]], R], items: Sequence[T]) -> list[R]:
    """fn over chunks of items, in parallel when worth it; results in input order."""
    n = workers()
    if n == 1 or len(items) < _MIN_PARALLEL_ITEMS:
        return [fn(items)]
    return list(_get_pool().map(fn, chunks(items, n * 4)))
