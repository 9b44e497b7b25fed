"""Ingest as a Prefect task: a batch of page files → raw pages (huunghi.readers)."""

from __future__ import annotations

from prefect import task

from huunghi import parallel
from huunghi.readers import read_named_files
from huunghi.records import IngestResult


@task(name="ingest pages", retries=2, retry_delay_seconds=1, timeout_seconds=3600)
def ingest_pages(paths: list[str]) -> IngestResult:
    """Read a batch of page files into raw pages, on every core: decompressing, decoding and normalizing
    an HTML page costs several times what shipping its text back from a worker does."""
    return IngestResult.merge(parallel.map_chunks(read_named_files, paths))
