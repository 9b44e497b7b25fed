"""Enrichment as a Prefect task: a batch of canonical articles through every enricher, on all cores."""

from __future__ import annotations

import pyarrow as pa
from prefect import task

from huunghi import parallel
from huunghi.enrich import ENRICHERS, REFERENCE_TABLE, enrich_chunk, reference_rows
from huunghi.records import ArticleText
from huunghi.tasks.caching import CACHE_EXPIRATION, inputs_key
from huunghi.warehouse.schema import build, from_rows


def merge(parts: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Batches in input order; the reference table (the gazetteer's) is the same in every part."""
    if not parts:
        return enrich_articles.fn([])
    tables = {e.table: pa.concat_tables([p[e.table] for p in parts]) for e in ENRICHERS}
    return {REFERENCE_TABLE: parts[0][REFERENCE_TABLE], **tables}


# No Prefect timeout_seconds: the batches run in Prefect's worker threads, where its timeout cannot interrupt
# anything (it warns so on every batch). The limit is enforced on the worker processes (huunghi/parallel.py):
# an article cannot be left out of a run that publishes it, so a batch over the limit stops the run.
@task(
    name="enrich articles",
    cache_key_fn=inputs_key,
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
)
def enrich_articles(articles: list[ArticleText]) -> dict[str, pa.Table]:
    """Every enricher's table for a batch, plus the entities they point at, by warehouse table name.

    Workers get only what they read (ArticleText), not whole records: shipping less to them is what
    makes the second core pay off.
    """
    parts = parallel.map_chunks(enrich_chunk, articles, parallel.batch_seconds())
    tables = {e.table: from_rows(e.table, [row for part in parts for row in part[e.table]]) for e in ENRICHERS}
    return {REFERENCE_TABLE: build(REFERENCE_TABLE, reference_rows()), **tables}
