"""Every setting and default of huunghi, in one place.

Two kinds of settings:

- `Environment`: where things live and how many workers, from `HUUNGHI_*` environment variables (one
  validated class; a bad value is refused with its variable's name).
- `RunSettings`: the parameters of one pipeline run. The Prefect UI renders it as a form (the defaults
  and descriptions below), the CLI and `huunghi serve` build it, and a bad value is refused before the
  run starts.

Nothing is written into the install location: a source checkout (the package next to its
`pyproject.toml`, as `make` installs it) keeps its state in `<checkout>/var/`; an installed package uses
the user's data and cache folders (`$XDG_DATA_HOME/huunghi`, `$XDG_CACHE_HOME/huunghi`).
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BATCH_SIZE = 2000
DEFAULT_LOCK_WAIT_SECONDS = 900.0  # a daily run that finds the previous one still loading waits, then says why
DAILY_CRON = "0 6 * * *"
DEFAULT_STALE_AFTER_DAYS = 3  # the site publishes daily: three days without a new article means something broke
DEFAULT_QUERY_SECONDS = 300.0  # `huunghi sql`: an analyst's heavy query finishes, a runaway one ends
DEFAULT_QUERY_MEMORY_SHARE = 0.5  # of the machine's memory: a daily run on the same machine keeps the other half
# DuckDB's buffers in a run's own connections (reads, load, search index): it spills past this, instead of taking
# DuckDB's default 80 % of the machine beside the run's worker processes. A fixed size, not a share of the machine:
# with 25 % (6 GB here) the load and the search index kept buffers in proportion to the run (the flow process at
# 3.0 GB in a 200,000-page load), so the run's memory followed its size; past the limit DuckDB spills or evicts.
DEFAULT_RUN_DUCKDB_MEMORY = "512MB"  # 1 GB: the load of 200,000 bench pages peaked 420 MB higher, 1.5 s faster
TIMEZONE = "Asia/Ho_Chi_Minh"  # the site publishes in Vietnam time; the daily run follows it
# Set by the command to the API URL of the local Prefect server it started or found (huunghi.flows.api): a server
# of this machine's PREFECT_HOME, whose concurrency leases the write slot's file lock can vouch for.
TEMPORARY_SERVER_VARIABLE = "HUUNGHI_TEMPORARY_SERVER"


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*|%)\s*", re.IGNORECASE)


def machine_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parse_memory(text: str) -> int:
    """`2GB`, `512MiB`, `25%` (of the machine's memory) → bytes; ValueError with the reason otherwise."""
    m = _SIZE.fullmatch(text)
    unit = m.group(2).lower() if m else ""
    if not m or (unit != "%" and unit not in _UNITS):
        raise ValueError(f"not a memory size: {text!r} (e.g. 4GB, 512MiB, 25%)")
    amount = float(m.group(1))
    size = int(machine_memory() * amount / 100) if unit == "%" else int(amount * _UNITS[unit])
    if size < 16 * 2**20:
        raise ValueError(f"{text!r} is less than 16 MiB, too little for any query")
    return size


class Environment(BaseSettings):
    """Settings read from the environment (`HUUNGHI_` + the field name, upper case)."""

    model_config = SettingsConfigDict(env_prefix="HUUNGHI_", extra="ignore")

    warehouse: Path | None = Field(None, description="Warehouse folder (default: see state_dir()).")
    cache_dir: Path | None = Field(None, description="Generated corpora, bench and eval work folders.")
    workers: int | None = Field(None, ge=1, description="Worker processes (default: one per core).")
    batch_seconds: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Time limit of one clean or enrich batch (default 3600 s)."
    )
    dask_address: str | None = Field(None, description="`local` or a Dask scheduler address: batches on Dask.")
    catalog: str | None = Field(None, description="DuckLake catalog elsewhere, e.g. `postgres:dbname=…`.")
    data_path: str | None = Field(None, description="Where the Parquet data files live (a shared path, or s3://…).")
    # S3-compatible storage for HUUNGHI_DATA_PATH=s3://…: the standard AWS variables, or HUUNGHI_S3_* first.
    s3_endpoint: str | None = Field(
        None,
        validation_alias=AliasChoices("HUUNGHI_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
        description="An S3-compatible server's URL, e.g. http://minio.internal:9000 (default: AWS S3).",
    )
    s3_region: str | None = Field(
        None, validation_alias=AliasChoices("HUUNGHI_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
    )
    s3_key_id: str | None = Field(None, validation_alias=AliasChoices("HUUNGHI_S3_KEY_ID", "AWS_ACCESS_KEY_ID"))
    s3_secret: SecretStr | None = Field(  # SecretStr: never shown by repr, logs or errors
        None, validation_alias=AliasChoices("HUUNGHI_S3_SECRET", "AWS_SECRET_ACCESS_KEY")
    )
    s3_session_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("HUUNGHI_S3_SESSION_TOKEN", "AWS_SESSION_TOKEN")
    )
    s3_read_key_id: str | None = Field(
        None, description="`huunghi sql` and `huunghi search` on S3: a key that can only read the data path."
    )
    s3_read_secret: SecretStr | None = Field(None, description="The secret of HUUNGHI_S3_READ_KEY_ID.")
    s3_url_style: Literal["path", "vhost"] | None = Field(
        None, description="path (the default with an endpoint: MinIO, moto, Ceph) or vhost (AWS's default)."
    )
    timezone: str = Field(TIMEZONE, description="The time zone `huunghi sql` and `huunghi search` show times in.")
    duckdb_memory: str = Field(
        DEFAULT_RUN_DUCKDB_MEMORY,
        description="DuckDB's memory in a run's connections (e.g. 2GB, 25%): past it, DuckDB spills to a temp folder.",
    )

    @field_validator("duckdb_memory")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        parse_memory(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Ho_Chi_Minh, UTC)") from exc
        return value


def environment() -> Environment:
    """The environment as it is now (read on every call: tests and `huunghi serve` change it)."""
    return Environment()


@cache
def checkout() -> Path | None:
    """The source checkout this package runs from (editable install), or None for an installed package."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "flows").is_dir() else None


def state_dir() -> Path:
    """Where a run keeps what it writes by default: `<checkout>/var`, else the user's data folder."""
    if (root := checkout()) is not None:
        return root / "var"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "huunghi"


def cache_dir() -> Path:
    """Generated corpora (the bundled one included), bench and eval work: rebuilt when missing."""
    if (configured := environment().cache_dir) is not None:
        return configured.expanduser()
    if (root := checkout()) is not None:
        return root / "var"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huunghi"


def default_warehouse() -> Path:
    """HUUNGHI_WAREHOUSE, else `warehouse` in the state folder."""
    return (environment().warehouse or state_dir() / "warehouse").expanduser()


class Selection(BaseModel):
    """Which quarantined inputs to read again (all by default); conditions combine with AND."""

    reason: str | None = Field(None, description="only this reason, e.g. no_title or http_500")
    stage: str | None = Field(None, description="only this stage: ingest, discover, fetch or clean")
    run_id: str | None = Field(None, description="only what this run quarantined")
    source_contains: str | None = Field(None, description="only sources whose URI contains this text")


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
        DEFAULT_LOCK_WAIT_SECONDS, ge=0, description="How long to wait for another run on the same warehouse."
    )
    reprocess: Selection | None = Field(
        None, description="Instead of sources: read again the quarantined inputs this selects (after a fix)."
    )
    stale_after_days: int = Field(
        DEFAULT_STALE_AFTER_DAYS,
        ge=1,
        le=3650,
        description="Warn (log, summary, the run's state) when the warehouse got no new or changed article "
        "for this many days, though it has been run for longer.",
    )
