"""Boilerplate removal for pages saved as text: split a page into its article and its furniture.

The page is read as a sequence of lines grouped into blocks (runs of lines between blank lines).
Structure carries the meaning: the header (breadcrumb, timestamp, title) comes first, the lead opens
the article, the author stands just above "Nguồn:", and everything after that is sidebar furniture.
Inside the article, a title written twice (`T T` / `TT`) is an inline teaser, a line right after a
teaser is its summary, and a multi-line block is an image (alt lines, then the caption).

Every line gets a label, so the result can be checked line by line against generated ground truth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from prefect import task

from huunghi import parallel
from huunghi.layout import Layout, load_layout
from huunghi.records import CleanResult, Quarantined, RawPage
from huunghi.text import is_slug, normalize_text, stable_id, strip_media_tag, title_key, undouble

_TIMESTAMP = re.compile(
    r"(\d{1,2}):(\d{2})\s*\|\s*(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:\s*(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?)?"
)
_SITE_OFFSET = timedelta(hours=7)  # thoidai.com.vn publishes in Vietnam time
_HEADER_SCAN = 12  # lines in which breadcrumb and timestamp are looked for
_AUTHOR_MAX_CHARS = 80
_CAPTION_MAX_CHARS = 400
_STORY_TITLE_MAX_CHARS = 300  # a repeated long line is a repeated paragraph, not a sidebar story

# Line labels. Article lines are `lead`, `body`, `caption`; every other label is furniture.
ARTICLE_LABELS = frozenset({"title", "lead", "body", "caption"})


@dataclass
class Story:
    block: str
    title: str
    summary: str | None = None


@dataclass
class ParsedPage:
    title: str | None = None
    published_at: datetime | None = None
    section: str | None = None
    author: str | None = None
    lead: str | None = None
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (kind, text), lead first
    stories: list[Story] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def parse_timestamp(line: str) -> datetime | None:
    """'18:50 | 27/12/2022 GMT+7' → 2022-12-27 18:50+07:00; None when absent or impossible."""
    m = _TIMESTAMP.search(line)
    if not m:
        return None
    hour, minute, day, month, year, sign, off_h, off_m = m.groups()
    offset = _SITE_OFFSET
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0)) * (1 if sign == "+" else -1)
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=timezone(offset))
    except ValueError:
        return None


def parse_section(breadcrumb: str, layout: Layout) -> str | None:
    """'Trang chủ Hữu nghị Bốn phương kết bạn' → 'Hữu nghị › Bốn phương kết bạn'."""
    rest = breadcrumb.removeprefix(layout.breadcrumb_root).strip()
    parts: list[str] = []
    while rest:
        name = next((s for s in layout.sections if rest.startswith(s)), None)
        if name is None:  # unknown section name: keep the remainder whole rather than guess
            parts.append(rest)
            break
        parts.append(name)
        rest = rest[len(name) :].strip()
    return " › ".join(parts) or None


class _PageParser:
    def __init__(self, text: str, layout: Layout) -> None:
        self.layout = layout
        self.lines = normalize_text(text).split("\n")
        if len(self.lines) > 1 and not self.lines[-1]:  # the final newline ends a line, it opens none
            self.lines.pop()
        self.labels: list[str | None] = ["blank" if not line else None for line in self.lines]
        self.page = ParsedPage(lines=self.lines)

    # -- helpers ---------------------------------------------------------------------------------
    def _label(self, i: int, label: str) -> None:
        self.labels[i] = label

    def _next_nonblank(self, i: int) -> int:
        while i < len(self.lines) and not self.lines[i]:
            i += 1
        return i

    def _is_story_start(self, i: int) -> bool:
        """Sidebar stories are written `T`, blank, `T` (then blank and a summary)."""
        lines = self.lines
        return (
            i + 2 < len(lines)
            and 0 < len(lines[i]) <= _STORY_TITLE_MAX_CHARS
            and not lines[i + 1]
            and lines[i + 2] == lines[i]
        )

    def _is_caption(self, line: str) -> bool:
        return len(line) <= _CAPTION_MAX_CHARS and bool(self.layout.caption_credit.search(line))

    def _is_author(self, line: str) -> bool:
        return (
            0 < len(line) <= _AUTHOR_MAX_CHARS
            and len(line.split()) <= 10
            and not line.endswith((".", ":", "?", "!", "…"))
            and undouble(line) is None
            and not self._is_caption(line)
            and not self.layout.is_marker(line)
        )

    # -- the page, top to bottom -------------------------------------------------------------------
    def parse(self) -> ParsedPage:
        title_idx = self._header()
        if title_idx is None:
            return self._finish()
        end, furniture_start = self._article_end(title_idx)
        self._article(title_idx, end)
        self._furniture(furniture_start)
        return self._finish()

    def _header(self) -> int | None:
        """Label breadcrumb, timestamp, navigation and widgets; return the title's line."""
        layout, page = self.layout, self.page
        title_idx = None
        for i, line in enumerate(self.lines[:_HEADER_SCAN]):
            if self.labels[i]:
                continue
            if line.startswith(layout.breadcrumb_root) and page.section is None and page.title is None:
                self._label(i, "breadcrumb")
                page.section = parse_section(line, layout)
            elif page.published_at is None and (ts := parse_timestamp(line)) and len(line) < 60:
                self._label(i, "timestamp")
                page.published_at = ts
            elif layout.is_marker(line):
                self._label(i, "navigation")
            elif line in layout.widget_lines:
                self._label(i, "widget")
            elif page.title is None:
                self._label(i, "title")
                page.title = line
                title_idx = i
            else:
                break
        return title_idx

    def _article_end(self, title_idx: int) -> tuple[int, int]:
        """Return (end of article lines, start of furniture); label author and source lines."""
        layout, lines = self.layout, self.lines
        marker = None
        for i in range(title_idx + 1, len(lines)):
            line = lines[i]
            if line.startswith(layout.source_marker):
                self._label(i, "source")
                marker = i
                break
            if line in layout.box_headers or line in layout.footer_lines or line == layout.loading_line:
                marker = i
                break
            if self._is_story_start(i) or is_slug(line):
                marker = i
                break
        if marker is None:
            return len(lines), len(lines)
        furniture_start = marker + 1 if self.labels[marker] == "source" else marker
        before = marker - 1
        while before > title_idx and not lines[before]:
            before -= 1
        if before > title_idx and self.labels[before] is None and self._is_author(lines[before]):
            self._label(before, "author")
            self.page.author = lines[before]
            return before, furniture_start
        return marker, furniture_start

    def _article(self, title_idx: int, end: int) -> None:
        layout, lines, page = self.layout, self.lines, self.page
        blocks: list[list[int]] = [[]]
        for i in range(title_idx + 1, end):
            if not lines[i]:
                if blocks[-1]:
                    blocks.append([])
                continue
            if lines[i] in layout.widget_lines:
                self._label(i, "widget")
            elif layout.is_marker(lines[i]):
                self._label(i, "navigation")
            else:
                blocks[-1].append(i)
        blocks = [b for b in blocks if b]
        for number, block in enumerate(blocks):
            if number == 0:
                self._label(block[0], "lead")
                page.lead = lines[block[0]]
                block = block[1:]
            self._block(block, is_lead_block=number == 0)
        page.paragraphs = [
            ("lead" if self.labels[i] == "lead" else self.labels[i], lines[i])  # type: ignore[misc]
            for i in range(title_idx + 1, end)
            if self.labels[i] in ("lead", "body", "caption")
        ]

    def _block(self, block: list[int], *, is_lead_block: bool) -> None:
        """Label one block of article lines: teasers and their summaries, images, paragraphs."""
        lines, page = self.lines, self.page
        plain: list[int] = []
        last_teaser: Story | None = None
        for i in block:
            title = undouble(lines[i])
            if title is not None:
                self._label(i, "teaser")
                last_teaser = Story("inline", title)
                page.stories.append(last_teaser)
            elif last_teaser is not None and last_teaser.summary is None:
                self._label(i, "teaser_summary")
                last_teaser.summary = lines[i]
            else:
                plain.append(i)
        if len(plain) >= 2 and not is_lead_block:
            *alts, caption = plain  # an image: alt text (often the title again), then its caption
            for i in alts:
                self._label(i, "alt")
            self._label(caption, "caption")
            return
        for i in plain:
            self._label(i, "caption" if self._is_caption(lines[i]) else "body")

    def _furniture(self, start: int) -> None:
        """Sidebar boxes, multimedia slugs, video list, trailing story list, footer."""
        layout, lines, page = self.layout, self.lines, self.page
        block = "sidebar"
        i = start
        while i < len(lines):
            line = lines[i]
            if self.labels[i]:
                i += 1
                continue
            if line in layout.box_headers:
                self._label(i, "box_header")
                block = layout.box_headers[line]
            elif line == layout.loading_line:
                self._label(i, "navigation")
                block = "video"
            elif line in layout.footer_lines:
                self._label(i, "footer")
            elif layout.is_marker(line) or line in layout.widget_lines:
                self._label(i, "navigation")
            elif self._is_story_start(i):
                if block == "video":  # after the video list comes the trailing list of stories
                    block = "latest"
                story = Story(block, strip_media_tag(line))
                self._label(i, "story")
                self._label(i + 2, "story")
                i = self._story_summary(i + 3, story)
                page.stories.append(story)
                continue
            elif is_slug(line):
                self._label(i, "slug")
                page.stories.append(Story("multimedia", line))
            elif (title := undouble(line)) is not None:
                self._label(i, "story")
                page.stories.append(Story(block, strip_media_tag(title)))
            elif block in ("video", "multimedia"):
                self._label(i, "video")
                page.stories.append(Story("video", strip_media_tag(line)))
            else:
                self._label(i, "furniture")
            i += 1

    def _story_summary(self, i: int, story: Story) -> int:
        """Attach the summary that follows a sidebar story, if any; return the next line to read."""
        j = self._next_nonblank(i)
        if j >= len(self.lines) or j - i > 1:
            return i
        line = self.lines[j]
        if self.layout.is_marker(line) or line in self.layout.widget_lines or self._is_story_start(j) or is_slug(line):
            return i
        self._label(j, "story_summary")
        story.summary = line
        return j + 1

    def _finish(self) -> ParsedPage:
        self.page.labels = [label or "furniture" for label in self.labels]
        return self.page


