"""The crawler's edges: a DNS answer that changes between the check and the connection, and feeds and
sitemaps as sites really write them (parsed by feedparser and ultimate-sitemap-parser)."""

from __future__ import annotations

import gzip
import socket

import pytest

from huunghi.crawl.discover import read_listing
from huunghi.crawl.fetcher import Fetcher
from huunghi.crawl.sources import Source
from tests.site_server import SiteServer

PUBLIC = "93.184.215.14"  # any global address: what the attacker's DNS answers first
SITE = "https://thoidai.com.vn/"


def test_an_answer_that_turns_private_after_the_check_reaches_nothing(monkeypatch):
    """DNS rebinding: the check sees a public address, the connection would get 127.0.0.1. The fetcher
    connects only to addresses it checked at connection time, so the local server sees no request."""
    real = socket.getaddrinfo
    answers = {"n": 0}

    def rebinding(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        answers["n"] += 1
        address = PUBLIC if answers["n"] == 1 else "127.0.0.1"
        port = args[0] if args else kwargs.get("port") or 0
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    with SiteServer(pages=2) as server:
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        source = Source(name="rebind", sitemaps=(f"http://rebind.test:{server.port}/sitemap.xml",),
                        allowed_hosts=frozenset({"rebind.test"}), allow_private=False, timeout_seconds=2.0)  # fmt: skip
        with Fetcher(source) as fetcher:
            got = fetcher.get(f"http://rebind.test:{server.port}/sitemap.xml", accept=None)
        monkeypatch.setattr(socket, "getaddrinfo", real)
        assert answers["n"] >= 2  # the check, then the connection, each asked
        assert got.body is None and got.problem in ("address_not_allowed", "robots_disallowed")
        assert server.requests() == []  # nothing reached 127.0.0.1


def test_the_connection_refuses_a_private_answer_with_its_own_reason(monkeypatch):
    real = socket.getaddrinfo

    def private(host, *args, **kwargs):
        if host != "inside.test":
            return real(host, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.1.2.3", 80))]

    monkeypatch.setattr(socket, "getaddrinfo", private)
    source = Source(name="inside", sitemaps=("http://inside.test/sitemap.xml",),
                    allowed_hosts=frozenset({"inside.test"}), allow_private=False)  # fmt: skip
    with Fetcher(source) as fetcher:
        got = fetcher._once("http://inside.test/x", "http://inside.test/x", {}, None)  # past the early check
    assert got.problem == "address_not_allowed" and "10.1.2.3" in got.details and not got.retryable


def rss(items: str, channel_link_last: bool = False) -> bytes:
    link = "<link>https://thoidai.com.vn/</link>"
    atom = '<atom:link href="https://thoidai.com.vn/rss/x.rss" rel="self" type="application/rss+xml"/>'
    head = f'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>{atom}'
    return (head + ("" if channel_link_last else link) + items + (link if channel_link_last else "")
            + "</channel></rss>").encode()  # fmt: skip


ITEM = "<item><title>{t}</title><link>https://thoidai.com.vn/{slug}.html</link></item>"


def test_feed_whose_channel_link_follows_the_items_keeps_its_first_item():
    body = rss(ITEM.format(t="Một", slug="mot") + ITEM.format(t="Hai", slug="hai"), channel_link_last=True)
    assert read_listing(body, SITE).pages == [f"{SITE}mot.html", f"{SITE}hai.html"]


def test_feed_lists_no_homepage_for_its_atom_self_link():
    listing = read_listing(rss(ITEM.format(t="Một", slug="mot")), SITE)
    assert listing.kind == "feed" and listing.pages == [f"{SITE}mot.html"]


def test_items_with_only_a_permalink_guid_are_pages():
    body = rss('<item><title>Ba</title><guid isPermaLink="true">https://thoidai.com.vn/ba.html</guid></item>'
               '<item><title>Bốn</title><guid isPermaLink="false">tag-4</guid></item>')  # fmt: skip
    assert read_listing(body, SITE).pages == [f"{SITE}ba.html"]


def test_one_bare_ampersand_does_not_lose_the_feed():
    body = rss(ITEM.format(t="Hợp tác & hữu nghị", slug="mot") + ITEM.format(t="Hai", slug="hai"))
    assert read_listing(body, SITE).pages == [f"{SITE}mot.html", f"{SITE}hai.html"]


def test_image_locations_in_a_sitemap_are_not_pages():
    body = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            b'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"><url>'
            b"<loc>https://thoidai.com.vn/mot.html</loc><image:image><image:loc>https://thoidai.com.vn/a.jpg"
            b"</image:loc></image:image></url></urlset>")  # fmt: skip
    assert read_listing(body, SITE).pages == [f"{SITE}mot.html"]


@pytest.mark.parametrize("zipped", [False, True])
def test_plain_text_sitemaps_are_read(zipped):
    body = f"{SITE}mot.html\n{SITE}hai.html\n".encode()
    listing = read_listing(gzip.compress(body) if zipped else body, SITE)
    assert listing.kind == "sitemap" and listing.pages == [f"{SITE}mot.html", f"{SITE}hai.html"]


def test_sitemap_index_lists_its_children():
    body = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<sitemap><loc>https://thoidai.com.vn/s1.xml</loc></sitemap></sitemapindex>")  # fmt: skip
    listing = read_listing(body, SITE)
    assert listing.kind == "sitemapindex" and listing.documents == [f"{SITE}s1.xml"]
