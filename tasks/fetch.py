"""The crawl of a web source as a Prefect task, retried with backoff while pages fail transiently."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.runtime import task_run

from huunghi.crawl.crawl import crawl, replay
from huunghi.crawl.rawzone import RawZone
from huunghi.crawl.sources import Source
from huunghi.records import IngestResult
from huunghi.warehouse.frontier import reader


@task(name="crawl source")
def crawl_source(source: Source, zone_root: Path, run_id: str, warehouse_root: Path) -> IngestResult:
    """List and fetch one web source. The flow sets retries, backoff and timeout from the source's rules;
    what an earlier attempt of the same run settled is not fetched again. The frontier's order comes from
    the warehouse's published frontier rows."""
    logger = get_run_logger()
    attempt = task_run.run_count or 1
    return crawl(source, RawZone(zone_root), run_id, attempt, say=logger.info, published=reader(warehouse_root))


def replay_source(source: Source, zone_root: Path) -> IngestResult:
    """Offline: the source's pages as the raw zone last holds them, without any request."""
    return replay(source, RawZone(zone_root))
