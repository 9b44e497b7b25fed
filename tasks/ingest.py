"""Ingest: sources (files and folders) → raw pages. Reading is bounded and never trusts the input.

A page that cannot be read as text (too large, binary, not UTF-8, empty) is quarantined with the
reason, so that every input is accounted for.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import task

from huunghi.records import Quarantined, RawPage
from huunghi.text import normalize_text

PAGE_SUFFIXES = {".txt": "text"}
MAX_PAGE_BYTES = 20 * 1024 * 1024


class SourceError(ValueError):
    """A source the user named does not exist or cannot be read at all."""


@dataclass
class IngestResult:
    pages: list[RawPage] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


def discover(sources: list[str | Path]) -> list[Path]:
    """Page files under the sources, sorted, each once. A folder is read recursively."""
    found: set[Path] = set()
    for source in sources:
        path = Path(source).expanduser()
        if not path.exists():
            raise SourceError(f"source not found: {source}")
        if path.is_dir():
            found.update(
                p.resolve()
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES and not p.name.startswith(".")
            )
        elif path.is_file():
            found.add(path.resolve())
        else:
            raise SourceError(f"source is neither a file nor a folder: {source}")
    return sorted(found)


def _decode(data: bytes) -> str | None:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; None when the bytes are not text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def read_page(path: Path) -> RawPage | Quarantined:
    uri = path.resolve().as_uri()
    try:
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            return Quarantined(uri, None, "ingest", "too_large", f"{size} bytes > limit {MAX_PAGE_BYTES}")
        data = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError as exc:
        return Quarantined(uri, None, "ingest", "unreadable", f"{type(exc).__name__}: {exc}")
    digest = hashlib.sha256(data).hexdigest()
    text = _decode(data)
    if text is None:
        return Quarantined(uri, digest, "ingest", "not_text", "bytes are not UTF-8 or BOM-marked UTF-16", data)
    if "\x00" in text:
        return Quarantined(uri, digest, "ingest", "not_text", "NUL characters: binary data", data)
    text = normalize_text(text)
    if not text.strip():
        return Quarantined(uri, digest, "ingest", "empty", "the page has no text", data)
    fmt = PAGE_SUFFIXES.get(path.suffix.lower(), "text")
    return RawPage(uri, digest, mtime, fmt, size, text)


def read_chunk(paths: Sequence[Path]) -> IngestResult:
    result = IngestResult()
    for path in paths:
        page = read_page(path)
        (result.quarantined if isinstance(page, Quarantined) else result.pages).append(page)
    return result


@task(name="ingest pages", retries=2, retry_delay_seconds=1)
def ingest_pages(paths: list[Path]) -> IngestResult:
    """Read a batch of page files into raw pages.

    In the main process: hashing and normalizing a page costs about what shipping its text back from a
    worker would (measured: 1.90 s here vs 2.03 s on two workers for 6,000 pages).
    """
    return read_chunk(paths)
