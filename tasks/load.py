"""The load as a Prefect task: one warehouse write at a time, across workers and machines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi.quality.gates import Quality
from huunghi.settings import DEFAULT_LOCK_WAIT_SECONDS
from huunghi.warehouse.write import LoadOutcome, RunInfo, publish

WRITE_LIMIT = "huunghi-warehouse-writes"  # a Prefect global concurrency limit: one warehouse write at a time


def write_slot(wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS):
    """Hold the global concurrency limit on warehouse writes, created with one slot if the server has none
    (an operator may raise it in the UI, e.g. for several warehouses on one server). The file lock in
    store.run_lock serializes runs on one machine; this limit holds across workers and machines that write
    one shared catalog (PostgreSQL)."""
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(WRITE_LIMIT)
        except ObjectNotFound:
            client.upsert_global_concurrency_limit_by_name(WRITE_LIMIT, 1)
    return concurrency(WRITE_LIMIT, occupy=1, timeout_seconds=wait_seconds, strict=True)


@task(name="load warehouse", retries=0, timeout_seconds=3600, cache_policy=NO_CACHE)  # never skipped
def load_run(
    root: Path, tables: dict[str, pa.Table], run: RunInfo, quality: Quality | None = None, dry_run: bool = False
) -> LoadOutcome:
    """Write, audit (the `warehouse` gate) and publish the run's tables as one snapshot, or nothing."""
    with write_slot():
        return publish(root, tables, run, lambda audit: (quality or Quality()).validate("warehouse", audit), dry_run)
