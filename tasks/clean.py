"""Ingest and boilerplate removal as Prefect tasks: a batch of inputs read and cleaned, spread over all cores."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi import parallel
from huunghi.firstpass import Input, read_and_clean
from huunghi.knowledge import NO_KNOWLEDGE, Knowledge
from huunghi.parsing.clean import Page, clean_chunk
from huunghi.readers.files import absolute
from huunghi.records import CleanResult, FirstPass, PageSummary, Quarantined, RawPage, StagedPass
from huunghi.staging import Stage, stage_first_pass, stage_second_pass
from huunghi.tasks.caching import digest
from huunghi.warehouse.reads import StoredKnowledge

# No Prefect timeout_seconds: the batches run in Prefect's worker threads, where its timeout cannot interrupt
# anything (it warns so on every batch); the limit is enforced on the worker processes (huunghi/parallel.py).


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


def clean_pages(
    pages: list[Page], known: Knowledge = NO_KNOWLEDGE, stored: StoredKnowledge | None = None
) -> CleanResult:
    """Clean a batch again (the second pass) with what the whole run learned and what earlier runs taught
    (`stored`, asked by key), from the pages' prepared forms."""
    limit = parallel.batch_seconds()
    clean = partial(clean_chunk, known=known, stored=stored)
    return CleanResult.merge(parallel.map_chunks(clean, pages, limit,
                                                 partial(_timed_out_pages, limit)))  # fmt: skip


# Cleaning is deterministic: the same inputs, knowledge and code give the same batch. A staged batch is kept
# for reuse (huunghi/staging.py: Stage.remember) until a run publishes, so a run retried after a failure in a later
# stage does not clean its batches again.
@task(name="read, clean and stage pages", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def read_clean_and_stage(
    inputs: list[Input], stage: Stage, part: str, stored: StoredKnowledge | None = None
) -> StagedPass:
    """Read and clean a batch (as `read_and_clean_pages`), then stage it: the flow gets a summary of each page.
    A batch staged before from the same inputs (each file's path, size and modification time, or the pages'
    hashes), the same warehouse snapshot and the same code is reused."""
    key = digest("read_clean_and_stage", inputs, stored)
    if (reused := stage.reuse(key, part)) is not None:
        return reused
    staged = stage_first_pass(stage, part, read_and_clean_pages(inputs, NO_KNOWLEDGE, stored))
    stage.remember(key, part)
    return staged


@task(name="clean again and stage", retries=0, cache_policy=NO_CACHE)
def clean_again_and_stage(
    stage: Stage, part: str, known: Knowledge, stored: StoredKnowledge | None, drop: set[str]
) -> tuple[list[PageSummary], list[Quarantined]]:
    """The second pass of a staged batch: its kept pages parsed again with what the whole run learned."""
    kept = [(page, prepared) for page, prepared in stage.kept(part) if page.source_uri not in drop]
    again = clean_pages(kept, known, stored) if kept else CleanResult()
    return stage_second_pass(stage, part, again, drop)
