"""The three real pages in ../shared/samples, parsed exactly.

Expected values are given as line numbers of the sample files (1-based), not copied text: the real pages
stay outside the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from huunghi.parsing.lines import parse_page
from tests.conftest import SAMPLES, needs_samples

ICT = timezone(timedelta(hours=7))
FURNITURE = re.compile(
    r"Tin bài liên quan|Các tin bài khác|Đọc nhiều|Xin chờ|Phiên bản di động|Theo dõi|^Nguồn:|^aa$|Multimedia"
)


@dataclass
class Expected:
    file: str
    title: int
    published_at: datetime
    author: str
    lead: int
    body: list[int]
    captions: list[int]
    # (block, line, how the title is written on that line): 'plain', 'doubled' (T T / TT) or 'tagged'
    stories: list[tuple[str, int, str]] = field(default_factory=list)
    summaries: dict[int, int] = field(default_factory=dict)  # teaser line → its summary line


def _span(block: str, lines: list[int] | range, how: str = "plain") -> list[tuple[str, int, str]]:
    return [(block, n, how) for n in lines]


PAGES = [
    Expected(
        "000_9c6b0366d5808ca5.txt",
        title=5,
        published_at=datetime(2022, 12, 27, 18, 50, tzinfo=ICT),
        author="Hạnh Trần (t/h)",
        lead=7,
        body=[13, 18, 20, 22, 27, 29, 31, 33],
        captions=[16, 25],
        stories=_span("inline", [8, 10, 35, 36], "doubled")
        + _span("related", [42, 47])
        + _span("most_read", [55, 60, 65, 70, 75])
        + _span("multimedia", range(84, 87))
        + _span("video", range(88, 100), "tagged")
        + _span("latest", [100, 105, 110, 115, 120, 125]),
        summaries={8: 9, 10: 11},
    ),
    Expected(
        "001_e7613482a2de5c52.txt",
        title=4,
        published_at=datetime(2022, 6, 11, 6, 10, tzinfo=ICT),
        author="Nhật Nguyệt",
        lead=7,
        body=[11, 16, 18, 23, 25, 27, 29, 31, 33],
        captions=[14, 21],
        stories=_span("inline", [8, 9, 35, 36], "doubled")
        + _span("other", [44, 49, 54, 59])
        + _span("most_read", [67, 72, 77, 82, 87, 92, 97])
        + _span("multimedia", range(102, 109))
        + _span("video", range(110, 125), "tagged")
        + _span("latest", [125, 130, 135, 140, 145, 150]),
    ),
    Expected(
        "002_d395516c9eb881bd.txt",
        title=4,
        published_at=datetime(2022, 8, 22, 14, 7, tzinfo=ICT),
        author="Hạnh Trần (t/h)",
        lead=7,
        body=[13, 18, 20, 22, 24, 26, 28, 33, 35],
        captions=[16, 31],
        stories=_span("inline", [8, 10, 37, 38], "doubled")
        + _span("related", [44, 49, 54])
        + _span("other", [62, 67, 72, 77])
        + _span("most_read", [85, 90, 95, 100, 105, 110, 115])
        + _span("multimedia", range(120, 127))
        + _span("video", range(128, 143), "tagged")
        + _span("latest", [143, 148, 153, 158, 163, 168]),
        summaries={8: 9, 10: 11},
    ),
]


def _lines(name: str) -> list[str]:
    return (SAMPLES / name).read_text(encoding="utf-8").split("\n")


def expected_story_title(line: str, how: str) -> str:
    if how == "doubled":  # written twice: `T T` (odd length) or `TT` (even length)
        return line[: len(line) // 2]
    if how == "tagged":
        return re.sub(r"^\[(video|VIDEO|Video)\]\s*", "", line)
    return line


def expected_stories(page: Expected) -> list[tuple[str, str]]:
    lines = _lines(page.file)
    return [(block, expected_story_title(lines[n - 1], how)) for block, n, how in page.stories]


@needs_samples
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.file[:3])
def test_article_fields_exact(page: Expected):
    lines = _lines(page.file)
    parsed = parse_page("\n".join(lines))
    assert parsed.title == lines[page.title - 1]
    assert parsed.published_at == page.published_at
    assert parsed.section == "Hữu nghị › Bốn phương kết bạn"
    assert parsed.author == page.author
    assert parsed.lead == lines[page.lead - 1]
    assert [t for k, t in parsed.paragraphs if k == "body"] == [lines[n - 1] for n in page.body]
    assert [t for k, t in parsed.paragraphs if k == "caption"] == [lines[n - 1] for n in page.captions]
    assert parsed.paragraphs[0] == ("lead", lines[page.lead - 1])
    # Order: lead, then body and captions interleaved as on the page.
    order = sorted([page.lead, *page.body, *page.captions])
    assert [t for _, t in parsed.paragraphs] == [lines[n - 1] for n in order]


@needs_samples
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.file[:3])
def test_no_furniture_in_article(page: Expected):
    parsed = parse_page((SAMPLES / page.file).read_text(encoding="utf-8"))
    story_titles = {s.title for s in parsed.stories}
    for kind, text in parsed.paragraphs:
        assert not FURNITURE.search(text), (kind, text)
        assert text not in story_titles
        assert text != parsed.title, "an image alt line repeating the title leaked"


@needs_samples
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.file[:3])
def test_every_teaser_and_sidebar_story_captured_with_its_block(page: Expected):
    parsed = parse_page((SAMPLES / page.file).read_text(encoding="utf-8"))
    assert [(s.block, s.title) for s in parsed.stories] == expected_stories(page)
    lines = _lines(page.file)
    by_title = {s.title: s for s in parsed.stories if s.block == "inline"}
    for teaser, summary in page.summaries.items():
        assert by_title[expected_story_title(lines[teaser - 1], "doubled")].summary == lines[summary - 1]


@needs_samples
def test_sidebar_summaries_attached():
    parsed = parse_page((SAMPLES / PAGES[0].file).read_text(encoding="utf-8"))
    lines = _lines(PAGES[0].file)
    related = [s for s in parsed.stories if s.block == "related"]
    assert [s.summary for s in related] == [lines[45], lines[50]]
