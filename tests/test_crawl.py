"""The crawler against a generated site on 127.0.0.1: safety, politeness, bounds, listings, raw zone."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

from huunghi.crawl import sources
from huunghi.crawl.crawl import FetchRetry, fetch_pages, list_pages
from huunghi.crawl.discover import ListingError, read_listing
from huunghi.crawl.fetcher import Fetcher, refusal_reason
from huunghi.crawl.rawzone import RawZone
from huunghi.crawl.sources import Source, SourceConfigError
from huunghi.records import IngestResult
from tests.site_server import SiteServer


@pytest.fixture(scope="module")
def server():
    with SiteServer(pages=12) as srv:
        yield srv


def _source(server, **kw) -> Source:
    base = dict(
        name="test",
        sitemaps=(f"{server.base}/sitemap.xml",),
        allowed_hosts=frozenset({"127.0.0.1"}),
        allow_private=True,
        rate_per_second=200.0,
        timeout_seconds=1.0,
        max_bytes=1_000_000,
    )
    return Source(**{**base, **kw})


def test_private_addresses_need_the_source_to_allow_them(server):
    assert refusal_reason("127.0.0.1", allow_private=False).startswith("127.0.0.1 resolves to 127.0.0.1")
    assert refusal_reason("127.0.0.1", allow_private=True) is None
    with Fetcher(_source(server, allow_private=False)) as fetcher:
        got = fetcher.get(f"{server.base}/sitemap.xml")
        assert got.problem == "address_not_allowed" and fetcher.requests == 0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("ftp://127.0.0.1/x", "scheme_not_allowed"),
        ("http://example.org/x", "host_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/", "host_not_allowed"),
    ],
)
def test_only_http_to_allowed_hosts(server, url, problem):
    with Fetcher(_source(server)) as fetcher:
        assert fetcher.get(url).problem == problem
        assert fetcher.requests == 0


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/broken/missing.html", "http_404"),
        ("/broken/away.html", "redirect_off_site"),  # to localhost: another host name, not allowed
        ("/broken/huge.html", "too_large"),  # no Content-Length: stopped while reading
        ("/broken/photo.html", "wrong_content_type"),
        ("/broken/slow.html", "timeout"),
        ("/private/hidden.html", "robots_disallowed"),
    ],
)
def test_misbehaving_pages_end_with_a_reason(server, path, problem):
    with Fetcher(_source(server)) as fetcher:
        got = fetcher.get(server.base + path)
    assert got.problem == problem and got.body is None
    if path == "/private/hidden.html":
        assert path not in server.requests()
    if path == "/broken/away.html":
        assert not any(h.get("Host", "").startswith("localhost") for _, _, h in server.log)


def test_user_agent_robots_and_conditional_requests(server):
    source = _source(server, user_agent="huunghi-test/1.0")
    path = next(iter(server.site.articles))
    with Fetcher(source) as fetcher:
        first = fetcher.get(server.base + path)
        again = fetcher.get(server.base + path, etag=first.etag)
        by_date = fetcher.get(server.base + path, last_modified=first.last_modified)
    assert first.status == 200 and first.body and first.etag
    assert again.not_modified and again.body is None and by_date.not_modified
    sent = [h for p, _, h in server.log if p == path]
    assert sent[-1]["User-Agent"] == "huunghi-test/1.0" and sent[-2]["If-None-Match"] == first.etag


def test_rate_limit_spaces_requests_per_host(server):
    source = _source(server, rate_per_second=10.0, concurrency=2)
    paths = list(server.site.articles)[:6]
    with Fetcher(source) as fetcher:
        fetcher.get(server.base + paths[0])  # robots.txt read once, before timing
        start = time.monotonic()
        for path in paths[1:]:
            fetcher.get(server.base + path)
        elapsed = time.monotonic() - start
    assert elapsed >= 0.45  # 5 requests at 10/s: at least 4 intervals of 0.1 s after the first


def test_listings_sitemap_index_gzip_news_feed_and_links(server):
    zone_source = _source(server)
    with Fetcher(zone_source) as fetcher:
        index = read_listing(fetcher.get(f"{server.base}/sitemap.xml", accept=None).body, server.base)
        news = read_listing(fetcher.get(f"{server.base}/sitemaps/news.xml", accept=None).body, server.base)
        gz = read_listing(fetcher.get(f"{server.base}/sitemaps/pages.xml.gz", accept=None).body, server.base)
        feed = read_listing(fetcher.get(f"{server.base}/rss/bon-phuong-ket-ban.rss", accept=None).body, server.base)
        start = read_listing(fetcher.get(f"{server.base}/bon-phuong-ket-ban").body, server.base)
    assert index.kind == "sitemapindex" and len(index.documents) == 2
    assert news.kind == "sitemap" and gz.kind == "sitemap" and feed.kind == "feed" and start.kind == "html"
    assert len(news.pages) + len(gz.pages) == len(server.site.articles) + 6  # the misbehaving ones are listed
    assert feed.pages == news.pages
    assert "https://facebook.com/x" in start.pages  # links are all listed; `follow` decides


def test_atom_feed_and_unsafe_xml():
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>a</title>
    <link rel="alternate" href="https://thoidai.com.vn/a-1.html"/></entry></feed>"""
    assert read_listing(atom, "https://thoidai.com.vn/").pages == ["https://thoidai.com.vn/a-1.html"]
    xxe = b"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>"""
    with pytest.raises(ListingError) as refused:  # never parsed: no file read, no entity expanded
        read_listing(xxe, "https://thoidai.com.vn/")
    assert refused.value.reason == "unsafe_xml" and "root:" not in str(refused.value)


