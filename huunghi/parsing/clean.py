"""Boilerplate removal for one page: raw page in, cleaned page (or a quarantine entry) out.

Text pages go to the line parser (huunghi.parsing.lines). An HTML page is rendered to the lines a
browser's "save as text" writes (huunghi.parsing.render); a page in the section's layout then goes
through the same line parser, so both forms give the same article; any other layout is trafilatura's
(huunghi.parsing.extract), with the layout-free rules on top. `second_pass` cleans again, with what the
whole run learned, the pages whose parse that knowledge could change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from huunghi.knowledge import NO_KNOWLEDGE, Knowledge, Known, Lookup, Probe, learn
from huunghi.parsing import extract, render
from huunghi.parsing.confidence import confidence, doubts
from huunghi.parsing.layout import Layout, load_layout
from huunghi.parsing.lines import (
    DATE_LIKE,
    SITE_HEADER_SCAN,
    SLUG_WORD,
    PageParser,
    ParsedPage,
    Story,
    content_hash,
    is_breadcrumb,
    is_headline,
    parse_page,
)
from huunghi.records import CleanedPage, CleanResult, Prepared, Quarantined, RawPage, Sighting
from huunghi.signatures import article_minhash
from huunghi.text import ascii_fold, language_of, title_key


def is_section_layout(lines: list[str], layout: Layout) -> bool:
    """The section's layout: its breadcrumb near the top, and its "Nguồn:" line or a box header below."""
    if not any(is_breadcrumb(line, layout) for line in lines[:SITE_HEADER_SCAN]):
        return False
    return any(line.startswith(layout.source_marker) or line in layout.box_headers for line in lines)


def parse_html(text: str, url: str | None = None, known: Known = NO_KNOWLEDGE) -> ParsedPage:
    """An HTML page → the same ParsedPage a text save of it gives.

    Rendered as text (huunghi.parsing.render), a page in the section's layout goes through the line parser, its
    links give the stories their URL and the page's metadata fills what the visible text lacks. A page
    of any other layout is trafilatura's (huunghi.parsing.extract), with only the cross-page rule on top.
    """
    return _html_page(text, url, known)[0]


def _html_page(
    text: str, url: str | None, known: Known, prepared: Prepared | None = None
) -> tuple[ParsedPage, Prepared]:
    """The page and its prepared form: made from the HTML, or (the second pass) the one given.

    The page is rendered from lexbor's DOM; lxml parses it (once) only for trafilatura: the main text of a
    page of another layout, or the metadata that fills a date or an author its lines lack.
    """
    tree = lru_cache(maxsize=1)(lambda: render.parse_tree(text))
    if prepared is None:
        prepared = prepare_html(render.parse(text), url, tree)
    page = parse_prepared(prepared, known, tree)
    page.url = url or prepared.base_url
    return page, prepared


def prepare_html(doc: Any, url: str | None, tree: Callable[[], Any]) -> Prepared:
    """What no knowledge changes: the rendered lines of a page in the section's layout, else trafilatura's
    paragraphs with the page's metadata (from `tree()`, the page's lxml tree)."""
    rendered = render.render(doc, url)
    if is_section_layout(rendered.lines, load_layout()):
        return Prepared(rendered.text, None, rendered.links, rendered.base_url)
    lxml_tree = tree()
    meta = extract.metadata(lxml_tree, rendered.base_url)
    paragraphs = extract.trafilatura_paragraphs(lxml_tree, meta["title"])
    return Prepared(None, paragraphs, rendered.links, rendered.base_url, meta)


def parse_prepared(prepared: Prepared, known: Known, tree: Callable[[], Any]) -> ParsedPage:
    """A prepared page parsed with `known`; `tree()` gives the page's tree to read its metadata when the
    lines lack a date or an author (in the second pass, only if the first pass did not need it)."""
    if prepared.lines is None:
        return _trafilatura_page(prepared, known)
    page = PageParser(prepared.lines, load_layout(), known, normalized=True).parse()
    if page.published_at is None or page.author is None:
        prepared.meta = prepared.meta or extract.metadata(tree(), prepared.base_url)
        page.published_at = page.published_at or prepared.meta["published_at"]
        page.author = page.author or prepared.meta["author"]
    for story in page.stories:
        story.url = prepared.links.get(title_key(story.title))
    return page


