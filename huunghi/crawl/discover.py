"""Which pages a source has: entries of sitemaps (indexes, news sitemaps, gzipped), feeds (RSS, Atom) and
links of start pages. XML is parsed without entities or network access (no XXE), with bounded size."""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

_XML = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed


@dataclass
class Listing:
    kind: str  # sitemapindex | sitemap | feed | html | unknown
    pages: list[str] = field(default_factory=list)  # page URLs, in document order
    documents: list[str] = field(default_factory=list)  # further listings to read (child sitemaps)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _unzip(body: bytes) -> bytes:
    if body[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
            return f.read(MAX_SITEMAP_BYTES + 1)[:MAX_SITEMAP_BYTES]
    return body


def read_listing(body: bytes, base_url: str) -> Listing:
    """What a sitemap, feed or HTML page lists. An unreadable document lists nothing (kind 'unknown')."""
    try:
        body = _unzip(body)
    except (OSError, EOFError, zlib.error):
        return Listing("unknown")
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or (b"<html" in head and b"<?xml" not in head):
        return Listing("html", pages=page_links(body, base_url))
    try:
        root = lxml.etree.fromstring(body, _XML)
    except lxml.etree.XMLSyntaxError:
        return Listing("html", pages=page_links(body, base_url)) if b"<a" in body.lower() else Listing("unknown")
    kind = _local(root.tag)
    locs = [(el.text or "").strip() for el in root.iter() if _local(el.tag) == "loc"]
    if kind == "sitemapindex":
        return Listing("sitemapindex", documents=[urljoin(base_url, u) for u in locs if u])
    if kind == "urlset":
        return Listing("sitemap", pages=[urljoin(base_url, u) for u in locs if u])
    if kind in ("rss", "rdf"):
        links = [(el.text or "").strip() for el in root.iter() if _local(el.tag) == "link"]
        items = [u for u in links[1:] if u] if kind == "rss" else [u for u in links if u]  # first: the channel
        return Listing("feed", pages=[urljoin(base_url, u) for u in items])
    if kind == "feed":  # Atom
        pages = []
        for entry in (el for el in root.iter() if _local(el.tag) == "entry"):
            for link in (el for el in entry if _local(el.tag) == "link"):
                if link.get("rel", "alternate") == "alternate" and link.get("href"):
                    pages.append(urljoin(base_url, link.get("href")))
                    break
        return Listing("feed", pages=pages)
    return Listing("unknown")


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
