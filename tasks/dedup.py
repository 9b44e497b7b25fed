"""Deduplication as a Prefect task: once the flow has decided every page's fate from the pages' keys
(flows/pipeline.py: deduplicate), each staged piece of a batch becomes its table rows in a worker process."""

from __future__ import annotations

from functools import partial

from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi import parallel
from huunghi.dedup.articles import StoryForms
from huunghi.staging import Stage, build_parts


# No Prefect timeout_seconds (it cannot interrupt a worker thread): the limit is enforced on the worker processes.
@task(name="build tables", cache_policy=NO_CACHE)
def build_batch(
    stage: Stage, part: str, duplicates: dict[str, str], excluded: set[str], run_id: str, here: bool = False
) -> dict:
    """A staged batch's dedup tables, written beside it piece by piece, each piece in a worker process
    (`duplicates`: the duplicates among its pages and their canonical articles; `here`: in this thread, a run too
    small for the workers); the forms of the batch's story titles (title key → StoryForms)."""
    build = partial(build_parts, stage=stage, excluded=excluded, run_id=run_id)
    pieces = [(piece, duplicates) for piece in stage.pieces("cleaned", part)]
    forms: dict[str, StoryForms] = {}
    for (built,) in parallel.map_chunks(build, pieces, parallel.batch_seconds(), each=True, here=here):
        for key, seen in built.items():
            forms.setdefault(key, StoryForms()).add(seen)
    return forms