def _trafilatura_page(prepared: Prepared, known: Known) -> ParsedPage:
    """trafilatura's article, with huunghi's layout-free rules on top: a headline-like paragraph that is
    one link ("Lire aussi : …", "Xem thêm …") is an inline teaser; a paragraph that is only a date is the
    dateline; a headline-like paragraph the site repeats on many pages is furniture."""
    meta = prepared.meta
    page = ParsedPage(title=meta["title"], published_at=meta["published_at"], author=meta["author"])
    page.section = " › ".join(meta["categories"]) or None
    page.extractor = "trafilatura"
    for kind, text in prepared.paragraphs:
        if kind == "body" and is_headline(text):
            if link := prepared.links.get(title_key(text)):
                page.stories.append(Story("inline", text, url=link))
                continue
            if len(text) < 60 and DATE_LIKE.search(text) and len(SLUG_WORD.findall(ascii_fold(text))) <= 8:
                continue
            page.headline_lines.append(text)
            if known.has_line(title_key(text)) or known.has_title(title_key(text)):
                continue
            page.needs_knowledge = True
        page.paragraphs.append((kind, text))
    first = next((i for i, (kind, _) in enumerate(page.paragraphs) if kind == "body"), None)
    if first is not None:
        page.lead = page.paragraphs[first][1]
        page.paragraphs[first] = ("lead", page.lead)
    return page


# Bounds on one page, far above any article page (a few thousand elements, hundreds of links, a few
# hundred lines): past them a page would cost seconds and gigabytes to parse, and is no article anyway.
MAX_ELEMENTS = 500_000
MAX_LINKS = 50_000
MAX_TEXT_LINES = 100_000


def complexity(raw: RawPage) -> str | None:
    """Why the page is too large to parse, from counts made without parsing it (milliseconds for 20 MB)."""
    if raw.format == "html":
        elements = raw.text.count("<")
        links = len(_LINK_TAG.findall(raw.text)) if elements > MAX_LINKS else 0
        if elements > MAX_ELEMENTS or links > MAX_LINKS:
            return (
                f"about {elements} tags and {links} links (bounds {MAX_ELEMENTS} and {MAX_LINKS}): not an article page"
            )
    elif (lines := raw.text.count("\n")) > MAX_TEXT_LINES:
        return f"{lines} lines (bound {MAX_TEXT_LINES}): not an article page"
    return None


_LINK_TAG = re.compile(r"<a[\s>]", re.IGNORECASE)


def clean_page(
    raw: RawPage, known: Known = NO_KNOWLEDGE, prepared: Prepared | None = None
) -> CleanedPage | Quarantined:
    """One raw page → a cleaned article record, or a quarantine entry saying why not. An HTML page that
    needs knowledge keeps its prepared form for the second pass (`prepared`: parse that, render nothing)."""
    return clean_and_prepare(raw, known, prepared)[0]


def clean_and_prepare(
    raw: RawPage, known: Known = NO_KNOWLEDGE, prepared: Prepared | None = None
) -> tuple[CleanedPage | Quarantined, Prepared | None]:
    """clean_page, and the page's prepared form (None for a text page, or a page refused before it was rendered):
    a page parsed again with more knowledge is parsed from it, not rendered again."""
    if too_complex := complexity(raw):
        return Quarantined.of(raw, "clean", "too_complex", too_complex), prepared
    if raw.format == "html":
        try:
            page, prepared = _html_page(raw.text, raw.url, known, prepared)
        except render.NotHTML as exc:
            return Quarantined.of(raw, "clean", "not_html", str(exc)), prepared
    else:
        page = parse_page(raw.text, known, normalized=True)
    if page.listing:
        return Quarantined.of(raw, "clean", "listing_page", "a list of story summaries, not an article"), prepared
    # A page without title or body is still returned: the `cleaned` gate quarantines it, and counts how
    # many there are (a third of a run losing titles is a layout change that must stop the run).
    body = [text for kind, text in page.paragraphs if kind == "body"]
    complete = page.title is not None and bool(body)
    found = doubts(page)
    cleaned = CleanedPage(
        source_uri=raw.source_uri,
        sha256=raw.sha256,
        url=raw.url or page.url,
        extractor=page.extractor,
        title=page.title,
        kicker=page.kicker,
        language=language_of(" ".join([page.title or "", *(text for _, text in page.paragraphs)])),
        published_at=page.published_at,
        section=page.section,
        author=page.author,
        lead=page.lead,
        paragraphs=page.paragraphs,
        stories=[Sighting(s.block, s.title, s.summary, s.url) for s in page.stories],
        learned_titles=[title_key(s.title) for s in page.stories if s.certain],
        headline_lines=[title_key(line) for line in page.headline_lines],
        needs_knowledge=page.needs_knowledge,
        content_hash=content_hash(page.title, page.lead, body) if complete else None,
        minhash=article_minhash(page.title, page.lead, body) if complete else None,
        parse_confidence=confidence(found),
        parse_doubts=found,
        prepared=prepared if page.needs_knowledge else None,
    )
    return cleaned, prepared


Page = RawPage | tuple[RawPage, Prepared | None]  # a raw page, or (in the second pass) with its prepared form


