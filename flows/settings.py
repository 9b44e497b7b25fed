"""The parameters of a pipeline run, as one typed model: the Prefect UI renders it as a form (defaults and
descriptions below), the CLI and `huunghi serve` build it, and a bad value is refused before the run starts."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from tasks.reprocess import Selection

DEFAULT_BATCH_SIZE = 2000
DEFAULT_LOCK_WAIT = 900.0  # a daily run that finds the previous one still loading waits, then says why it stops


class RunSettings(BaseModel):
    """What one run reads, where it writes, and how strict its gates are."""

    sources: list[str] = Field(
        default_factory=list,
        description="Files, folders (.txt, .html, .htm, .warc, maybe .gz) and URLs (sitemaps, feeds, pages). "
        "Empty: the sources file if given, else the bundled corpus.",
    )
    sources_file: str | None = Field(
        None, description="A sources.toml naming the web sources of a daily run (see the README)."
    )
    warehouse: str | None = Field(
        None, description="Warehouse folder. Empty: $HUUNGHI_WAREHOUSE, else var/warehouse of the checkout."
    )
    since: date | None = Field(
        None, description="Only files modified on or after this day (web sources are always read whole)."
    )
    dry_run: bool = Field(
        False, description="Run every stage and gate, write the summary and Data Docs, publish nothing."
    )
    gate_strictness: Literal["strict", "lenient"] = Field(
        "strict",
        description="strict: a rate bound of a suite (e.g. more than 10% of pages without title) stops the run. "
        "lenient: rate bounds only warn; bad rows are still quarantined and broken invariants still stop.",
    )
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1, le=100_000, description="Pages per batch.")
    offline: bool = Field(False, description="Read web sources from the raw zone; fetch nothing.")
    allow_private: bool = Field(
        False, description="Let URL sources reach loopback or private addresses (tests, intranets)."
    )
    lock_wait_seconds: float = Field(
        DEFAULT_LOCK_WAIT, ge=0, description="How long to wait for another run on the same warehouse."
    )
    reprocess: Selection | None = Field(
        None, description="Instead of sources: read again the quarantined inputs this selects (after a fix)."
    )
