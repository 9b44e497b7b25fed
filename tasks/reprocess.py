"""Reprocess: the quarantined inputs a selection names, ready to read again through the same flow."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger

from huunghi.crawl.sources import Source
from huunghi.readers.quarantined import plan_reprocess
from huunghi.records import IngestResult
from huunghi.settings import Selection
from huunghi.warehouse.reads import read_quarantined


def quarantined_inputs(
    root: Path, selection: Selection, allow_private: bool = False
) -> tuple[list[str], list[Source], IngestResult]:
    """(files to read again, web sources to fetch again, pages rebuilt from kept copies)."""
    files, sites, kept, lost = plan_reprocess(read_quarantined(root, selection), allow_private)
    if lost:
        get_run_logger().warning("%d quarantined input(s) can be neither read again nor rebuilt from a copy", lost)
    return files, sites, kept
