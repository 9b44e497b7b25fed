"""Deduplication as a Prefect task: the whole run's cleaned pages against what the warehouse holds."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi.dedup.articles import DedupResult, DedupState, dedup
from huunghi.records import CleanedPage


# No cache key: hashing the whole run's pages costs more than it saves.
@task(name="deduplicate", task_run_name="deduplicate", timeout_seconds=3600, cache_policy=NO_CACHE)
def dedup_articles(pages: list[CleanedPage], known: DedupState, run_id: str) -> DedupResult:
    """Ids, duplicate and near-duplicate articles, one row per story (one task: dedup needs the whole run)."""
    return dedup(pages, known, run_id)
