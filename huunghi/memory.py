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
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb


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


@contextmanager
def bounded_duckdb(memory: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection for one step's set work beside the run's other processes: within `memory`
    (it spills beyond, to a private folder removed afterwards), on one thread (the workers have the cores)."""
    import duckdb  # not at import: the command that starts a run imports this module before it needs DuckDB

    with tempfile.TemporaryDirectory(prefix="huunghi-duckdb-step-") as spill:
        con = duckdb.connect(config={"memory_limit": memory, "temp_directory": spill, "threads": 1})
        try:
            yield con
        finally:
            con.close()
