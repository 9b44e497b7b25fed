"""A generated news site: the corpus's pages as HTML at their URLs, with sitemaps, a feed, robots.txt and
a section index — what a crawler meets on the real site. Tests serve it on 127.0.0.1 (tests/site_server.py)
together with pages that misbehave; it is built in memory, deterministic for a (base, pages, seed)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from email.utils import format_datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape

from huunghi.corpus import generate_page
from huunghi.corpus.html import encode, encoding_of, page_path, to_html

SECTION_PATH = "/bon-phuong-ket-ban"
ROBOTS = "User-agent: *\nDisallow: /private/\n"
# Listed in the sitemap like any article, but each misbehaves (tests/site_server.py says how).
MISBEHAVING = {
    "/broken/missing.html": "404",
    "/broken/flaky.html": "500 once, then the page",
    "/broken/slow.html": "answers after the crawler's timeout",
    "/broken/away.html": "redirects to another host",
    "/broken/huge.html": "a body over the size cap",
    "/broken/photo.html": "serves image/jpeg",
    "/private/hidden.html": "disallowed by robots.txt",
}


@dataclass
class Site:
    base: str
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path → (body, content type)
    articles: dict[str, dict] = field(default_factory=dict)  # path → the page's truth
    flaky: tuple[bytes, str] | None = None  # what /broken/flaky.html serves once it recovers


def build_site(base: str, pages: int, seed: int = 7) -> Site:
    site = Site(base=base)
    for index in range(pages + 1):
        page = generate_page(seed, index)
        page.truth["url"] = base + page_path(page)
        encoding = encoding_of(seed, index)
        charset = {"utf-8": "utf-8", "windows-1258": "windows-1258", "utf-16": "utf-16"}[encoding]
        body = (encode(to_html(page, base), encoding), f"text/html; charset={charset}")
        if index == pages:  # one more page: the one behind the flaky URL
            site.flaky = body
            site.articles["/broken/flaky.html"] = page.truth
            break
        site.files[page_path(page)] = body
        site.articles[page_path(page)] = page.truth
    paths = [p for p in site.articles if p not in MISBEHAVING]
    half = len(paths) // 2
    news = "".join(
        f"<url><loc>{xml_escape(base + p)}</loc><news:news><news:publication_date>"
        f"{site.articles[p]['published_at'] or '2026-01-01T00:00:00+07:00'}</news:publication_date>"
        f"<news:title>{xml_escape(site.articles[p]['title'])}</news:title></news:news></url>"
        for p in paths[:half]
    )
    site.files["/sitemaps/news.xml"] = (
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + news + "</urlset>"
        ).encode(),
        "application/xml",
    )
    rest = "".join(f"<url><loc>{xml_escape(base + p)}</loc></url>" for p in paths[half:] + list(MISBEHAVING))
    urlset = '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    site.files["/sitemaps/pages.xml.gz"] = (
        gzip.compress((urlset + rest + "</urlset>").encode(), mtime=0),
        "application/gzip",
    )
    index = "".join(
        f"<sitemap><loc>{base}{p}</loc></sitemap>" for p in ("/sitemaps/news.xml", "/sitemaps/pages.xml.gz")
    )
    site.files["/sitemap.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{index}</sitemapindex>".encode(),
        "application/xml",
    )
    items = "".join(
        f"<item><title>{xml_escape(site.articles[p]['title'])}</title><link>{xml_escape(base + p)}</link>"
        f"<guid>{xml_escape(base + p)}</guid></item>"
        for p in paths[:half]
    )
    site.files["/rss/bon-phuong-ket-ban.rss"] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Bốn phương kết bạn</title>'
        f"<link>{base}{SECTION_PATH}</link><description>Thời Đại</description>{items}</channel></rss>".encode(),
        "application/rss+xml; charset=utf-8",
    )
    links = "".join(f'<li><a href="{escape(p)}">{escape(site.articles[p]["title"])}</a></li>' for p in paths[:half])
    site.files[SECTION_PATH] = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Bốn phương kết bạn</title></head><body>'
        f'<nav><a href="/">Trang chủ</a> <a href="/thoi-su">Thời sự</a> <a href="https://facebook.com/x">FB</a></nav>'
        f'<ul>{links}</ul><a href="{SECTION_PATH}?page=2">Trang sau</a></body></html>'.encode(),
        "text/html; charset=utf-8",
    )
    site.files["/robots.txt"] = (ROBOTS.encode(), "text/plain")
    site.files["/private/hidden.html"] = site.files[paths[0]]
    return site


def last_modified(epoch: float = 1_760_000_000) -> str:
    from datetime import UTC, datetime

    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)