def content_hash(title: str, lead: str | None, body: list[str]) -> str:
    """What makes two pages the same article: title, lead and body, furniture and spacing excluded."""
    return stable_id("content", title_key(title), title_key(lead or ""), *map(title_key, body))


def parse_page(text: str) -> ParsedPage:
    """Split one page saved as text into its article fields, its stories and per-line labels."""
    return _PageParser(text, load_layout()).parse()


def clean_page(raw: RawPage) -> dict | Quarantined:
    """One raw page → a cleaned article record, or a quarantine entry saying why not."""
    page = parse_page(raw.text)
    if page.title is None:
        return Quarantined.of(raw, "clean", "no_title", "no title line found in the page header")
    if not any(kind == "body" for kind, _ in page.paragraphs):
        return Quarantined.of(raw, "clean", "no_body", "no body paragraph between the lead and the furniture")
    body = [text for kind, text in page.paragraphs if kind == "body"]
    return {
        "content_hash": content_hash(page.title, page.lead, body),
        "source_uri": raw.source_uri,
        "sha256": raw.sha256,
        "url": raw.url,
        "title": page.title,
        "published_at": page.published_at,
        "section": page.section,
        "author": page.author,
        "lead": page.lead,
        "paragraphs": page.paragraphs,
        "stories": [(s.block, s.title, s.summary) for s in page.stories],
    }


def clean_chunk(pages: list[RawPage]) -> CleanResult:
    """Clean a chunk of pages; a page that raises goes to quarantine instead of taking the run down."""
    result = CleanResult()
    for raw in pages:
        try:
            out = clean_page(raw)
        except Exception as exc:
            out = Quarantined.of(raw, "clean", "parser_error", f"{type(exc).__name__}: {exc}")
        if isinstance(out, Quarantined):
            result.quarantined.append(out)
        else:
            result.articles.append(out)
    return result


@task(name="clean pages", retries=0)
def clean_pages(pages: list[RawPage]) -> CleanResult:
    """Boilerplate removal for a batch, spread over all cores."""
    return CleanResult.merge(parallel.map_chunks(clean_chunk, pages))
