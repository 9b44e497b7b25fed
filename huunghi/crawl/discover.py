"""Which pages a source has: entries of sitemaps (indexes, news sitemaps, plain-text, gzipped), feeds
(RSS, Atom, RDF) and links of start pages.

The documents are parsed by libraries made for them — feedparser for feeds, ultimate-sitemap-parser for
sitemaps — from bytes the crawler's own fetcher fetched (huunghi.crawl.fetcher: allowed hosts, checked
addresses, bounded sizes): neither library fetches anything here. Sizes are bounded before parsing.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(rss|feed|rdf)[\s>]", re.IGNORECASE)
logging.getLogger("usp").setLevel(logging.ERROR)  # ultimate-sitemap-parser logs every skipped line


@dataclass
class Listing:
    kind: str  # sitemapindex | sitemap | feed | html | unknown
    pages: list[str] = field(default_factory=list)  # page URLs, in document order
    documents: list[str] = field(default_factory=list)  # further listings to read (child sitemaps)


def _unzip(body: bytes) -> bytes:
    if body[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
            return f.read(MAX_SITEMAP_BYTES + 1)[:MAX_SITEMAP_BYTES]
    return body


def read_listing(body: bytes, base_url: str) -> Listing:
    """What a sitemap, feed or HTML page lists. An unreadable document lists nothing (kind 'unknown')."""
    try:
        body = _unzip(body)[:MAX_SITEMAP_BYTES]
    except (OSError, EOFError, zlib.error):
        return Listing("unknown")
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
    return Listing("feed", pages=list(dict.fromkeys(pages)))


def _sitemap(body: bytes, base_url: str) -> Listing:
    """A sitemap index's child sitemaps, or a sitemap's pages (XML, news, plain text; images are not
    pages), by ultimate-sitemap-parser; anything else lists the links it has, or nothing."""
    from usp.objects.sitemap import AbstractIndexSitemap, AbstractPagesSitemap
    from usp.tree import sitemap_from_str

    try:
        parsed = sitemap_from_str(body.decode("utf-8", "replace"))
    except Exception:  # the parser's own errors on garbage: nothing listed, like any unreadable document
        parsed = None
    if isinstance(parsed, AbstractIndexSitemap):
        return Listing("sitemapindex", documents=[urljoin(base_url, s.url) for s in parsed.sub_sitemaps])
    if isinstance(parsed, AbstractPagesSitemap) and (pages := [urljoin(base_url, p.url) for p in parsed.pages]):
        return Listing("sitemap", pages=list(dict.fromkeys(pages)))
    return Listing("html", pages=page_links(body, base_url)) if b"<a" in body.lower() else Listing("unknown")


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
