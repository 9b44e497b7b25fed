"""Ingest and boilerplate removal as Prefect tasks: a batch of inputs read and cleaned, spread over all cores."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from prefect import task

from huunghi import parallel
from huunghi.firstpass import Input, read_and_clean
from huunghi.knowledge import NO_KNOWLEDGE, Knowledge
from huunghi.parsing.clean import Page, clean_chunk
from huunghi.readers.files import absolute
from huunghi.records import CleanResult, FirstPass, Quarantined, RawPage
from huunghi.tasks.caching import CACHE_EXPIRATION, inputs_key
from huunghi.warehouse.reads import StoredKnowledge

# Cleaning is deterministic: the same inputs, knowledge and code give the same result, kept for a day.
# No Prefect timeout_seconds: the batches run in Prefect's worker threads, where its timeout cannot interrupt
# anything (it warns so on every batch); the limit is enforced on the worker processes (huunghi/parallel.py).
CACHED = {"cache_key_fn": inputs_key, "cache_expiration": CACHE_EXPIRATION, "persist_result": True}


def _why(limit: float) -> str:
    return f"not cleaned within the batch time limit of {limit:g} s (HUUNGHI_BATCH_SECONDS): its worker was ended"


def _timed_out_inputs(limit: float, inputs: Sequence[Input]) -> FirstPass:
    """Inputs whose chunk overran the limit: each one quarantined as `timeout`, named as its reader names it."""
    why = _why(limit)
    return FirstPass(unreadable=[Quarantined.of(item, "clean", "timeout", why) if isinstance(item, RawPage)
                                 else Quarantined(absolute(Path(item.path)).as_uri(), None, "clean", "timeout", why)
                                 for item in inputs])  # fmt: skip


def _timed_out_pages(limit: float, pages: Sequence[Page]) -> CleanResult:
    return CleanResult(quarantined=[Quarantined.of(page, "clean", "timeout", _why(limit)) for page, _ in pages])


@task(name="read and clean pages", retries=1, retry_delay_seconds=1, **CACHED)
def read_and_clean_pages(
    inputs: list[Input], known: Knowledge = NO_KNOWLEDGE, stored: StoredKnowledge | None = None
) -> FirstPass:
    """Read a batch of page files (or pages fetched) and clean them with what earlier runs taught (`stored`,
    asked by key in the workers), each in the worker that read it; cached on the files (path, size, time) or
    pages' hashes, the knowledge, the warehouse's snapshot and the code."""
    limit = parallel.batch_seconds()
    clean = partial(read_and_clean, known=known, stored=stored)
    return FirstPass.merge(parallel.map_chunks(clean, inputs, limit,
                                               partial(_timed_out_inputs, limit)))  # fmt: skip


@task(name="clean pages", retries=0, **CACHED)
def clean_pages(
    pages: list[Page], known: Knowledge = NO_KNOWLEDGE, stored: StoredKnowledge | None = None
) -> CleanResult:
    """Clean a batch again (the second pass) with what the whole run learned and what earlier runs taught
    (`stored`, asked by key), from the pages' prepared forms."""
    limit = parallel.batch_seconds()
    clean = partial(clean_chunk, known=known, stored=stored)
    return CleanResult.merge(parallel.map_chunks(clean, pages, limit,
                                                 partial(_timed_out_pages, limit)))  # fmt: skip
