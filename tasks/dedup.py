"""Deduplication as a Prefect task: the whole run's cleaned pages against what the warehouse holds."""

from __future__ import annotations

from prefect import task

from huunghi.dedup.articles import DedupResult, DedupState, dedup
from huunghi.records import CleanedPage


@task(name="deduplicate", timeout_seconds=3600)
def dedup_articles(pages: list[CleanedPage], known: DedupState, run_id: str) -> DedupResult:
    """Ids, duplicate and near-duplicate articles, one row per story (one task: dedup needs the whole run)."""
    return dedup(pages, known, run_id)
