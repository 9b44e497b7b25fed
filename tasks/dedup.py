"""Deduplication as a Prefect task: the whole run's cleaned pages against what the warehouse holds."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi.dedup.articles import DedupResult, DedupState, dedup
from huunghi.records import CleanedPage


@task(name="deduplicate", timeout_seconds=3600, cache_policy=NO_CACHE)  # no key: hashing the run costs
def dedup_articles(pages: list[CleanedPage], known: DedupState, run_id: str) -> DedupResult:
    """Ids, duplicate and near-duplicate articles, one row per story (one task: dedup needs the whole run)."""
    return dedup(pages, known, run_id)
