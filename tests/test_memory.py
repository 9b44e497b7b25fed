"""A run's stages give back the memory they freed (huunghi/memory.py): without it a process's RSS stays at its
highest point, and the peaks of the stages, of DuckDB and of the worker processes add up."""

from __future__ import annotations

import ctypes.util
import sys

import pytest

from huunghi import memory
from huunghi.progress import Stopwatch


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(sys.platform != "linux" or not ctypes.util.find_library("c"), reason="glibc's malloc_trim")
def test_memory_a_step_freed_goes_back_to_the_system():
    blocks = [bytes(2000) for _ in range(100_000)]  # 200 MB from malloc (past pymalloc's small objects)
    kept = blocks[::100]  # a few live blocks all along the heap: it cannot just shrink from its top
    del blocks
    before = _rss()
    memory.release()
    assert before - _rss() > 100 * 2**20
    assert len(kept) == 1000


def test_a_run_releases_memory_at_the_end_of_each_stage_and_gate():
    calls: list[str] = []
    watch = Stopwatch(after=lambda: calls.append("release"))
    with watch("dedup"):
        with watch("gates"):
            calls.append("gate")
        calls.append("dedup")
    assert calls == ["gate", "release", "dedup", "release"]


def test_the_flow_gives_memory_back_without_a_full_garbage_collection():
    """A full collection costs ~0.2 s in a run's flow process, after each of ~20 stages and gates: a 3-page run
    took 4 s longer. The workers' release after a batch collects."""
    import gc

    generations: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        memory.release()
        assert 2 not in generations
        memory.release(collect=True)
        assert 2 in generations
    finally:
        gc.callbacks.remove(seen)
