"""Which pages a source has: entries of sitemaps (indexes, news sitemaps, plain-text, gzipped), feeds
(RSS, Atom, RDF) and links of start pages.

The documents are parsed by libraries made for them — feedparser for feeds, ultimate-sitemap-parser for
sitemaps — from bytes the crawler's own fetcher fetched (huunghi.crawl.fetcher: allowed hosts, checked
addresses, bounded sizes): neither library fetches anything here. Sizes are bounded before parsing, and
while a gzipped listing is unpacked. A listing that cannot be read (entity declarations, which no sitemap or
feed needs: entity bombs and XXE; a gzip bomb; garbage) raises ListingError with its reason, so that the crawl
quarantines it instead of listing nothing in silence; an empty but valid listing lists nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from huunghi.crawl.content_encoding import GZIP_MAGIC, BadEncoding, TooLarge, gunzip

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(rss|feed|rdf)[\s>]", re.IGNORECASE)
_DOCTYPE, _ENTITY = re.compile(rb"<!DOCTYPE", re.IGNORECASE), re.compile(rb"<!ENTITY", re.IGNORECASE)
# Blanks, comments and PIs. Possessive (*+, ++): one pass over the bytes, nothing kept to backtrack to.
_PROLOG = re.compile(rb"(?:[ \t\r\n]++|<!--(?:[^-]++|-(?!->))*+-->|<\?(?:[^?]++|\?(?!>))*+\?>)*+")
_ROOT = re.compile(rb"<[A-Za-z_:]")
_DOCTYPE_HEAD = re.compile(rb"""(?:[^\[>"']++|"[^"]*+"|'[^']*+')*+""")  # up to its subset's '[' or its end '>'


class ListingError(ValueError):
    """A listing (sitemap, feed) that cannot be read. `reason`: short snake_case (`too_large`, `unsafe_xml`,
    `bad_gzip`, `bad_listing`), the quarantine's reason; `details`: what was found."""

    def __init__(self, reason: str, details: str) -> None:
        super().__init__(f"{reason}: {details}")
        self.reason, self.details = reason, details


class _UspErrors(logging.Handler):
    """Keeps ultimate-sitemap-parser's ERROR records of the parse running in this thread (its only way of
    saying that a document failed), instead of printing them as stray lines on stderr."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if (errors := getattr(self.local, "errors", None)) is not None:
            errors.append(record.getMessage())


_USP_ERRORS = _UspErrors()
_usp_logger = logging.getLogger("usp")
_usp_logger.addHandler(_USP_ERRORS)
_usp_logger.setLevel(logging.ERROR)  # whatever the root's level: its errors are the ListingError's details
_usp_logger.propagate = False  # it logs every skipped line; its failures become ListingError instead


@dataclass
class Listing:
    kind: str  # sitemapindex | sitemap | feed | html | unknown
    pages: list[str] = field(default_factory=list)  # page URLs, in document order
    documents: list[str] = field(default_factory=list)  # further listings to read (child sitemaps)


def _unzip(body: bytes) -> bytes:
    """The document, unpacked if gzipped, never more than MAX_SITEMAP_BYTES (held or decoded)."""
    try:
        body = gunzip(body, MAX_SITEMAP_BYTES) if body.startswith(GZIP_MAGIC) else body
    except TooLarge as exc:
        raise ListingError("too_large", f"gzipped listing unpacks to more than {MAX_SITEMAP_BYTES} bytes") from exc
    except BadEncoding as exc:
        raise ListingError("bad_gzip", str(exc)) from exc
    if len(body) > MAX_SITEMAP_BYTES:
        raise ListingError("too_large", f"listing of {len(body)} bytes, over {MAX_SITEMAP_BYTES}")
    return body


def _doctype(body: bytes) -> int | None:
    """Where the document type declaration starts, if there is one: XML allows it only in the prolog, after
    the XML declaration, comments, processing instructions and blanks, however long, and before the root
    element (linear time). A prolog that is not XML (text before the root, an unclosed comment) is searched
    to the end: a lenient parser may still read a DOCTYPE in it."""
    at = _PROLOG.match(body, 3 if body.startswith(b"\xef\xbb\xbf") else 0).end()  # type: ignore[union-attr]
    if _DOCTYPE.match(body, at):
        return at
    if _ROOT.match(body, at) or at == len(body):
        return None
    found = _DOCTYPE.search(body, at)
    return found.start() if found else None


def _declares_entities(body: bytes) -> bool:
    """Entity declarations in the document type (the only place they can be; XML allows one), looked for in
    linear time."""
    start = _doctype(body)
    if start is None:
        return False
    head = _DOCTYPE_HEAD.match(body, start + len(b"<!DOCTYPE")).end()  # type: ignore[union-attr]
    if not body.startswith(b"[", head):  # no internal subset: nothing declared here
        return False
    return _ENTITY.search(body, head) is not None


def read_listing(body: bytes, base_url: str) -> Listing:
    """What a sitemap, feed or HTML page lists. ListingError when it cannot be read; an empty listing is
    not an error."""
    body = _unzip(body)
    if _declares_entities(body):
        raise ListingError("unsafe_xml", "the document declares XML entities (an entity bomb or XXE): not parsed")
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or (b"<html" in head and b"<?xml" not in head):
        return Listing("html", pages=page_links(body, base_url))
    if _FEED_ROOT.search(body[:2048]):
        return _feed(body, base_url)
    return _sitemap(body, base_url)


def _feed(body: bytes, base_url: str) -> Listing:
    """Each entry's page: its link, else a permalink guid/id (feedparser, lenient with a stray '&')."""
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": base_url})  # bytes: never fetched
    pages = []
    for entry in parsed.entries:
        url = entry.get("link") or (entry.get("id") if entry.get("guidislink", True) else None)
        if url and urlsplit(urljoin(base_url, url)).scheme in ("http", "https"):
            pages.append(urljoin(base_url, url))
    if not pages and parsed.bozo and not parsed.version:  # not even a feed feedparser could recognize
        raise ListingError("bad_listing", f"feed not readable: {parsed.get('bozo_exception')}"[:500])
    return Listing("feed", pages=list(dict.fromkeys(pages)))


def _sitemap(body: bytes, base_url: str) -> Listing:
    """A sitemap index's child sitemaps, or a sitemap's pages (XML, news, plain text; images are not
    pages), by ultimate-sitemap-parser; anything else lists the links it has, or nothing."""
    from usp.objects.sitemap import AbstractIndexSitemap, AbstractPagesSitemap
    from usp.tree import sitemap_from_str

    _USP_ERRORS.local.errors = errors = []
    try:
        parsed = sitemap_from_str(body.decode("utf-8", "replace"))
    except Exception as exc:  # the parser's own errors on garbage
        errors.append(f"{type(exc).__name__}: {exc}")
        parsed = None
    finally:
        _USP_ERRORS.local.errors = None
    if isinstance(parsed, AbstractIndexSitemap) and (parsed.sub_sitemaps or not errors):
        return Listing("sitemapindex", documents=[urljoin(base_url, s.url) for s in parsed.sub_sitemaps])
    pages = [urljoin(base_url, p.url) for p in parsed.pages] if isinstance(parsed, AbstractPagesSitemap) else []
    if pages or (isinstance(parsed, AbstractPagesSitemap) and not errors and _xml_or_blank(body)):
        return Listing("sitemap", pages=list(dict.fromkeys(pages)))  # a truncated one keeps what it listed
    if b"<a" in body.lower():
        return Listing("html", pages=page_links(body, base_url))
    found = errors[0] if errors else "no page URL in it"
    raise ListingError("bad_listing", f"not a sitemap, feed or page with links: {found}"[:500])


def _xml_or_blank(body: bytes) -> bool:
    """An XML sitemap with no entries, or an empty text one, is a valid empty listing; text lines that are no
    URLs are not."""
    return not body.strip() or body.lstrip().startswith(b"<")


def page_links(body: bytes, base_url: str) -> list[str]:
    """Absolute http(s) links of an HTML page, in document order, each once."""
    try:
        tree = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return []
    seen: dict[str, None] = {}
    for href in tree.xpath("//a/@href"):
        url = urljoin(base_url, str(href).strip()).split("#", 1)[0]
        if urlsplit(url).scheme in ("http", "https"):
            seen.setdefault(url, None)
    return list(seen)
