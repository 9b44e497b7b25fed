"""The line parser: split a page, as the lines of a "save as text", into its article and its furniture.

Pages come saved as text or as HTML; HTML is rendered to the same lines first (huunghi.parsing.render).

The page is read as a sequence of lines grouped into blocks (runs of lines between blank lines).
Structure carries the meaning: the header (breadcrumb, timestamp, title) comes first, the lead opens
the article, the author stands just above "Nguồn:", and everything after that is sidebar furniture.
Inside the article, a title written twice (`T T` / `TT`), a headline line under the lead, or an old box
line "unaccented slug + title" is an inline teaser; a line right after a teaser is its summary; a
multi-line block is an image (alt lines, then the caption). What one page cannot tell — is this line a
story shown on other pages, or furniture repeated across the site? — comes as `Knowledge` learned from
other pages (huunghi.knowledge).

Every line gets a label, so the result can be checked line by line against generated ground truth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from huunghi.knowledge import NO_KNOWLEDGE, Known
from huunghi.parsing.layout import Layout, load_layout
from huunghi.text import ascii_fold, is_slug, normalize_text, stable_id, strip_media_tag, title_key, undouble

_TIMESTAMP = re.compile(
    r"(\d{1,2}):(\d{2})\s*\|\s*(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:\s*(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?)?"
)
DATE_LIKE = re.compile(r"\b\d{1,2}[/-]\d{1,2}[/-]\d{4}\b|\b\d{1,2}:\d{2}\b")
SLUG_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = (".", "!", "?", "…", ";", ":")
_CLOSING_QUOTES = "”’\"' "
_SITE_OFFSET = timedelta(hours=7)  # thoidai.com.vn publishes in Vietnam time
_HEADER_SCAN = 12  # lines in which breadcrumb and timestamp are looked for
SITE_HEADER_SCAN = 120  # lines of site header (logo, menus) a page may show above its breadcrumb
_AUTHOR_MAX_CHARS = 80
_KICKER_MAX_CHARS = 60
_CAPTION_MAX_CHARS = 400
_SOURCE_CAPTION_MAX_CHARS = 250
_STORY_TITLE_MAX_CHARS = 300  # a repeated long line is a repeated paragraph, not a sidebar story
# Reader-mode renderings (a "reader view" or Markdown dump of the page) write an image as an empty slot
# `![alt](src) |` and its caption as the next line, closed by ` |`: markup, never article text.
IMAGE_SLOT = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*\|?\s*$")
_PIPE_END = re.compile(r"\s*\|\s*$")
_PIPE_START = re.compile(r"^\|\s*")
# Related-story boxes of the same renderings: an image slot with the story's summary on its line
# (`![]() Ngày 3/4, … |`), a summary alone in a cell (`| Theo Sở Ngoại vụ, … |`), or cut short (`… … |`).
_SLOT_WITH_TEXT = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*\S.*\|\s*$")
_BOX_CELL = re.compile(r"^\|\s*\S(?:(?! \| ).)*\|$")  # one cell: `| text |`, no ` | ` inside
_CUT_BEFORE_PIPE = re.compile(r"(?:\.\.\.|…)\s*\|$")
_DATELINE_PREFIX = re.compile(r"^(\S{1,12}) [-–] \S")  # "TĐO – ", "ຍສໝ - ": the agency's initials
_LISTING_MIN = 3
_UNSPACED_MIN_LINES = 4
_REPEAT_MIN_CHARS = 80  # a lead this long shown again is the page repeating its intro, not the writer

# Line labels: article lines are `lead`, `body` and `caption`; `title` heads them; every other label
# (breadcrumb, timestamp, navigation, widget, teaser, teaser_summary, alt, author, source, box_header,
# story, story_summary, slug, video, footer, furniture, blank) is page furniture.


@dataclass
class Story:
    block: str
    title: str
    summary: str | None = None
    certain: bool = True  # False for a plain teaser line not known yet: it may be several titles joined
    url: str | None = None  # the link's target, on HTML pages


@dataclass
class ParsedPage:
    title: str | None = None
    kicker: str | None = None  # a rubric line above the title ("Nhìn lại một năm:"), without its colon
    published_at: datetime | None = None
    section: str | None = None
    author: str | None = None
    lead: str | None = None
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (kind, text), lead first
    stories: list[Story] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    # Headline-like lines standing among the article's lines: what cross-page repetition is counted on.
    headline_lines: list[str] = field(default_factory=list)
    # Set when knowledge from other pages could change a decision (a long unsplit teaser line, or a
    # headline-like line kept in the article): the run parses such pages again with what it learned.
    needs_knowledge: bool = False
    url: str | None = None  # as the page declares it (HTML)
    rendering: str = "save"  # save: a browser's "save as text" (or HTML rendered so); reader: a reader-mode
    # dump; emagazine: a long-form page under a rendering label (its title and lead shown twice)
    listing: bool = False  # a listing page (summaries only, each opened by the agency's initials): no article
    extractor: str = "layout"  # layout: the section's line rules; trafilatura: any other HTML layout


def parse_timestamp(line: str) -> datetime | None:
    """'09:15 | 03/02/2021 GMT+7' → 2021-02-03 09:15+07:00; None when absent or impossible."""
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


def _section_parts(breadcrumb: str, layout: Layout) -> tuple[list[str], bool]:
    """The section names of a breadcrumb line, and whether they were all known ones."""
    rest = breadcrumb.removeprefix(layout.breadcrumb_root).strip()
    parts: list[str] = []
    while rest:
        name = next((s for s in layout.sections if rest.startswith(s)), None)
        if name is None:  # unknown section name: keep the remainder whole rather than guess
            parts.append(rest)
            return parts, False
        parts.append(name)
        rest = rest[len(name) :].strip()
    return parts, True


def parse_section(breadcrumb: str, layout: Layout) -> str | None:
    """'Trang chủ Hữu nghị Bốn phương kết bạn' → 'Hữu nghị › Bốn phương kết bạn'."""
    return " › ".join(_section_parts(breadcrumb, layout)[0]) or None


def is_breadcrumb(line: str, layout: Layout) -> bool:
    """A breadcrumb made of known section names only (safe to recognize below a site header)."""
    if not line.startswith(layout.breadcrumb_root) or len(line) > 200:
        return False
    parts, known = _section_parts(line, layout)
    return known and bool(parts)


def split_slug_title(line: str) -> str | None:
    """'hop tac bien gioi viet lao … Hợp tác biên giới Việt – Lào …' → the title, when the line is an old
    teaser box: an unaccented slug (the title's, or the page's own image name: real boxes show either),
    then a headline. Vietnamese prose is accented: four or more plain lowercase words before a capitalized,
    accented headline are a machine name, whatever they spell."""
    words = line.split(" ")
    k = 0
    while k < len(words) and SLUG_WORD.fullmatch(words[k]):
        k += 1
    for cut in range(min(k, len(words) - 2), 2, -1):
        slug, title = " ".join(words[:cut]), " ".join(words[cut:])
        folded = ascii_fold(title)
        if folded != title.lower() and (folded.startswith(slug[:40]) or slug.startswith(folded[:40])):
            return title
    if 4 <= k < len(words) - 2:
        title = " ".join(words[k:])
        if title[:1].isupper() and ascii_fold(title) != title and is_headline(title):
            return title
    return None


def is_html_title(line: str) -> bool:
    """'Title | Section | Site (Brand)': a page's HTML title, shown as an image's alt text on real pages."""
    parts = line.split(" | ")
    return len(parts) >= 3 and all((0 < len(p) <= 120 and is_headline(p)) or 0 < len(p) < 8 for p in parts)


def is_headline(line: str) -> bool:
    """One short line that does not end like a sentence."""
    return 8 <= len(line) <= _STORY_TITLE_MAX_CHARS and not line.rstrip(_CLOSING_QUOTES).endswith(_SENTENCE_END)


_STORY_BOXES = frozenset({"related", "other", "most_read"})


class PageParser:
    def __init__(self, text: str, layout: Layout, known: Known, *, normalized: bool = False) -> None:
        self.layout = layout
        self.known = known
        self.pending_summary: Story | None = None
        self.lines = (text if normalized else normalize_text(text)).split("\n")
        if len(self.lines) > 1 and not self.lines[-1]:  # the final newline ends a line, it opens none
            self.lines.pop()
        self.labels: list[str | None] = ["blank" if not line else None for line in self.lines]
        self.texts: dict[int, str] = {}  # a line's article text when the line carries markup (a caption's ` |`)
        self.lead_key = ""  # the lead's title key, once: a long line equal to it is the lead shown again
        self.page = ParsedPage(lines=self.lines)
        # Titles this page itself shows as teasers or sidebar stories (doubled, or `T`, blank, `T`).
        self.page_titles = frozenset(
            title_key(t) for i, line in enumerate(self.lines) if (t := undouble(line) or self._story_title(i))
        )

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
            and not self._is_caption(lines[i])  # an image's alt and caption: a story has no photo credit
        )

    def _story_title(self, i: int) -> str | None:
        return self.lines[i] if self._is_story_start(i) else None

    def _is_caption(self, line: str) -> bool:
        """A line ending with a photo credit ("Ảnh: …", "(Ảnh: …)"; "(Nguồn: …)" on a short line)."""
        if len(line) > _CAPTION_MAX_CHARS:
            return False
        layout = self.layout
        photo, source = layout.caption_credit_words
        if photo in line and layout.caption_credit.search(line):
            return True
        short = len(line) <= _SOURCE_CAPTION_MAX_CHARS
        return short and source in line and bool(layout.caption_source_credit.search(line))

    def _is_rendering_label(self, i: int) -> bool:
        """A short lowercase unaccented line above a headline ("e magazine"): the page's rendering, not a title."""
        line = self.lines[i]
        j = self._next_nonblank(i + 1)
        return (
            line.isascii()
            and line.islower()
            and len(line.split()) <= 3
            and j < len(self.lines)
            and is_headline(self.lines[j])
        )

    def _is_author(self, line: str) -> bool:
        return (
            0 < len(line) <= _AUTHOR_MAX_CHARS
            and len(line.split()) <= 10
            and not line.endswith((".", ":", "?", "!", "…"))
            and undouble(line) is None
            and not self._is_caption(line)
            and not self.layout.is_marker(line)
        )

    def _is_kicker(self, i: int) -> bool:
        """A short line ending with ':' and a headline after it."""
        line = self.lines[i]
        j = self._next_nonblank(i + 1)
        return (
            line.endswith(":")
            and len(line) <= _KICKER_MAX_CHARS
            and j < len(self.lines)
            and is_headline(self.lines[j])
            and not self.layout.is_marker(self.lines[j])
            and self.lines[j] not in self.layout.widget_lines
        )

    def _is_byline(self, line: str) -> bool:
        """A name alone on its line: 2–5 capitalized words (an agency note like "(t/h)" allowed)."""
        words = re.sub(r"\s*\([^()]*\)\s*$", "", line).split()
        return self._is_author(line) and 2 <= len(words) <= 5 and all(w[:1].isupper() for w in words)

    # -- the page, top to bottom -------------------------------------------------------------------
    def parse(self) -> ParsedPage:
        self._reader_markup()
        if self._is_listing():
            self.page.listing = True
            return self._finish()
        title_idx = self._header(self._site_header())
        if title_idx is None:
            return self._finish()
        end, furniture_start = self._article_end(title_idx)
        self._article(title_idx, end)
        self._furniture(furniture_start)
        return self._finish()

    def _reader_markup(self) -> None:
        """Image slots, the caption lines that follow them closed by ` |`, and the related-story summaries
        the same renderings write in cells or beside a slot, wherever they stand."""
        after_slot = False
        markup = False
        for i, line in enumerate(self.lines):
            if "|" not in line and not line.startswith("!["):  # what each pattern below needs: most lines go here
                after_slot = after_slot and not line
            elif IMAGE_SLOT.match(line):
                self._label(i, "image")
                after_slot = markup = True
            elif after_slot and line and _PIPE_END.search(line):
                self._label(i, "caption")
                self.texts[i] = _PIPE_START.sub("", _PIPE_END.sub("", line))
                after_slot = False
            elif _SLOT_WITH_TEXT.match(line) or _BOX_CELL.match(line) or _CUT_BEFORE_PIPE.search(line):
                self._label(i, "teaser_summary")  # a related story's summary: no caption follows a box
                after_slot = False
                markup = True
            elif line:
                after_slot = False
        # No blank line between paragraphs: a reader-mode dump even without an image (a save separates them).
        unspaced = len(self.lines) >= _UNSPACED_MIN_LINES and all(self.lines) and not self._has_header()
        if markup or unspaced:
            self.page.rendering = "reader"

    def _has_header(self) -> bool:
        return any(
            line.startswith(self.layout.breadcrumb_root) or parse_timestamp(line) for line in self.lines[:_HEADER_SCAN]
        )

    def _is_listing(self) -> bool:
        """A listing page: every paragraph a story summary opened by the same agency initials ("ຍສໝ - …"),
        no breadcrumb, no time line, no headline. It lists articles; it is none."""
        text = [line for line in self.lines if line]
        if len(text) < _LISTING_MIN or any(is_headline(line) or parse_timestamp(line) for line in text):
            return False
        prefixes = {m.group(1) if (m := _DATELINE_PREFIX.match(line)) else None for line in text}
        return len(prefixes) == 1 and None not in prefixes

    def _site_header(self) -> int:
        """Where the page header starts: a rendered HTML page (or a fuller text save) may show the site's
        logo and menus above the breadcrumb; they are navigation."""
        for i, line in enumerate(self.lines[:SITE_HEADER_SCAN]):
            if line.startswith(self.layout.breadcrumb_root):
                if i == 0 or not is_breadcrumb(line, self.layout):
                    return 0
                for j in range(i):
                    self.labels[j] = self.labels[j] or "navigation"
                return i
        return 0

    def _header(self, start: int) -> int | None:
        """Label breadcrumb, timestamp, navigation and widgets; return the title's line."""
        layout, page = self.layout, self.page
        title_idx = None
        for i in range(start, min(start + _HEADER_SCAN, len(self.lines))):
            line = self.lines[i]
            if self.labels[i]:
                continue
            if line.startswith(layout.breadcrumb_root) and page.section is None and page.title is None:
                self._label(i, "breadcrumb")
                page.section = parse_section(line, layout)
            elif page.title is None and (
                layout.box_headers.get(line) in _STORY_BOXES or line.startswith(layout.source_marker)
            ):
                break  # the furniture starts before any title: a page without its article (a script renders it)
            elif page.published_at is None and (ts := parse_timestamp(line)) and len(line) < 60:
                self._label(i, "timestamp")
                page.published_at = ts
            elif page.title is None and DATE_LIKE.search(line) and len(line) < 60:
                self._label(i, "furniture")  # a timestamp that cannot be read: no date rather than a wrong one
            elif not any(c.isalpha() for c in line):
                self._label(i, "furniture")  # markup left over by a copy of the page ("--> -->")
            elif page.title is None and (
                rendering := layout.rendering_marker(line) or ("emagazine" if self._is_rendering_label(i) else None)
            ):
                self._label(i, "navigation")
                page.rendering = rendering
            elif layout.is_marker(line):
                self._label(i, "navigation")
            elif line in layout.widget_lines:
                self._label(i, "widget")
            elif page.title is None and page.kicker is None and self._is_kicker(i):
                self._label(i, "kicker")  # "Nhìn lại một năm:" above the headline: its rubric, not the title
                page.kicker = line.rstrip(": ")
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
        marker = next((i for i in range(title_idx + 1, len(lines)) if lines[i].startswith(layout.source_marker)), None)
        if marker is not None:
            self._label(marker, "source")
        else:  # no "Nguồn:": the first box header, sidebar story or run of slugs ends the article
            for i in range(title_idx + 1, len(lines)):
                line = lines[i]
                if line in layout.box_headers or line in layout.footer_lines or line == layout.loading_line:
                    marker = i
                    break
                if self._is_story_start(i) or (is_slug(line) and i + 1 < len(lines) and is_slug(lines[i + 1])):
                    marker = i
                    break
        if marker is None:
            last = len(lines) - 1
            while last > title_idx and not lines[last]:
                last -= 1
            if last > title_idx + 1 and self.labels[last] is None and self._is_byline(lines[last]):
                self._label(last, "author")  # the page ends with the byline, no "Nguồn:" after it
                self.page.author = lines[last]
                return last, len(lines)
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
            if self.labels[i] in ("image", "caption"):  # reader markup: it ends the block it stands in
                if blocks[-1]:
                    blocks.append([])
            elif self.labels[i] is not None:  # read in the header already: a time line under the title
                continue
            elif page.rendering == "reader":  # one line, one paragraph: no blank lines, images are slots
                if blocks[-1]:
                    blocks.append([])
                blocks[-1].append(i)
            elif lines[i] in layout.widget_lines:
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
                self.lead_key = title_key(page.lead)
                block = block[1:]
            self._block(block, is_lead_block=number == 0)
        page.paragraphs = [
            ("lead" if self.labels[i] == "lead" else self.labels[i], self.texts.get(i, lines[i]))  # type: ignore[misc]
            for i in range(title_idx + 1, end)
            if self.labels[i] in ("lead", "body", "caption")
        ]

    _is_title_like = staticmethod(is_headline)

    def _is_known_story(self, line: str) -> bool:
        return self.known.has_title(title_key(line))

    def _is_known_title(self, key: str) -> bool:
        """A title this page shows, or one other pages showed (asked only when the page does not tell)."""
        return key in self.page_titles or self.known.has_title(key)

    def _teaser(self, i: int, title: str, *, plain: bool = False) -> Story:
        """Label line i a teaser. A plain (not doubled) teaser line may hold several titles joined by
        spaces: it is split on titles seen elsewhere, and stays doubtful while none is known."""
        self._label(i, "teaser")
        parts = self._split_joined(title) if plain else [title]
        certain = not plain or len(parts) > 1 or self._is_known_title(title_key(title))
        self.page.needs_knowledge |= not certain
        for part in parts:
            self.page.stories.append(Story("inline", part, certain=certain))
        return self.page.stories[-1]

    def _is_known_teaser(self, line: str) -> bool:
        """A headline-like line that is a title known from listings and other pages, or several joined."""
        return self._is_known_title(title_key(line)) or len(self._split_joined(line)) > 1

    def _is_repeated_furniture(self, line: str) -> bool:
        """A headline-like line kept among article lines is counted across pages; known ones are furniture."""
        self.page.headline_lines.append(line)
        if self.known.has_line(title_key(line)):
            return True
        self.page.needs_knowledge = True
        return False

    def _split_joined(self, line: str) -> list[str]:
        """'T1 T2' → ['T1', 'T2'] when T1 and T2 are titles seen elsewhere (on this page or earlier)."""
        known = self._is_known_title
        if known(title_key(line)):
            return [line]
        words = line.split(" ")
        cuts = [(" ".join(words[:c]), " ".join(words[c:])) for c in range(2, len(words) - 1)]
        for left, right in cuts:  # a known title first, the rest after it
            if known(title_key(left)) and right[:1].isupper():
                return [left, *self._split_joined(right)]
        for left, right in cuts:  # or a known title last, a headline before it
            if known(title_key(right)) and self._is_title_like(left):
                return [left, right]
        return [line]

    def _block(self, block: list[int], *, is_lead_block: bool) -> None:
        """Label one block of article lines: teasers and their summaries, images, paragraphs."""
        lines, page = self.lines, self.page
        plain: list[int] = []
        last_teaser: Story | None = None
        for n, i in enumerate(block):
            line = lines[i]
            title = undouble(line)
            if is_html_title(line):
                self._label(i, "alt")  # an image's title attribute, "Title | Section | Site": never prose
            elif is_lead_block and self._is_caption(line):
                self._caption_in_lead_block(i, block[n - 1] if n else None)
                last_teaser = None
            elif title is not None:
                last_teaser = self._teaser(i, title)
            elif old_box := split_slug_title(line):
                last_teaser = self._teaser(i, old_box)
                self.pending_summary = last_teaser
            elif last_teaser is not None and last_teaser.summary is None and not self._is_title_like(line):
                self._label(i, "teaser_summary")
                last_teaser.summary = line
            elif (is_lead_block and self._is_title_like(line)) or (len(block) == 1 and self._is_known_story(line)):
                last_teaser = self._teaser(i, line, plain=True)  # plain titles under the lead; known stories
            else:
                plain.append(i)
        if len(plain) >= 2 and not is_lead_block:
            *alts, caption = plain  # an image: alt text (often the title again), then its caption
            for i in alts:
                self._label(i, "alt")
            self._label(caption, "caption")
            return
        for i in plain:
            line = lines[i]
            if len(line) >= _REPEAT_MIN_CHARS and title_key(line) == self.lead_key:
                self._label(i, "furniture")  # the lead shown again under the title again (e-magazine pages)
            elif self.pending_summary is not None and line.endswith(("...", "…")) and len(block) == 1:
                self._label(i, "teaser_summary")  # the cut summary of an old teaser box
                self.pending_summary.summary = line
            elif not is_lead_block and len(block) == 1 and (line == page.title or is_slug(line)):
                self._label(i, "alt")
            elif self._is_caption(line):
                self._label(i, "caption")
            elif self._is_title_like(line) and len(block) == 1 and self._is_known_teaser(line):
                self._teaser(i, line, plain=True)  # titles other pages list, alone or joined on one line
            elif self._is_title_like(line) and self._is_repeated_furniture(line):
                self._label(i, "furniture")  # seen among the articles of many pages: the site's, not this one's
            else:
                self._label(i, "body")
            self.pending_summary = None
        if not plain and last_teaser is None:
            self.pending_summary = None

    def _caption_in_lead_block(self, i: int, before: int | None) -> None:
        """A captioned image among the teasers under the lead: the caption, and its alt line just above it
        when that line is the caption again or the page's title (an image's alt repeats either)."""
        self._label(i, "caption")
        if before is None or self.labels[before] == "lead":
            return
        alt = title_key(self.lines[before])
        if alt in (title_key(self.lines[i]), title_key(self.page.title or "")):
            if self.labels[before] == "teaser":
                self.page.stories = [s for s in self.page.stories if title_key(s.title) != alt]
            self._label(before, "alt")

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


def parse_page(text: str, known: Known = NO_KNOWLEDGE, *, normalized: bool = False) -> ParsedPage:
    """Split one page saved as text into its article fields, its stories and per-line labels.

    `normalized`: the text already went through huunghi.text.normalize_text (as ingest does).
    """
    return PageParser(text, load_layout(), known, normalized=normalized).parse()
