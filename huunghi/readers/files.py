"""Page files: text saved by a browser (.txt) and HTML (.html, .htm, .xhtml), gzip-compressed or not.

Reading never trusts the input: sizes are bounded (gzip bombs included), what is not a regular file (a FIFO,
a device such as /dev/zero, a socket, or a link to one) is quarantined as `not_a_file` without being read,
formats that are not pages (PDF, images, archives: data/file_signatures.csv) are recognized by their leading
bytes, and bytes are decoded the way browsers do (huunghi.readers.decode). What cannot be read is a
`Quarantined` with its reason.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import stat
import zlib
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO

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


class NotAFile(OSError):
    """The path is a FIFO, a device, a socket or a link to one: reading it could hang or never end."""


def _kind_of_node(mode: int) -> str | None:
    """What a file system node is when it is neither a regular file nor a folder; None when it is one of those."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))  # fmt: skip
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def _describe(path: Path, what: str) -> str:
    link = f"a link to {os.readlink(path)!r}, " if path.is_symlink() else ""
    return f"{link}{what}: not a file, not read"


def not_a_file(path: Path, uri: str) -> Quarantined | None:
    """The quarantine entry of a FIFO, device or socket (or a link to one), found without opening it; None for
    regular files, folders and paths that cannot be looked at (their reader says why)."""
    try:
        what = _kind_of_node(os.stat(path).st_mode)  # follows links: what a reader would open
    except OSError:
        return None
    return Quarantined(uri, None, "ingest", "not_a_file", _describe(path, what)) if what else None


def open_regular(path: Path) -> BinaryIO:
    """The file opened for reading, only if it is a regular file. Non-blocking, so that a FIFO put in its place
    after it was looked at cannot hang the open; checked again on the open descriptor (NotAFile)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(f"{path}: {_describe(path, _kind_of_node(mode) or 'a folder')}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: Path, limit: int) -> bytes:
    """At most limit + 1 bytes of a regular file: a file that grew since its size was checked stays bounded."""
    with open_regular(path) as f:
        return f.read(limit + 1)


def _read_bytes(path: Path, uri: str) -> bytes | Quarantined:
    """The file's bytes, gunzipped when named .gz; never more than MAX_PAGE_BYTES (gzip bombs included). A FIFO,
    device or socket is quarantined without being opened."""
    try:
        if path.is_dir():
            listing = f"a folder that cannot be listed: {_listing_error(path)}"
            return Quarantined(uri, None, "ingest", "unreadable", listing)
        if special := not_a_file(path, uri):
            return special
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            return Quarantined(
                uri, None, "ingest", "too_large", f"{size} bytes > limit {MAX_PAGE_BYTES} (too large to keep a copy)"
            )
        if not path.name.lower().endswith(".gz"):
            data = read_capped(path, MAX_PAGE_BYTES)
        else:
            with open_regular(path) as raw, gzip.open(raw, "rb") as f:
                data = f.read(MAX_PAGE_BYTES + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        return Quarantined(uri, None, "ingest", "bad_gzip", f"{type(exc).__name__}: {exc}", kept_copy(path))
    except NotAFile as exc:  # swapped for a FIFO or a device between the look and the open
        return Quarantined(uri, None, "ingest", "not_a_file", str(exc))
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
        data = read_capped(path, MAX_PAGE_BYTES)
    except OSError:
        return None
    return data if len(data) <= MAX_PAGE_BYTES else None


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
    """The file's real path; for a link that leads nowhere (broken, or a loop) or to something that is not a
    file (/dev/zero, a FIFO), the link's own path: the quarantine names what the user put in the folder."""
    try:
        real = path.resolve(strict=True)
        if _kind_of_node(os.stat(real).st_mode) is None:
            return real
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a symlink loop
        pass
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
