"""Memory a finished step freed, given back to the system.

CPython's allocator (glibc malloc) and Arrow's pool keep freed memory for reuse: a process's RSS stays at its
highest point, and memory one step freed is not there for DuckDB's allocator, or for another process. A run's
steps peak one after the other (gates, the load, the search index, a worker's batch), so without this their
peaks add up instead of taking turns.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache

import pyarrow as pa


@cache
def _malloc_trim() -> object | None:
    """glibc's malloc_trim, or None where there is none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release(collect: bool = False) -> None:
    """Return free memory to the system (well under a millisecond). `collect` first frees unreachable cycles with
    a full garbage collection: ~0.2 s in a run's flow process (its ~270,000 objects of Prefect, GX and pandas),
    so the flow's stages and gates, which free their tables by reference counting, do without it."""
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    if (trim := _malloc_trim()) is not None:
        trim(0)