def clean_chunk(pages: Sequence[Page], known: Knowledge = NO_KNOWLEDGE, stored: Lookup | None = None) -> CleanResult:
    """Clean a chunk of pages; a page that raises goes to quarantine instead of taking the run down.

    With `stored` (the warehouse's knowledge, looked up by key) the chunk asks it only for its own keys: the
    title key of every line of its text pages and prepared forms in one query, then whatever keys the parses
    probed beyond those (an HTML page's, rendered once, by its first parse), parsing again only the pages whose
    late keys turned out known, until none is pending. A parse depends only on the answers to the keys it
    probes, so the outcome is the one all the warehouse's knowledge held at once gives. (Rendering every HTML
    page before its parse, to ask its lines' keys first, cost more than the late query it saves.)"""
    probe = Probe(known, stored)
    items = [(page, None) if isinstance(page, RawPage) else page for page in pages]
    if stored is not None:
        probe.ask({key for raw, prepared in items for line in _lines(raw, prepared) for key in _keys(line)})
    outs: list[CleanedPage | Quarantined] = []
    pending: list[set[str]] = []
    for i, (raw, prepared) in enumerate(items):
        out, prepared = _clean_probed(raw, probe, prepared)
        items[i] = (raw, prepared)  # rendered once: a parse again starts from the prepared form
        outs.append(out)
        pending.append(probe.pending)
    while any(pending):
        probe.ask(set().union(*pending))
        for i, (raw, prepared) in enumerate(items):
            if probe.any_known(pending[i]):
                outs[i] = _clean_probed(raw, probe, prepared)[0]
                pending[i] = probe.pending
            else:  # every key it asked late is unknown, as the parse took it: the parse stands
                pending[i] = set()
    result = CleanResult()
    for out in outs:
        if isinstance(out, Quarantined):
            result.quarantined.append(out)
        else:
            result.articles.append(out)
    return result


def _clean_probed(
    raw: RawPage, probe: Probe, prepared: Prepared | None
) -> tuple[CleanedPage | Quarantined, Prepared | None]:
    """One page cleaned with `probe` and its prepared form, its pending keys (those it asked and no one answered
    yet) noted anew."""
    probe.pending = set()
    try:
        return clean_and_prepare(raw, probe, prepared)
    except Exception as exc:
        return Quarantined.of(raw, "clean", "parser_error", f"{type(exc).__name__}: {exc}"), prepared


def _lines(raw: RawPage, prepared: Prepared | None) -> list[str]:
    """The lines a page's parse may ask about: its text lines, or the prepared lines or paragraphs."""
    if prepared is None:
        return [] if raw.format == "html" or complexity(raw) else raw.text.split("\n")
    if prepared.lines is not None:
        return prepared.lines.split("\n")
    return [text for _, text in prepared.paragraphs]


def _keys(line: str) -> list[str]:
    """The keys a parse of a line asks first: the line's, and for a headline-like line (maybe titles joined)
    those of its word prefixes and suffixes, where joined titles are split."""
    if not is_headline(line):
        return [title_key(line)]
    words = line.split(" ")
    return [title_key(line), *(title_key(" ".join(part)) for c in range(2, len(words) - 1)
                               for part in (words[:c], words[c:]))]  # fmt: skip


def second_pass(
    pages: Sequence[RawPage],
    cleaned: CleanResult,
    known: Knowledge,
    stored_counts: dict[str, int],
    clean: Callable[[list[Page], Knowledge], CleanResult],
    stored: Lookup | None = None,
) -> CleanResult:
    """Clean again, with what the whole run learned, the pages whose parse that knowledge could change.

    Every page is first cleaned with what earlier runs learned; the titles and repeated lines seen across
    all of this run's pages then settle the doubtful lines (joined teaser titles, headline-like lines).
    An HTML page is parsed again from the form the first pass prepared (rendered once); the records
    returned carry no prepared form. `stored` answers, by key, what earlier runs learned beyond `known`:
    `clean` must ask it too.
    """
    learned = learn(cleaned.articles, known, stored_counts)
    doubtful = {r.source_uri: r.prepared for r in cleaned.articles if r.needs_knowledge}
    if doubtful and knowledge_adds(learned, known, stored):
        again = clean([(p, doubtful[p.source_uri]) for p in pages if p.source_uri in doubtful], learned)
        redone = {r.source_uri: r for r in again.articles}
        lost = {q.source_uri for q in again.quarantined}
        cleaned = CleanResult(
            articles=[redone.get(r.source_uri, r) for r in cleaned.articles if r.source_uri not in lost],
            quarantined=cleaned.quarantined + again.quarantined,
        )
    for record in cleaned.articles:
        record.prepared = None
    return cleaned


def knowledge_adds(learned: Knowledge, known: Knowledge, stored: Lookup | None) -> bool:
    """Whether `learned` knows a key that neither `known` nor the warehouse (asked for those keys only) does."""
    titles, lines = learned.titles - known.titles, learned.lines - known.lines
    probe = Probe(NO_KNOWLEDGE, stored)
    probe.ask(titles | lines)
    return any(not probe.has_title(k) for k in titles) or any(not probe.has_line(k) for k in lines)
