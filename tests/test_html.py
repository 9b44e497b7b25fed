"""HTML pages: decoding, rendering as save-as-text lines, and the same article as the text form."""

from __future__ import annotations

import codecs
import dataclasses
import gzip

import pytest

from huunghi.corpus import generate, read_truth
from huunghi.corpus.html import _cp1258
from huunghi.knowledge import NO_KNOWLEDGE, learn
from huunghi.parsing import render
from huunghi.parsing.clean import clean_chunk, parse_html, second_pass
from huunghi.parsing.lines import parse_page
from huunghi.readers import read_files
from huunghi.readers.decode import FALLBACK_ENCODING, decode

VI = "Quảng Trị và Sạ-vẳn-na-khệt ký kết biên bản ghi nhớ hợp tác giai đoạn 2023 - 2025"


def _doc(body: str, head: str = '<meta charset="utf-8">') -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>x</title></head><body>{body}</body></html>"


# -- decoding -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "header", "expected"),
    [
        (codecs.BOM_UTF8 + _doc(VI).encode(), None, "utf-8"),
        (_doc(VI, "").encode("utf-16"), None, "utf-16"),  # BOM written by Python
        (_doc(VI, '<meta charset="windows-1258">').encode("utf-8").replace(VI.encode(), _cp1258(VI)), None, "cp1258"),
        (_cp1258(_doc(VI, "")), "windows-1258", "cp1258"),  # the HTTP header says it
        (
            _cp1258(_doc(VI, '<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">')),
            None,
            "cp1258",
        ),
        (_doc(VI, "").encode("utf-8"), None, "utf-8"),  # nothing declared, valid UTF-8
        (_cp1258(_doc(VI, "")), None, "cp1258"),  # nothing declared, not UTF-8: the Vietnamese legacy code page
    ],
)
def test_decode_follows_the_browser_order(data, header, expected):
    text, encoding = decode(data, header)
    assert encoding.startswith(expected)
    assert VI in " ".join(render.render(render.parse(text)).lines)  # NFC: tone marks recomposed


def test_decode_never_raises_and_bad_labels_are_ignored():
    text, encoding = decode(b'<meta charset="no-such-code"><p>\xff\xfe\x80 ok</p>')
    assert encoding == FALLBACK_ENCODING and "ok" in text
    assert decode(b"<p>caf\xc3\xa9</p>", "latin1")[0] == "<p>cafÃ©</p>"  # the header wins, as in browsers


# -- rendering --------------------------------------------------------------------------------------
def test_render_blocks_paragraphs_alt_text_and_links():
    doc = _doc(
        '<div class="bc"><a href="/">Trang chủ</a> <a href="/huu-nghi">Hữu nghị</a></div>'
        "<h1>Tiêu đề</h1><div>Sapo</div>"
        '<div><a href="/a-1.html"><img src="x.jpg" alt="Tin A"></a> <a href="/a-1.html">Tin A</a></div>'
        '<div><img alt="Tin B"><a href="https://other.example/b">Tin B</a></div>'
        "<p>Đoạn <b>một</b>\n   tiếp&nbsp;tục.</p><!-- comment --><script>var a = '<p>no</p>';</script>"
        '<style>p{}</style><div hidden>ẩn</div><div style="display: none">ẩn</div>'
        '<figure><img alt="alt ảnh"><figcaption>Chú thích (Ảnh: T.H)</figcaption></figure>'
        "<form><input value='q'><button>Tìm</button></form><table><tr><td>a</td><td>b</td></tr></table>",
        '<meta charset="utf-8"><link rel="canonical" href="https://thoidai.com.vn/x-1.html">',
    )
    rendered = render.render(render.parse(doc))
    assert rendered.lines == [
        "Trang chủ Hữu nghị",
        "",
        "Tiêu đề",
        "",
        "Sapo",
        "Tin A Tin A",
        "Tin BTin B",
        "",
        "Đoạn một tiếp tục.",
        "",
        "alt ảnh",
        "Chú thích (Ảnh: T.H)",
        "",
        "a b",
    ]
    assert rendered.base_url == "https://thoidai.com.vn/x-1.html"
    assert rendered.links["tin a"] == "https://thoidai.com.vn/a-1.html"  # relative links resolved
    assert rendered.links["tin b"] == "https://other.example/b"


