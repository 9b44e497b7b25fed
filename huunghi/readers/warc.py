"""Web archives (WARC, WARC.gz) read with warcio: the HTML pages they hold.

Common Crawl and `wget --warc-file` write `response` records (an HTTP response: status, headers,
payload); browser archivers often write `resource` records (the document alone). Both are pages when
they carry HTML. Requests, metadata, warcinfo, revisits (payload stored elsewhere) and non-HTML
payloads (images, scripts, styles) and redirects are not pages. An HTML error response (404, 500) is an input that
cannot be an article: it is reported with a problem so that ingest quarantines it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from huunghi.readers.files import (
    MAX_PAGE_BYTES,
    NotAFile,
    absolute,
    kept_copy,
    not_a_file,
    open_regular,
    page_from_bytes,
)
from huunghi.records import Quarantined, RawPage

HTML_TYPES = ("text/html", "application/xhtml+xml")
WARC_TYPES = frozenset(
    ["warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation"]
)


class BadArchive(ValueError):
    """The file is not a readable WARC (or is cut short)."""


@dataclass
class ArchivedPage:
    record_id: str
    url: str | None
    date: datetime
    payload: bytes
    charset: str | None
    problem: str | None = None  # http_<status> or too_large: the page cannot become an article
    details: str = ""


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None


def _date(value: str | None) -> datetime:
    try:
        return datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def pages(path: Path, max_bytes: int) -> Iterator[ArchivedPage]:
    """The HTML pages of one archive, in archive order. Raises BadArchive when the file is not a WARC."""
    archive = None
    try:
        records = 0
        with open_regular(path) as stream:
            archive = ArchiveIterator(stream)
            for record in archive:
                offset = archive.offset  # (get_record_offset() would read the record to its end)
                records += record.rec_type in WARC_TYPES  # warcio reads some garbage as a record
                if record.rec_type not in ("response", "resource"):
                    continue
                headers = record.rec_headers
                status = 200
                content_type = headers.get_header("Content-Type") or ""
                if record.rec_type == "response":
                    if record.http_headers is None:  # a response record without HTTP (e.g. DNS)
                        continue
                    status = int(record.http_headers.get_statuscode() or 0)
                    if 300 <= status < 400:  # a redirect: its target is archived as a record of its own
                        continue
                    content_type = record.http_headers.get_header("Content-Type") or ""
                if content_type.split(";")[0].strip().lower() not in HTML_TYPES:
                    continue
                payload = record.content_stream().read(max_bytes + 1)
                if len(payload) <= max_bytes and getattr(record.raw_stream, "limit", 0) > 0:
                    # the block ended before its Content-Length: the archive was cut in this record
                    raise BadArchive(f"{path.name}: record cut short at offset {offset} "
                                     f"({record.raw_stream.limit} of {record.length} bytes missing)")  # fmt: skip
                page = ArchivedPage(
                    record_id=(headers.get_header("WARC-Record-ID") or f"offset-{stream.tell()}").strip("<>"),
                    url=headers.get_header("WARC-Target-URI"),
                    date=_date(headers.get_header("WARC-Date")),
                    payload=payload[:max_bytes],
                    charset=_charset(content_type),
                )
                if len(payload) > max_bytes:
                    page.problem, page.details, page.payload = "too_large", f"payload over {max_bytes} bytes", b""
                elif not 200 <= status < 300:
                    page.problem, page.details = f"http_{status}", f"archived HTTP status {status}"
                yield page
        if records == 0:
            raise BadArchive(f"{path.name}: no WARC record in the file")
    except (BadArchive, NotAFile):
        raise
    # warcio on a cut or garbled file: its own errors, or whatever half-parsed garbage makes it raise
    except (ArchiveLoadFailed, EOFError, OSError, zlib.error, AttributeError, ValueError, TypeError) as exc:
        where = f" near offset {archive.offset}" if getattr(archive, "offset", None) is not None else ""
        raise BadArchive(f"{path.name}: not a readable WARC{where}: {type(exc).__name__}: {exc}") from exc


class WarcReader:
    """Every page of a web archive: HTML responses and resources; error responses are quarantined."""

    kind = "warc"
    suffixes = (".warc",)

    def read(self, path: Path) -> list[RawPage | Quarantined]:
        uri = absolute(path).as_uri()
        if special := not_a_file(path, uri):  # a FIFO or a device named .warc: never opened
            return [special]
        out: list[RawPage | Quarantined] = []
        try:
            for record in pages(path, MAX_PAGE_BYTES):
                source = f"{uri}#{record.record_id}"
                if record.problem:
                    out.append(Quarantined(source, None, "ingest", record.problem, record.details, record.payload))
                else:
                    out.append(page_from_bytes(source, record.payload, "html", record.date, record.url, record.charset))
        except NotAFile as exc:  # swapped for a FIFO or a device after the look
            out.append(Quarantined(uri, None, "ingest", "not_a_file", str(exc)))
        except BadArchive as exc:  # the records read before the damage stay pages; the rest is quarantined
            read = f" after {len(out)} page record(s)" if out else ""
            out.append(Quarantined(uri, None, "ingest", "bad_warc", f"{exc}{read}", kept_copy(path)))
        return out
