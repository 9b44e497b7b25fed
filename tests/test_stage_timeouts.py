"""No time limit is claimed where it cannot act (issue 25): Prefect's `timeout_seconds` cannot interrupt a task
running in a worker thread (it warns on every such task run and fires only after the work is done), so the
batch tasks carry none: their limit is enforced on the worker processes (tests/reliability/test_batch_limits.py)."""

from __future__ import annotations

from huunghi.tasks.clean import clean_pages, read_and_clean_pages
from huunghi.tasks.enrich import enrich_articles


def test_batch_tasks_in_worker_threads_claim_no_timeout():
    assert read_and_clean_pages.timeout_seconds is None
    assert clean_pages.timeout_seconds is None
    assert enrich_articles.timeout_seconds is None
