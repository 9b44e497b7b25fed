"""Ingest and boilerplate removal as Prefect tasks: a batch of inputs read and cleaned, spread over all cores."""

from __future__ import annotations

from functools import partial

from prefect import task

from huunghi import parallel
from huunghi.firstpass import Input, read_and_clean
from huunghi.knowledge import NO_KNOWLEDGE, Knowledge
from huunghi.parsing.clean import Page, clean_chunk
from huunghi.records import CleanResult, FirstPass
from huunghi.tasks.caching import CACHE_EXPIRATION, inputs_key

# Cleaning is deterministic: the same inputs, knowledge and code give the same result, kept for a day.
CACHED = {"timeout_seconds": 3600, "cache_key_fn": inputs_key, "cache_expiration": CACHE_EXPIRATION,
          "persist_result": True}  # fmt: skip


@task(name="read and clean pages", retries=1, retry_delay_seconds=1, **CACHED)
def read_and_clean_pages(inputs: list[Input], known: Knowledge = NO_KNOWLEDGE) -> FirstPass:
    """Read a batch of page files (or pages fetched) and clean them with what earlier runs taught, each in the
    worker that read it; cached on the files (path, size, time) or pages' hashes, the knowledge and the code."""
    return FirstPass.merge(parallel.map_chunks(partial(read_and_clean, known=known), inputs))


@task(name="clean pages", retries=0, **CACHED)
def clean_pages(pages: list[Page], known: Knowledge = NO_KNOWLEDGE) -> CleanResult:
    """Clean a batch again (the second pass) with what the whole run learned, from the pages' prepared forms."""
    return CleanResult.merge(parallel.map_chunks(partial(clean_chunk, known=known), pages))
