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

The DOM is lexbor's (selectolax), walked in one pass of cheap C-level steps; lxml's tree is built only for
trafilatura (`parse_tree`). lexbor builds the tree as browsers do (HTML5), libxml2 did not quite: on broken
markup the lines may differ from the lxml renderer's (text straight inside a <table> comes before it, text
after </html> is kept, <image> is an <img>, a <noscript> in the head ends at the first body tag); the
generated pages and every test page render the same.
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
from selectolax.lexbor import LexborHTMLParser, LexborNode

from huunghi.text import ZERO_WIDTH, normalize_text, title_key

_RULES = json.loads(resources.files("huunghi").joinpath("data/html_render.json").read_text("utf-8"))
BLOCK, PARAGRAPH, SKIP, CELL = (frozenset(_RULES[k].split()) for k in ("block", "paragraph", "skip", "cell"))
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


class NotHTML(ValueError):
    """The input cannot be parsed as an HTML document."""


# lxml refuses a str that declares its encoding (its own check, copied): such a page stays not HTML.
_XML_ENCODING = re.compile(r'^(<\?xml[^>]+)\s+encoding\s*=\s*["\'][^"\']*["\'](\s*\?>|)')


def parse(html: str) -> LexborHTMLParser:
    """The page's DOM by lexbor (selectolax), to render; NotHTML when there is no document to speak of.

    A page that renders to no line of the section's layout goes to trafilatura through `parse_tree` (lxml),
    which refuses what lxml refuses; lxml's one refusal of a page with text, a str declaring its encoding, is
    made here, so the pages lxml refused stay refused.
    """
    if not html.strip():
        raise NotHTML("empty document")
    if _XML_ENCODING.match(html):
        raise NotHTML(
            "Unicode strings with encoding declaration are not supported. "
            "Please use bytes input or XML fragments without declaration."
        )
    return LexborHTMLParser(html)


def parse_tree(html: str) -> lxml.html.HtmlElement:
    """An lxml tree of the page, for trafilatura and its metadata; NotHTML when there is no document to speak of."""
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


def _hidden(attrs: dict[str, str | None]) -> bool:
    return "hidden" in attrs or bool(_HIDDEN_STYLE.search(attrs.get("style") or ""))


def _usable_href(href: str | None) -> bool:
    return bool(href) and not href.startswith(("#", "javascript:", "mailto:", "tel:", "data:"))


_TEXT = "-text"  # lexbor's tag of a text node; a comment's starts with "-" too, a processing instruction has None
# Boundaries are written among the text as characters no text can hold (lexbor's text is decoded UTF-8, never a
# lone surrogate): the lines are then cut in one pass over one string, not line by line as the walk goes.
_BREAK, _PARAGRAPH, _CELL = "\ud800", "\ud801", "\ud802"  # a line ends; a blank line may follow; a cell's space
_NO_MARKS = {ord(_BREAK): None, ord(_PARAGRAPH): None, ord(_CELL): None}


def render(doc: LexborHTMLParser, url: str | None = None) -> Rendered:
    """The page's visible text as lines (see the module docstring), and its links by text."""
    base = url or canonical_url(doc)
    if (base_el := next((n for n in doc.css("base") if "href" in n.attributes), None)) is not None:
        base = urljoin(base or "", base_el.attributes["href"] or "")
    parts: list[str] = []  # text and boundary marks, in document order
    hrefs: list[tuple[str, str]] = []  # (anchor text, href) in document order
    anchors: list[tuple[str, int]] = []  # open anchors: (href, where their text starts in parts)
    root = doc.body if doc.body is not None else doc.root
    hidden = _hidden_elements(root)
    # A walk with an explicit stack of open elements: deep nesting cannot hit the recursion limit.
    stack: list[tuple[LexborNode, str, str | None]] = []  # (element, tag, usable href of an anchor)
    node: LexborNode | None = root
    while node is not None or stack:
        if node is None:  # the last child of the top element is done: its end
            el, tag, href = stack.pop()
            if href is not None and anchors:
                # nested anchors are invalid HTML, but parsers keep them: each gets all the text inside it
                href, at = anchors.pop()
                inside = "".join(parts[at:])
                hrefs.append((inside.translate(_NO_MARKS) if _BREAK in inside or _CELL in inside else inside, href))
            if tag in BLOCK:
                parts.append(_BREAK + _PARAGRAPH if tag in PARAGRAPH else _BREAK)
            node = el.next if stack else None
            continue
        tag = node.tag
        if tag == _TEXT:
            parts.append(node.text_content)
        elif tag and tag[0] != "-" and tag not in SKIP and not (hidden and node.mem_id in hidden):
            if tag in BLOCK:
                parts.append(_BREAK + _PARAGRAPH if tag in PARAGRAPH else _BREAK)
            elif tag == "br":
                parts.append(_BREAK)
            elif tag == "img":
                if alt := (node.attributes.get("alt") or "").strip():
                    parts.append(alt)
            elif tag in CELL:
                parts.append(_CELL)
            href = None
            if tag == "a" and _usable_href(href := node.attributes.get("href")):
                anchors.append((href, len(parts)))
            else:
                href = None
            stack.append((node, tag, href))
            node = node.child
            continue
        node = node.next if stack else None
    text = "\n".join(_lines("".join(parts).replace(_CELL, " ")))
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


def _lines(marked: str) -> list[str]:
    """The lines of text with boundary marks: blocks start lines (whitespace collapsed, empty ones dropped), and a
    paragraph boundary puts a blank line before the next line, when a line came before."""
    lines: list[str] = []
    blank = False
    for segment in marked.split(_BREAK):
        if segment[:1] == _PARAGRAPH:  # marks follow the break they belong to: the line before is written
            blank = True
            segment = segment.lstrip(_PARAGRAPH)
        if segment and (line := " ".join(segment.split())):
            if blank and lines:
                lines.append("")
            lines.append(line)
            blank = False
    return lines


def _hidden_elements(root: LexborNode) -> set[int]:
    """The elements a browser does not show (hidden attribute, display:none, visibility:hidden), by mem_id."""
    found = {n.mem_id for n in root.css("[hidden], [style]") if _hidden(n.attributes)}
    if _hidden(root.attributes):
        found.add(root.mem_id)
    return found


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


def canonical_url(doc: LexborHTMLParser) -> str | None:
    """The page's own URL as it declares it (link rel=canonical, then og:url), when absolute http(s)."""
    for tag, key, value, target in (("link", "rel", "canonical", "href"), ("meta", "property", "og:url", "content")):
        for node in doc.css(tag):
            attrs = node.attributes
            if attrs.get(key) == value and (found := attrs.get(target)) is not None:
                found = found.strip()
                if urlsplit(found).scheme in ("http", "https"):
                    return found
    return None