def test_render_survives_deep_nesting_and_broken_markup():
    deep = "<div>" * 250 + "sâu" + "</div>" * 250  # libxml2 itself stops at 256 levels
    assert render.render(render.parse(_doc(deep))).lines == ["sâu"]
    broken = "<html><body><p>một <b>hai <i>ba</p><div>bốn</table></span>năm"
    assert render.render(render.parse(broken)).lines == ["một hai ba", "", "bốnnăm"]  # the div never closes
    with pytest.raises(render.NotHTML):
        render.parse("   ")


# -- the same page as HTML and as text ---------------------------------------------------------------
@pytest.fixture(scope="module")
def both_forms(tmp_path_factory):
    """A generated corpus written as text and as gzipped HTML (some pages Windows-1258 or UTF-16)."""
    return generate(tmp_path_factory.mktemp("both"), 240, seed=31, formats=("text", "html.gz"))


def _fields(page):
    return (
        page.title,
        page.published_at,
        page.section,
        page.author,
        page.lead,
        page.paragraphs,
        [(s.block, s.title, s.summary) for s in page.stories],
    )


def test_html_and_text_forms_give_the_same_article(both_forms):
    encodings = set()
    for truth in read_truth(both_forms):
        text = (both_forms / truth["files"]["text"]).read_bytes().decode("utf-8")
        source, encoding = decode(gzip.decompress((both_forms / truth["files"]["html.gz"]).read_bytes()))
        encodings.add(encoding.split("-")[0])
        from_html = parse_html(source)
        assert from_html.extractor == "layout"
        assert _fields(from_html) == _fields(parse_page(text)), truth["file"]
        assert from_html.url == truth["url"]
    assert encodings >= {"utf", "cp1258"}


@pytest.mark.slow
def test_html_and_text_records_agree_through_both_passes(both_forms):
    """What the flow does (clean, learn, clean again): every article field and story the same."""
    records = {}
    for fmt in ("text", "html.gz"):
        pages = read_files(sorted(both_forms.rglob("*.txt" if fmt == "text" else "*.html.gz"))).pages
        first = clean_chunk(pages)
        assert learn(first.articles, NO_KNOWLEDGE, {}).titles  # knowledge learned from either form
        done = second_pass(pages, first, NO_KNOWLEDGE, {}, clean_chunk)
        records[fmt] = {r.source_uri.rsplit("/", 1)[1].split(".")[0]: r for r in done.articles}
    assert records["text"].keys() == records["html.gz"].keys()
    keys = ("title", "published_at", "section", "author", "lead", "paragraphs", "content_hash")
    for name, text in records["text"].items():
        from_html = records["html.gz"][name]
        assert {k: getattr(text, k) for k in keys} == {k: getattr(from_html, k) for k in keys}
        assert [s[:3] for s in text.stories] == [s[:3] for s in from_html.stories]
        urls = [s.url for s in from_html.stories]
        assert all(u and u.startswith("https://thoidai.com.vn/") for u in urls), name  # stories keep their link


def test_the_second_pass_renders_nothing_and_parses_as_a_fresh_clean_would(both_forms, monkeypatch):
    """The second pass parses the forms the first pass prepared: the same records as cleaning the raw pages
    anew with the run's knowledge, without rendering a page again."""
    pages = read_files(sorted(both_forms.rglob("*.html.gz"))).pages
    first = clean_chunk(pages)
    kept = [r for r in first.articles if r.prepared is not None]
    assert kept and all(r.needs_knowledge for r in kept)
    learned = learn(first.articles, NO_KNOWLEDGE, {})
    by_uri = {p.source_uri: p for p in pages}
    fresh = {r.source_uri: r for r in clean_chunk([by_uri[r.source_uri] for r in kept], learned).articles}

    def no_render(*args, **kwargs):
        raise AssertionError("a page rendered twice")

    monkeypatch.setattr(render, "render", no_render)
    done = second_pass(pages, first, NO_KNOWLEDGE, {}, clean_chunk)
    assert [r.source_uri for r in done.articles] == [r.source_uri for r in first.articles]  # none lost
    assert all(r.prepared is None for r in done.articles)  # nothing prepared travels on to dedup
    for record in done.articles:
        if record.source_uri in fresh:
            assert record == dataclasses.replace(fresh[record.source_uri], prepared=None)
