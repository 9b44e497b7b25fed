"""Both cores for the CPU-bound stages: map a function over contiguous chunks in worker processes.

Prefect tasks stay one per stage and batch; inside a task the work is spread here. Workers start from a
forkserver (never fork a process that runs Prefect's threads), which keeps their imports: a new pool's workers
start in milliseconds, so the run ends them (`shutdown`) whenever they would stand idle. Results come back in
input order, so chunking never changes the output.

A stage's time limit is enforced here, where it can be: a batch whose chunks are not all done within it
has the workers ended (a thread cannot be interrupted inside a parser; a process can), and each chunk left
undone gets the stage's `overdue` result instead (its pages quarantined as `timeout`), or StageTimeout.
Other batches that had chunks on those workers run them again on new ones. A batch too small for the
workers (under MIN_PARALLEL_ITEMS, or one worker) runs in the task's thread, without a limit.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from huunghi.settings import environment

T = TypeVar("T")
R = TypeVar("R")

MIN_PARALLEL_ITEMS = 64  # below this, starting workers costs more than it saves
# Imported once by the forkserver, so each worker starts warm instead of importing Prefect and friends.
PRELOAD = ["huunghi.readers", "huunghi.parsing.clean", "huunghi.enrich", "huunghi.staging"]
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_ended: list[ProcessPoolExecutor] = []  # pools ended for a batch over its limit (their other batches run again)
DEFAULT_BATCH_SECONDS = 3600.0


class StageTimeout(TimeoutError):
    """A batch of a stage that has no `overdue` result overran the stage's time limit."""


def batch_seconds() -> float:
    """The time limit of one batch of a CPU-bound stage: HUUNGHI_BATCH_SECONDS, default an hour."""
    return environment().batch_seconds or DEFAULT_BATCH_SECONDS


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


# Passed to the helper processes multiprocessing starts (it forwards sys.warnoptions): the resource tracker's
# note on semaphores left by workers that were killed (a batch over its limit, an interrupted run) is noise
# on the command's terminal, whose stderr it shares — the tracker removes them all the same.
_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            if _QUIET_TRACKER not in sys.warnoptions:
                sys.warnoptions.append(_QUIET_TRACKER)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _pool = ProcessPoolExecutor(
                max_workers=workers(), mp_context=context, initializer=start_worker,
                initargs=(os.getpid(), dict(os.environ)),
            )  # fmt: skip
            atexit.register(shutdown)
        return _pool


def _end(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers now, whatever they are inside of; the next batch starts new ones."""
    global _pool
    with _pool_lock:
        _ended.append(pool)
        if _pool is pool:
            _pool = None
    for process in list((pool._processes or {}).values()):  # the executor keeps no public list of them
        process.kill()  # the executor sees them die: every future of the pool fails with BrokenProcessPool
    # (no shutdown() here: after a kill, shutdown(cancel_futures=True) left futures that never completed)


def start_worker(pid: int, env: dict[str, str]) -> None:
    """A worker sees the run's environment as it is when the pool starts (HUUNGHI_CATALOG, HUUNGHI_DATA_PATH,
    the S3 keys: a worker asks the warehouse by key), not the forkserver's, which started with the first pool
    of the process; and ends with the run."""
    os.environ.clear()
    os.environ.update(env)
    exit_with(pid)


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


def worth_workers(items: int) -> bool:
    """Whether a run of this many pages is worth the workers' start (a forkserver and its imports: ~1 s)."""
    return workers() > 1 and items >= MIN_PARALLEL_ITEMS


def warm_up(items: int) -> None:
    """Start the workers now, in the background, so that the first stage does not wait for them; not for
    a run too small to use them."""
    if worth_workers(items):
        _get_pool().submit(int)


def shutdown() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(cancel_futures=True)


def chunks(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    size = max(1, -(-len(items) // parts))
    return [items[i : i + size] for i in range(0, len(items), size)]


def pieces(items: Sequence[T]) -> list[Sequence[T]]:
    """Contiguous chunks of items as `map_chunks` spreads them over the workers (several per worker, so a slow
    chunk does not hold the others up); one, the whole, when the items are too few for the workers."""
    n = workers()
    return [items] if n == 1 or len(items) < MIN_PARALLEL_ITEMS else chunks(items, n * 4)


def map_chunks(
    fn: Callable[[Sequence[T]], R],
    items: Sequence[T],
    limit: float | None = None,
    overdue: Callable[[Sequence[T]], R] | None = None,
    *,
    each: bool = False,
    here: bool = False,
) -> list[R]:
    """fn over chunks of items, in parallel when worth it; results in input order. With `limit` (seconds),
    the chunks not done by then are ended: `overdue(chunk)` stands for each one's result (StageTimeout
    without it). With `each`, every item is a chunk of its own (items that are batches already: staged parts);
    with `here` too, they run in this thread (the batches of a run too small for the workers: worth_workers)."""
    n = workers()
    if each:  # even one item goes to a worker: the caller runs several such calls at once, in threads
        if n == 1 or not items or here:
            return [fn([item]) for item in items]
        parts = [[item] for item in items]
    elif len(parts := pieces(items)) == 1:
        return [fn(items)]
    if limit is None:
        return list(_get_pool().map(fn, parts))
    deadline = time.monotonic() + limit
    results: dict[int, R] = {}
    while len(results) < len(parts):
        pool = _get_pool()
        try:
            futures: dict[Future, int] = {pool.submit(fn, parts[i]): i for i in range(len(parts)) if i not in results}
        except BrokenProcessPool:
            if pool not in _ended:
                raise
            continue  # ended by another batch meanwhile: a new pool
        done, late = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        for future in done:
            try:
                results[futures[future]] = future.result()
            except BrokenProcessPool:
                if pool not in _ended:  # a worker died on its own (a crash, the OOM killer): as before
                    raise
        if late:  # over the limit: end the workers; another batch's chunks on them run again (above)
            _end(pool)
            if overdue is None:
                raise StageTimeout(f"a batch was not done within its time limit of {limit:g} s")
            results.update((futures[future], overdue(parts[futures[future]])) for future in late)
    return [results[i] for i in range(len(parts))]
