"""HTML pages: decode their bytes, and render them as the lines a browser's "save as text" gives.

The section's pages are known only as saved text (see ../shared/samples). Rendering the DOM the way a
browser writes it as text lets one line parser serve both forms, so an HTML page and its text save give
the same article. The rendering rules, as a browser applies them:

- a block element (div, li, header, figcaption, …) starts a new line; a paragraph-like element (p,
  h1–h6, figure, blockquote, lists, tables) also stands between blank lines;
- an image writes its alt text inline (which is why a teaser "image + title link" reads `T T`);
- scripts, styles, forms, hidden elements and comments write nothing; whitespace collapses.

What text cannot carry is kept beside the lines: the link target of every anchor, by its text, so that
stories found by the line parser get their URL.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from huunghi.text import ZERO_WIDTH, normalize_text, title_key

_RULES = json.loads(resources.files("huunghi").joinpath("data/html_render.json").read_text("utf-8"))
BLOCK, PARAGRAPH, SKIP, CELL = (frozenset(_RULES[k].split()) for k in ("block", "paragraph", "skip", "cell"))
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


class NotHTML(ValueError):
    """The input cannot be parsed as an HTML document."""


def parse(html: str) -> lxml.html.HtmlElement:
    """An lxml tree of the page; NotHTML when there is no document to speak of."""
    if not html.strip():
        raise NotHTML("empty document")
    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise NotHTML(str(exc)) from exc
    if tree is None or (tree.find("body") is None and len(tree) == 0):
        raise NotHTML("no document element")
    return tree


@dataclass
class Rendered:
    """A page as text lines, plus the target of every link by the title key of its text."""

    lines: list[str]
    links: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class _Writer:
    """Accumulates inline text into lines; block boundaries end lines, paragraph boundaries add a blank."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []
        self.blank_pending = False

    def text(self, s: str | None) -> None:
        if s:
            self.current.append(s)

    def line_break(self, paragraph: bool = False) -> None:
        if self.current:  # most boundaries (nested blocks) close nothing
            line = " ".join("".join(self.current).split())
            self.current = []
        else:
            line = ""
        if line:
            if self.blank_pending and self.lines:
                self.lines.append("")
            self.lines.append(line)
            self.blank_pending = False
        if paragraph:
            self.blank_pending = True


def _hidden(el: lxml.html.HtmlElement) -> bool:
    return el.get("hidden") is not None or bool(_HIDDEN_STYLE.search(el.get("style") or ""))


def _usable_href(href: str | None) -> bool:
    return bool(href) and not href.startswith(("#", "javascript:", "mailto:", "tel:", "data:"))


def render(tree: lxml.html.HtmlElement, url: str | None = None) -> Rendered:
    """The page's visible text as lines (see the module docstring), and its links by text."""
    base = url or canonical_url(tree)
    if (base_el := tree.find(".//base[@href]")) is not None:
        base = urljoin(base or "", base_el.get("href", ""))
    writer = _Writer()
    hrefs: list[tuple[str, str]] = []  # (anchor text, href) in document order
    anchors: list[tuple[str, list[str]]] = []  # open anchors: (href, their text so far)

    def out(s: str) -> None:
        writer.text(s)
        for _, parts in anchors:  # nested anchors are invalid HTML, but parsers keep them: feed them all
            parts.append(s)

    body = tree.find("body")
    root = body if body is not None else tree
    hidden = _hidden_elements(root)
    # lxml walks the tree in C (deep nesting cannot hit the recursion limit); comments come as one event.
    walker = lxml.etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        if event == "start":
            tag = el.tag
            if tag in SKIP or (hidden and el in hidden):
                walker.skip_subtree()  # its end event still comes, for its tail
                continue
            if tag in BLOCK:
                writer.line_break(paragraph=tag in PARAGRAPH)
            elif tag == "br":
                writer.line_break()
            elif tag == "img":
                if alt := (el.get("alt") or "").strip():
                    out(alt)
            elif tag in CELL:
                writer.text(" ")
            if tag == "a" and _usable_href(href := el.get("href")):
                anchors.append((href, []))
            if el.text:
                out(el.text)
            continue
        if event == "end" and not (el.tag in SKIP or (hidden and el in hidden)):
            if el.tag == "a" and anchors and _usable_href(el.get("href")):
                href, parts = anchors.pop()
                hrefs.append(("".join(parts), href))
            if el.tag in BLOCK:
                writer.line_break(paragraph=el.tag in PARAGRAPH)
        if el.tail:  # after an element, a comment or a processing instruction
            out(el.tail)
    writer.line_break()
    text = "\n".join(writer.lines)
    # Each line's whitespace is already collapsed and stripped; what the markup itself may bring (entities:
    # zero-width characters, decomposed accents) is normalized. Otherwise normalize_text would change nothing.
    if any(ch in text for ch in ZERO_WIDTH) or not unicodedata.is_normalized("NFC", text):
        text = normalize_text(text)
    lines = text.split("\n")
    links: dict[str, str] = {}
    scheme = urlsplit(base).scheme if base else ""
    for text, href in hrefs:
        key = title_key(" ".join(text.split()))
        if key and key not in links:
            links[key] = _join(base, scheme, href) if base else href
    return Rendered(lines=lines if lines != [""] else [], links=links, base_url=base)


def _hidden_elements(root: lxml.html.HtmlElement) -> set[lxml.html.HtmlElement]:
    """The elements a browser does not show (hidden attribute, display:none, visibility:hidden)."""
    return {el for el in root.xpath("descendant-or-self::*[@hidden or @style]") if _hidden(el)}


_WITH_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]")


def _join(base: str, scheme: str, href: str) -> str:
    """urljoin(base, href). An href with scheme and host resolves the same on every page of a scheme (urljoin
    reads only the base's scheme then), so the site's links, repeated on every page, are resolved once."""
    if _WITH_HOST.match(href):
        return _join_absolute(scheme, href)
    return urljoin(base, href)


@lru_cache(maxsize=1 << 15)
def _join_absolute(scheme: str, href: str) -> str:
    return urljoin(f"{scheme}://base/", href)


def canonical_url(tree: lxml.html.HtmlElement) -> str | None:
    """The page's own URL as it declares it (link rel=canonical, then og:url), when absolute http(s)."""
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        for value in tree.xpath(xpath):
            value = str(value).strip()
            if urlsplit(value).scheme in ("http", "https"):
                return value
    return None