def test_crawl_retries_then_quarantines_and_keeps_raw_bytes(server, tmp_path):
    source = _source(server, follow=r"/(bon-phuong-ket-ban|broken|private)/")
    zone = RawZone(tmp_path / "raw")
    crawl = IngestResult()
    with Fetcher(source) as fetcher:
        urls = list_pages(source, fetcher, zone, "run-1", crawl)
        assert len(urls) == len(server.site.articles) + 6
        with pytest.raises(FetchRetry, match="worth retrying"):  # flaky (500) and slow (timeout)
            fetch_pages(fetcher, urls, zone, "run-1", crawl, last_try=False)
        fetched_before = len([p for p in server.requests(200) if "/bon-phuong-ket-ban/" in p])
        crawl = IngestResult()
        fetch_pages(fetcher, urls, zone, "run-1", crawl, last_try=True)  # the retry, as Prefect runs it
    refetched = len([p for p in server.requests(200) if "/bon-phuong-ket-ban/" in p]) - fetched_before
    assert refetched == 0  # pages settled by the first attempt are not fetched again
    reasons = sorted(q.reason for q in crawl.quarantined)
    assert reasons == sorted(
        ["http_404", "redirect_off_site", "too_large", "wrong_content_type", "timeout", "robots_disallowed"]
    )
    assert len(crawl.pages) == len(server.site.articles)  # the flaky page recovered on the retry
    page = next(p for p in crawl.pages if p.source_uri.endswith("/broken/flaky.html"))
    assert zone.get(page.sha256) is not None and zone.state(page.source_uri)["etag"]


def test_sources_file_is_checked(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(
        '[[source]]\nname = "s"\nsitemaps = ["https://thoidai.com.vn/sitemap.xml"]\nfollow = "-\\\\d+\\\\.html$"\n'
    )
    (loaded,) = sources.load(good)
    assert loaded.allowed_hosts == {"thoidai.com.vn"} and loaded.follows("https://thoidai.com.vn/a-12.html")
    assert not loaded.allow_private
    for text, message in [
        ('[[source]]\nsitemaps = ["file:///etc/passwd"]\n', "only http"),
        ('[[source]]\nurls = ["https://a.vn/"]\nfolow = "x"\n', "unknown field"),
        ('[[source]]\nurls = ["https://a.vn/"]\nfollow = "("\n', "not a valid regular expression"),
        ('[[source]]\nurls = ["https://a.vn/"]\nrate_per_second = 0\n', "positive number"),
        ("x = 1\n", "no [[source]]"),
        ("[[source]\n", "Expected"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(SourceConfigError, match=re.escape(message)):
            sources.load(bad)


def test_the_shipped_sources_file_loads():
    from pathlib import Path

    (section,) = sources.load(Path(__file__).resolve().parents[1] / "sources.toml")
    assert section.allowed_hosts == {"thoidai.com.vn"} and not section.allow_private
    assert section.follows("https://thoidai.com.vn/quang-tri-va-savannakhet-ky-ket-hop-tac-212345.html")
    assert replace(section, follow=None).follows("https://thoidai.com.vn/x")


def test_start_page_links_matching_the_pattern(server, tmp_path):
    source = _source(
        server, sitemaps=(), start=(f"{server.base}/bon-phuong-ket-ban",), follow=r"/bon-phuong-ket-ban/.+-\d+\.html$"
    )
    crawl = IngestResult()
    with Fetcher(source) as fetcher:
        urls = list_pages(source, fetcher, RawZone(tmp_path / "raw"), "run-1", crawl)
    assert urls and all(u.startswith(f"{server.base}/bon-phuong-ket-ban/") for u in urls)
    assert len(urls) == (len(server.site.articles) - 1) // 2  # the index links half of the articles
    assert crawl.stats["links_not_followed"] >= 4  # home, sections, facebook, next page


def test_max_pages_caps_the_listing(server, tmp_path):
    source = _source(server, max_pages=3)
    crawl = IngestResult()
    with Fetcher(source) as fetcher:
        urls = list_pages(source, fetcher, RawZone(tmp_path / "raw"), "run-1", crawl)
    assert len(urls) == 3 and crawl.stats["pages_over_limit"] == len(server.site.articles) + 6 - 3
