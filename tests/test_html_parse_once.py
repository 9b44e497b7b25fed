"""Each HTML page is parsed by lxml at most once, and only when trafilatura needs its tree: the lines are
rendered from lexbor's DOM (huunghi.parsing.render), and the pages lxml refuses are still refused."""

from __future__ import annotations

import lxml.html
import pytest

from huunghi.corpus import generate, read_truth
from huunghi.knowledge import Knowledge
from huunghi.parsing import render
from huunghi.parsing.clean import clean_chunk, clean_page
from huunghi.parsing.lines import parse_page
from huunghi.readers import read_files
from huunghi.records import CleanedPage, Quarantined, RawPage
from tests.test_foreign_layouts import mekong_daily


@pytest.fixture
def lxml_parses(monkeypatch) -> list[str]:
    """The documents lxml parses from now on (trafilatura also parses small snippets of its own)."""
    parsed: list[str] = []
    real = lxml.html.document_fromstring

    def counted(html, *args, **kwargs):
        parsed.append(html)
        return real(html, *args, **kwargs)

    monkeypatch.setattr(lxml.html, "document_fromstring", counted)
    return parsed


def _raw(name: str, html: str) -> RawPage:
    return RawPage(name, name, None, "html", len(html), html)


def _times_parsed(html: str, parsed: list[str]) -> int:
    return sum(1 for doc in parsed if doc == html)


def test_a_section_page_is_parsed_by_lxml_only_when_its_lines_lack_a_date_or_an_author(tmp_path, lxml_parses):
    corpus = generate(tmp_path, 40, seed=7, formats=("text", "html"))
    lacking = parsed = 0
    for truth in read_truth(corpus):
        text = (corpus / truth["files"]["text"]).read_text("utf-8")
        from_text = parse_page(text)
        lacking += from_text.published_at is None or from_text.author is None
        page = read_files([corpus / truth["files"]["html"]]).pages[0]  # decoded (some pages are Windows-1258)
        cleaned = clean_page(page)
        assert isinstance(cleaned, CleanedPage) and cleaned.extractor == "layout"
        assert _times_parsed(page.text, lxml_parses) <= 1, truth["file"]  # metadata, when needed, from one tree
        parsed += _times_parsed(page.text, lxml_parses)
    assert parsed == lacking < 40


def test_a_page_of_another_layout_is_parsed_by_lxml_once(lxml_parses):
    html, _ = mekong_daily(0)
    cleaned = clean_page(_raw("mekong.html", html))
    assert isinstance(cleaned, CleanedPage) and cleaned.extractor == "trafilatura" and cleaned.title
    assert _times_parsed(html, lxml_parses) == 1


@pytest.mark.parametrize(
    "html",
    [
        "<!-- only a comment -->",
        "<!DOCTYPE html>",
        "</p>",
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>',
    ],
)
def test_what_lxml_refuses_stays_not_html(html, lxml_parses):
    out = clean_page(_raw("x.html", html))
    assert isinstance(out, Quarantined) and out.reason == "not_html"


def test_with_the_warehouse_asked_by_key_each_page_is_rendered_once(tmp_path, monkeypatch):
    """With the warehouse asked by key, lexbor parses each HTML page once: a page whose late keys turn out known is
    parsed again from its prepared form. The parse is the one all the warehouse's knowledge held at once gives."""
    corpus = generate(tmp_path, 12, seed=7, formats=("html",))
    pages = [p for truth in read_truth(corpus) for p in read_files([corpus / truth["files"]["html"]]).pages]
    asked: set[str] = set()

    def stored(keys):  # knows every key it is asked, as titles and as lines: every late key makes a parse again
        asked.update(keys)
        return Knowledge(frozenset(keys), frozenset(keys))

    parsed: list[str] = []
    real = render.parse
    monkeypatch.setattr(render, "parse", lambda html: parsed.append(html) or real(html))
    out = clean_chunk(pages, stored=stored)
    assert asked and len(out.articles) == len(pages)
    assert sorted(parsed) == sorted(p.text for p in pages)
    held = clean_chunk(pages, Knowledge(frozenset(asked), frozenset(asked))).articles
    assert [(c.title, c.paragraphs, c.stories) for c in out.articles] == [
        (c.title, c.paragraphs, c.stories) for c in held
    ]
