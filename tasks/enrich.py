"""Enrichment as a Prefect task: a batch of canonical articles through every enricher, on all cores."""

from __future__ import annotations

from collections import Counter
from functools import partial

from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi import parallel
from huunghi.enrich import TABLES
from huunghi.staging import Stage, enrich_parts


@task(name="enrich articles", cache_policy=NO_CACHE)
def enrich_batch(stage: Stage, part: str, here: bool = False) -> dict[str, int]:
    """The enrichers over a staged batch's canonical articles, piece by piece, each in a worker process (`here`: in
    this thread, a run too small for the workers, without a time limit); rows per table. A batch over its time
    limit stops the run: an article cannot be left out of a run that publishes it."""
    enrich = partial(enrich_parts, stage=stage)
    counts: Counter[str] = Counter()
    for (piece,) in parallel.map_chunks(enrich, stage.pieces("articles", part), parallel.batch_seconds(), each=True,
                                        here=here):  # fmt: skip
        counts.update(piece)
    return {table: counts[table] for table in TABLES}
