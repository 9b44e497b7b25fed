"""Reprocess: read the quarantined inputs again, after a fix, through the same flow.

An input is read again from where it came from when it is still there (a file, a WARC, a URL), so a
failure that was a fact about the input (an HTTP error, a bad archive) is judged anew. When the file is
gone, the copy the quarantine kept is used: the decoded text of a page that was read but refused (its
`pages` row knows the format), or the raw bytes of a plain page file. What can be neither read nor
rebuilt stays in the quarantine, and the log says how many.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from huunghi.crawl import sources as web
from huunghi.readers import kind_of
from huunghi.readers.files import page_from_bytes
from huunghi.records import IngestResult, RawPage


def _local_path(uri: str) -> Path | None:
    parts = urlsplit(uri)
    return Path(url2pathname(unquote(parts.path))) if parts.scheme == "file" else None


def _from_copy(row: dict) -> RawPage | None:
    """The page rebuilt from the quarantine's copy, or None when no usable copy was kept."""
    if row["raw"] is None:
        return None
    fetched_at = row["fetched_at"] or datetime.now(UTC)
    if row["format"]:  # read, then refused: the copy is the decoded text
        text = bytes(row["raw"]).decode("utf-8")
        return RawPage(row["source_uri"], row["sha256"], fetched_at, row["format"], row["size"] or 0, text, row["url"])
    path = _local_path(row["source_uri"]) or Path(urlsplit(row["source_uri"]).path)
    kind = kind_of(path)
    if kind not in ("text", "html") or path.name.lower().endswith(".gz"):
        return None
    return page_from_bytes(row["source_uri"], bytes(row["raw"]), kind, fetched_at, row["url"])


def plan_reprocess(
    rows: list[dict], allow_private: bool = False
) -> tuple[list[str], list[web.Source], IngestResult, int]:
    """For quarantine rows (warehouse.reads.read_quarantined): (files to read again, web sources to fetch
    again, pages rebuilt from kept copies, how many can be neither)."""
    files: set[str] = set()
    urls: dict[str, list[str]] = defaultdict(list)  # host → page URLs
    listings: dict[str, list[str]] = defaultdict(list)  # host → sitemaps, feeds that failed
    kept = IngestResult()
    lost = 0
    for row in rows:
        uri = row["source_uri"]
        path = _local_path(uri)
        if path is not None and path.is_file():
            files.add(str(path))  # a WARC record's fragment names the archive: it is read again whole
        elif web.is_url(uri):
            (listings if row["stage"] == "discover" else urls)[urlsplit(uri).hostname or ""].append(uri)
        elif (page := _from_copy(row)) is not None:
            (kept.pages if isinstance(page, RawPage) else kept.quarantined).append(page)
        else:
            lost += 1
    sites = [
        web.Source(name=host, urls=tuple(sorted(set(urls[host]))), discover=tuple(sorted(set(listings[host]))),
                   allowed_hosts=frozenset({host}), allow_private=allow_private)
        for host in sorted(urls.keys() | listings.keys())
    ]  # fmt: skip
    return sorted(files), sites, kept, lost
