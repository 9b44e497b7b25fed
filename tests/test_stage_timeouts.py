"""No time limit is claimed where it cannot act (issue 25): Prefect's `timeout_seconds` cannot interrupt a task
running in a worker thread (it warns on every such task run and fires only after the work is done), so the
batch tasks carry none: their limit is enforced on the worker processes (tests/reliability/test_batch_limits.py)."""

from __future__ import annotations

from huunghi.tasks.clean import clean_again_and_stage, read_clean_and_stage
from huunghi.tasks.dedup import build_batch
from huunghi.tasks.enrich import enrich_batch


def test_batch_tasks_in_worker_threads_claim_no_timeout():
    for batch_task in (read_clean_and_stage, clean_again_and_stage, build_batch, enrich_batch):
        assert batch_task.timeout_seconds is None, batch_task.name
