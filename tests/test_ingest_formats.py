"""Ingest of HTML files (gzipped or not) and web archives: every input ends as a page or in quarantine."""

from __future__ import annotations

import gzip
import io

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from huunghi.corpus import generate, read_truth
from huunghi.parsing.clean import clean_chunk
from huunghi.readers import discover, read_files
from huunghi.readers.files import MAX_PAGE_BYTES


def write_warc(path, pages: list[tuple[str, bytes]], extra: bool = True) -> None:
    """A WARC.gz as crawlers write it: request + response pairs, and records that are not pages."""
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, body in pages:
            req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "thoidai.com.vn")], is_http_request=True)
            writer.write_record(writer.create_warc_record(url, "request", http_headers=req))
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
            )
        if not extra:
            return
        for status, ctype, body in (
            ("404 Not Found", "text/html", b"<html>missing</html>"),
            ("200 OK", "image/jpeg", b"\xff\xd8\xff"),
            ("301 Moved", "text/html", b""),
        ):
            headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            url = f"https://thoidai.com.vn/{status.split()[0]}"
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
            )
        resource = writer.create_warc_record(
            "https://thoidai.com.vn/saved-by-a-browser.html",
            "resource",
            payload=io.BytesIO(pages[0][1]),
            warc_content_type="text/html",
        )
        writer.write_record(resource)
        writer.write_record(writer.create_warc_record("https://thoidai.com.vn/", "warcinfo", payload=io.BytesIO(b"x")))


def test_html_files_plain_and_gzipped(tmp_path):
    corpus = generate(tmp_path / "c", 12, seed=3, formats=("html.gz", "html"))
    found = discover([corpus])
    assert len(found) == 24 and {p.name.split(".", 1)[1] for p in found} == {"html", "html.gz"}
    result = read_files(found)
    assert len(result.pages) == 24 and not result.quarantined
    assert {p.format for p in result.pages} == {"html"}
    gz = {p.source_uri.removesuffix(".gz"): p for p in result.pages if p.source_uri.endswith(".gz")}
    plain = {p.source_uri: p for p in result.pages if not p.source_uri.endswith(".gz")}
    assert all(gz[uri].text == page.text for uri, page in plain.items())  # gzip changes nothing but bytes


def test_bad_gzip_and_gzip_bomb_are_quarantined(tmp_path):
    (tmp_path / "cut.html.gz").write_bytes(gzip.compress(b"<html>" + b"a" * 10_000)[:50])
    (tmp_path / "bomb.html.gz").write_bytes(gzip.compress(b"\x00" * (MAX_PAGE_BYTES + 10)))
    (tmp_path / "empty.htm").write_bytes(b"  \n")
    result = read_files(discover([tmp_path]))
    assert not result.pages
    assert sorted((q.source_uri.rsplit("/", 1)[1], q.reason) for q in result.quarantined) == [
        ("bomb.html.gz", "too_large"),
        ("cut.html.gz", "bad_gzip"),
        ("empty.htm", "empty"),
    ]


def test_warc_pages_and_what_is_not_a_page(tmp_path):
    corpus = generate(tmp_path / "c", 5, seed=3, formats=("html",))
    truth = read_truth(corpus)
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, [(t["url"], (corpus / t["file"]).read_bytes()) for t in truth])
    result = read_files(discover([tmp_path / "crawl.warc.gz"]))
    # 5 responses + 1 browser resource are pages; the 404 is quarantined; image, redirect, request, warcinfo
    # are not pages.
    assert len(result.pages) == 6
    assert [
        (q.reason, q.source_uri.startswith(warc.resolve().as_uri() + "#urn:uuid:")) for q in result.quarantined
    ] == [("http_404", True)]
    assert {p.url for p in result.pages} >= {t["url"] for t in truth}
    cleaned = clean_chunk(result.pages)
    assert sorted(r.title for r in cleaned.articles) == sorted([t["title"] for t in truth] + [truth[0]["title"]])
    assert all(r.url for r in cleaned.articles)


def test_broken_warc_is_quarantined_whole(tmp_path):
    (tmp_path / "broken.warc.gz").write_bytes(b"WARC/1.0\r\nnot really\r\n")
    (tmp_path / "truncated.warc.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    result = read_files(discover([tmp_path]))
    assert not result.pages
    assert sorted(q.reason for q in result.quarantined) == ["bad_warc", "bad_warc"]
