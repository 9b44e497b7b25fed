"""Boilerplate removal as a Prefect task: a batch of raw pages, spread over all cores."""

from __future__ import annotations

from functools import partial

from prefect import task

from huunghi import parallel
from huunghi.knowledge import NO_KNOWLEDGE, Knowledge
from huunghi.parsing.clean import clean_chunk
from huunghi.records import CleanResult, RawPage
from huunghi.tasks.caching import CACHE_EXPIRATION, inputs_key


@task(
    name="clean pages",
    retries=0,
    timeout_seconds=3600,
    cache_key_fn=inputs_key,
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
)
def clean_pages(pages: list[RawPage], known: Knowledge = NO_KNOWLEDGE) -> CleanResult:
    """Clean a batch with what earlier pages taught; cached on the pages' hashes, the knowledge and the code."""
    return CleanResult.merge(parallel.map_chunks(partial(clean_chunk, known=known), pages))
