"""The records passed between stages: plain, typed dataclasses, cheap to pickle to worker processes.

    ingest ── RawPage ──▶ clean ── CleanedPage ──▶ dedup ── ArticleText ──▶ enrich
      └─ PageRef (the page without its text) ─┴─ Quarantined (any stage) ──▶ the pages and quarantine tables

Stages hand tables to the warehouse as Arrow tables built from `huunghi.warehouse.schema`.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class RawPage:
    """One input page as read: where it came from, its bytes' hash and its decoded, normalized text."""

    source_uri: str
    sha256: str
    fetched_at: datetime
    format: str
    size: int
    text: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PageRef:
    """A page read, without its text: what the `pages` table and the `raw_pages` gate need, and the file to
    read it from again (`origin`; None for a page the flow holds whole, a web page)."""

    source_uri: str
    sha256: str
    fetched_at: datetime
    format: str
    size: int
    url: str | None
    odd_char_share: float  # characters that are not text (U+FFFD, controls): the raw gate's evidence
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An input that cannot become an article, with the stage that refused it and why."""

    source_uri: str
    sha256: str | None
    stage: str
    reason: str
    details: str
    raw: bytes | None = None

    @classmethod
    def of(cls, page: RawPage, stage: str, reason: str, details: str) -> Quarantined:
        return cls(page.source_uri, page.sha256, stage, reason, details, page.text.encode("utf-8"))


class Sighting(NamedTuple):
    """A story shown on a page: the box it stands in, its title and summary as shown, its link (HTML)."""

    block: str
    title: str
    summary: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Prepared:
    """The half of cleaning an HTML page that no knowledge changes (rendering, trafilatura), kept for a page
    the second pass parses again with what the run learned: no page is rendered twice."""

    lines: str | None  # the rendered text, when the page is in the section's layout (the line parser reads it)
    paragraphs: list[tuple[str, str]] | None  # else trafilatura's paragraphs
    links: dict[str, str]  # title key → link target
    base_url: str | None
    meta: dict | None = None  # the page's declared metadata, once read


@dataclass(slots=True)
class CleanedPage:
    """A page after boilerplate removal: its article, the stories it shows, and what other pages can learn.

    Also made for a page without title or body (`complete` is False): the `cleaned` gate quarantines it
    and counts how many there are, since many such pages at once means the layout changed.
    """

    source_uri: str
    sha256: str
    url: str | None
    extractor: str  # layout | trafilatura
    title: str | None
    kicker: str | None
    language: str  # vi | lo | zh | en | und, from the script of title and paragraphs
    published_at: datetime | None
    section: str | None
    author: str | None
    lead: str | None
    paragraphs: list[tuple[str, str]]  # (kind, text), lead first; kind: lead | body | caption
    stories: list[Sighting]
    learned_titles: list[str]  # title keys of the stories this page shows for certain
    headline_lines: list[str]  # title keys of headline-like lines standing among the article's lines
    needs_knowledge: bool  # what other pages know could change this page's parse
    content_hash: str | None  # None when incomplete
    minhash: bytes | None
    parse_confidence: float = 1.0  # 0–1, from the doubts (huunghi/parsing/confidence.py)
    parse_doubts: list[str] = field(default_factory=list)
    prepared: Prepared | None = None  # an HTML page that needs knowledge, until the second pass parsed it

    @property
    def complete(self) -> bool:
        return self.content_hash is not None

    @property
    def body(self) -> list[str]:
        return [text for kind, text in self.paragraphs if kind == "body"]


@dataclass(frozen=True, slots=True)
class PageSummary:
    """What the flow keeps of a cleaned page once its batch is staged (huunghi/staging.py): what the gates'
    counts, the run's knowledge and dedup's decisions need of it, never its text."""

    source_uri: str
    part: str  # the staged batch that holds the page
    piece: int  # the piece of the batch (what one worker staged of it: huunghi/staging.py) that holds it
    content_hash: str | None  # None when incomplete
    needs_knowledge: bool
    parse_confidence: float
    parse_doubts: tuple[str, ...]
    headline_lines: tuple[str, ...]  # few: a page's story titles are counted per batch (StagedPass.titles)

    @classmethod
    def of(cls, page: CleanedPage, part: str, piece: int) -> PageSummary:
        return cls(page.source_uri, part, piece, page.content_hash, page.needs_knowledge, page.parse_confidence,
                   tuple(map(sys.intern, page.parse_doubts)), tuple(page.headline_lines))  # fmt: skip

    @property
    def complete(self) -> bool:
        return self.content_hash is not None


@dataclass
class StagedPass:
    """A batch (or a piece of it) read and cleaned, its cleaned pages staged: references to the pages read, the
    inputs that could not be read or cleaned, a summary of each cleaned page, and the story titles it shows."""

    part: str
    refs: list[PageRef] = field(default_factory=list)
    unreadable: list[Quarantined] = field(default_factory=list)
    refused: list[Quarantined] = field(default_factory=list)  # cleaned but refused (a clean timeout)
    pages: list[PageSummary] = field(default_factory=list)
    kept: dict[int, int] = field(default_factory=dict)  # piece → its pages staged for the second pass (if any)
    titles: Counter[str] = field(default_factory=Counter)  # story title key → pages of the batch that show it

    @classmethod
    def merge(cls, part: str, pieces: list[StagedPass]) -> StagedPass:
        """A batch's pass from its pieces' (in piece order)."""
        out = cls(part)
        for piece in pieces:
            out.refs.extend(piece.refs)
            out.unreadable.extend(piece.unreadable)
            out.refused.extend(piece.refused)
            out.pages.extend(piece.pages)
            out.kept.update(piece.kept)
            out.titles.update(piece.titles)
        return out


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What enrichers read of a canonical article: small, so shipping it to a worker process is cheap."""

    article_id: str
    title: str
    published: date | None
    paragraphs: tuple[tuple[int, str, str], ...]  # (position in the article, kind, text), lead and body only

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None

    @property
    def lead(self) -> str:
        return next((text for _, kind, text in self.paragraphs if kind == "lead"), "")

    @property
    def body(self) -> list[str]:
        return [text for _, kind, text in self.paragraphs if kind == "body"]


@dataclass
class CleanResult:
    """Cleaned pages and the pages quarantined on the way."""

    articles: list[CleanedPage] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


@dataclass
class FirstPass:
    """Pages read and cleaned once, in one worker: a reference to each page, what the clean made of it, the
    inputs that could not be read, and the pages the second pass may parse again (whole: only those)."""

    refs: list[PageRef] = field(default_factory=list)
    cleaned: CleanResult = field(default_factory=CleanResult)
    unreadable: list[Quarantined] = field(default_factory=list)
    kept: list[RawPage] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Listed:
    """A page URL a listing named and where the crawl left it (the `frontier` table): fetched (by this run
    or an earlier one), waiting (never fetched: over the runs' max_pages so far), or refused with a reason."""

    url: str
    source: str  # the web source's name
    state: str  # fetched | waiting | refused
    reason: str | None  # why refused (http_404, timeout, not_followed …); None otherwise
    listed_at: datetime  # when this run read the listing
    last_fetched_at: datetime | None  # the crawler's last request for it, answered or failed (None: never asked)


@dataclass
class IngestResult:
    """Raw pages, quarantined inputs, and counts for the log (files, or a web source); for a web source, every
    URL its listings named (`frontier`)."""

    pages: list[RawPage] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    frontier: list[Listed] = field(default_factory=list)

    def count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n
