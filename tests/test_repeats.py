"""Cleaned pages share the values that repeat from page to page (huunghi/records.py: Repeats): pages cleaned in
worker processes come back with a copy of every sidebar story each; the flow keeps one."""

from __future__ import annotations

import copy
import pickle

from huunghi.records import CleanedPage, Repeats, Sighting


def _page(uri: str, body: str) -> CleanedPage:
    return CleanedPage(
        source_uri=uri, sha256="0" * 64, url=None, extractor="layout", title=f"Title of {uri}", kicker=None,
        language="vi", published_at=None, section="Bốn phương kết bạn", author=None, lead="A lead.",
        paragraphs=[("lead", "A lead."), ("body", body)],
        stories=[Sighting("related", "Hai tỉnh ký kết biên bản ghi nhớ", "Tóm tắt.", "https://example.org/a"),
                 Sighting("most_read", "Đoàn công tác thăm tỉnh bạn")],
        learned_titles=["hai tinh ky ket bien ban ghi nho"], headline_lines=[], needs_knowledge=False,
        content_hash="c" + uri, minhash=None, parse_doubts=["short_body"],
    )  # fmt: skip


def test_pages_from_two_workers_share_their_stories_and_keep_their_values() -> None:
    first, second = (pickle.loads(pickle.dumps([_page(f"file:///p{i}", f"Body {i}.")])) for i in (1, 2))
    before = copy.deepcopy(first + second)
    assert first[0].stories[0] is not second[0].stories[0]  # what comes back from two processes
    repeats = Repeats()
    repeats.pages(first)
    repeats.pages(second)
    assert first + second == before  # the same values
    a, b = first[0], second[0]
    assert a.stories[0] is b.stories[0] and a.stories[1] is b.stories[1]
    assert a.learned_titles[0] is b.learned_titles[0] and a.parse_doubts[0] is b.parse_doubts[0]
    assert a.paragraphs[1][0] is b.paragraphs[1][0] and a.section is b.section
    assert a.paragraphs[1][1] != b.paragraphs[1][1]  # the article's own text is its own
