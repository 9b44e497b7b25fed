"""The Great Expectations gate at the end of each stage, as a Prefect task (the engine: huunghi.quality.gates)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi.quality.gates import GateOutcome, Quality, StagedRows


@task(name="quality gate", timeout_seconds=1800, cache_policy=NO_CACHE)  # a gate judges every run anew
def gate(quality: Quality, name: str, table: pa.Table | ds.Dataset | StagedRows) -> GateOutcome:
    """Validate a stage's output (in memory, or staged batch by batch) against expectations/<name>.json;
    GateFailed stops the run."""
    return quality.validate(name, table)
