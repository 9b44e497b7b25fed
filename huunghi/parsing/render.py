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
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from huunghi.text import normalize_text, title_key

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
        line = " ".join("".join(self.current).split())
        self.current = []
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
    links: dict[str, str] = {}
    anchors: list[tuple[str, int]] = []  # open anchors: (href, index in an anchor-text list)
    anchor_text: list[list[str]] = []
    body = tree.find("body")
    # Iterative walk (deeply nested markup must not hit the recursion limit): (element, entering?).
    stack: list[tuple[lxml.html.HtmlElement, bool]] = [(body if body is not None else tree, True)]
    while stack:
        el, entering = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else None
        if entering:
            if tag is None or tag in SKIP or _hidden(el):
                _text_out(writer, anchor_text, el.tail)
                continue
            if tag in BLOCK:
                writer.line_break(paragraph=tag in PARAGRAPH)
            elif tag == "br":
                writer.line_break()
            elif tag == "img":
                alt = el.get("alt")
                _text_out(writer, anchor_text, alt.strip() if alt else None)
            elif tag in CELL:
                writer.text(" ")
            if tag == "a" and _usable_href(el.get("href")):
                anchors.append((el.get("href", ""), len(anchor_text)))
                anchor_text.append([])
            _text_out(writer, anchor_text, el.text)
            stack.append((el, False))
            stack.extend((child, True) for child in reversed(el))
        else:
            if tag == "a" and anchors and anchors[-1][1] == len(anchor_text) - 1 and _usable_href(el.get("href")):
                href, index = anchors.pop()
                key = title_key(" ".join("".join(anchor_text.pop(index)).split()))
                if key and key not in links:
                    links[key] = urljoin(base, href) if base else href
            if tag in BLOCK:
                writer.line_break(paragraph=tag in PARAGRAPH)
            _text_out(writer, anchor_text, el.tail)
    writer.line_break()
    lines = normalize_text("\n".join(writer.lines)).split("\n")
    return Rendered(lines=lines if lines != [""] else [], links=links, base_url=base)


def _text_out(writer: _Writer, anchor_text: list[list[str]], s: str | None) -> None:
    if s:
        writer.text(s)
        for parts in anchor_text:  # nested anchors are invalid HTML, but parsers keep them: feed them all
            parts.append(s)


def canonical_url(tree: lxml.html.HtmlElement) -> str | None:
    """The page's own URL as it declares it (link rel=canonical, then og:url), when absolute http(s)."""
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        for value in tree.xpath(xpath):
            value = str(value).strip()
            if urlsplit(value).scheme in ("http", "https"):
                return value
    return None
