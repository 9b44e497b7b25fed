"""Page files: text saved by a browser (.txt) and HTML (.html, .htm, .xhtml), gzip-compressed or not.

Reading never trusts the input: sizes are bounded (gzip bombs included), formats that are not pages (PDF,
images, archives: data/file_signatures.csv) are recognized by their leading bytes, and bytes are decoded
the way browsers do (huunghi.readers.decode). What cannot be read is a `Quarantined` with its reason.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import zlib
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

from huunghi.readers.decode import decode
from huunghi.records import Quarantined, RawPage
from huunghi.text import normalize_text

MAX_PAGE_BYTES = 20 * 1024 * 1024


@cache
def _signatures() -> tuple[tuple[bytes, str], ...]:
    """Leading bytes of formats that are not pages (PDF, images, archives), from data/file_signatures.csv."""
    with resources.files("huunghi").joinpath("data/file_signatures.csv").open(encoding="utf-8") as table:
        return tuple((bytes.fromhex(row["magic_hex"]), row["what"]) for row in csv.DictReader(table))


def not_a_page(data: bytes) -> str | None:
    head = data[:16].lstrip()
    return next((what for magic, what in _signatures() if head.startswith(magic)), None)


def _read_bytes(path: Path, uri: str) -> bytes | Quarantined:
    """The file's bytes, gunzipped when named .gz; never more than MAX_PAGE_BYTES (gzip bombs included)."""
    try:
        if path.is_dir():
            listing = f"a folder that cannot be listed: {_listing_error(path)}"
            return Quarantined(uri, None, "ingest", "unreadable", listing)
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            return Quarantined(
                uri, None, "ingest", "too_large", f"{size} bytes > limit {MAX_PAGE_BYTES} (too large to keep a copy)"
            )
        if not path.name.lower().endswith(".gz"):
            return path.read_bytes()
        with gzip.open(path, "rb") as f:
            data = f.read(MAX_PAGE_BYTES + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        return Quarantined(uri, None, "ingest", "bad_gzip", f"{type(exc).__name__}: {exc}", kept_copy(path))
    except OSError as exc:
        link = f"a link to {os.readlink(path)!r} that leads nowhere: " if path.is_symlink() else ""
        return Quarantined(uri, None, "ingest", "unreadable", f"{link}{type(exc).__name__}: {exc}")
    if len(data) > MAX_PAGE_BYTES:
        return Quarantined(
            uri, None, "ingest", "too_large", f"over {MAX_PAGE_BYTES} bytes once decompressed", kept_copy(path)
        )
    return data


def _listing_error(path: Path) -> str:
    try:
        os.listdir(path)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "it was not listed"


def kept_copy(path: Path) -> bytes | None:
    """The file's bytes as they are on disk (compressed if so), for the quarantine; None when too large."""
    try:
        return path.read_bytes() if path.stat().st_size <= MAX_PAGE_BYTES else None
    except OSError:
        return None


def page_from_bytes(
    uri: str, data: bytes, fmt: str, fetched_at: datetime, url: str | None = None, charset: str | None = None
) -> RawPage | Quarantined:
    """Decode one page's bytes: BOM, HTTP charset, <meta> (HTML), UTF-8, else Windows-1258 (huunghi.readers.decode)."""
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return Quarantined(uri, digest, "ingest", "empty", "the input has no content", data)
    if what := not_a_page(data):
        return Quarantined(uri, digest, "ingest", "not_text", f"{what}, not a page", data)
    text, _ = decode(data, charset, markup=fmt == "html")
    if "\x00" in text:
        return Quarantined(uri, digest, "ingest", "not_text", "NUL characters: binary data", data)
    text = normalize_text(text)
    if not text.strip():
        return Quarantined(uri, digest, "ingest", "empty", "the page has no text", data)
    return RawPage(uri, digest, fetched_at, "html" if fmt == "html" else "text", len(data), text, url)


def absolute(path: Path) -> Path:
    """The file's real path; for a link that leads nowhere (broken, or a loop), the link's own path."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a symlink loop
        return Path(os.path.abspath(path))


def read_page(path: Path, fmt: str) -> RawPage | Quarantined:
    """One page file (text or HTML, maybe gzipped)."""
    uri = absolute(path).as_uri()
    data = _read_bytes(path, uri)
    if isinstance(data, Quarantined):
        return data
    try:
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError as exc:
        return Quarantined(uri, None, "ingest", "unreadable", f"{type(exc).__name__}: {exc}")
    return page_from_bytes(uri, data, fmt, mtime)


class PageFileReader:
    """One page per file, as text or as HTML."""

    def __init__(self, kind: str, suffixes: tuple[str, ...]) -> None:
        self.kind = kind
        self.suffixes = suffixes

    def read(self, path: Path) -> list[RawPage | Quarantined]:
        return [read_page(path, self.kind)]
