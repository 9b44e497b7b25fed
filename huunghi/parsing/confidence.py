"""How sure the parser is of a page: evidence that holds on any page, not patterns of the pages we have seen.

Each doubt is a fact about the parsed page that real pages showed to go with wrong lines (a page without its
header read by position alone; a run of unaccented syllables inside an article line, which Vietnamese prose
never writes but slugs and image names do; markup left in the text; a headline-like line kept in the body;
a teaser line not yet split; a body too short to be an article). The confidence is the product of the
weights of the doubts found, so one strong doubt or several weak ones take a page below the review
threshold (`articles_to_review`). Weights live in data/confidence.json.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from huunghi.parsing.lines import ParsedPage, is_headline

REVIEW_BELOW = 0.7  # pages under this confidence are listed for review
_UNACCENTED_RUN = re.compile(r"(?:\b[a-z]{2,}\b[ -]){4,}\b[a-z]{2,}\b")  # 5+ plain lowercase words in a row
_MARKUP = re.compile(r"!\[|\]\(|\s\|$|^\|")
_MIN_BODY_CHARS = 200
_JOINED_CHARS = 120  # a headline-like body line longer than this is titles joined on one line
_CAPTION_LIKE_CHARS = 90


@cache
def weights() -> dict[str, float]:
    return json.loads(resources.files("huunghi").joinpath("data/confidence.json").read_text("utf-8"))["weights"]


def _foreign_text(line: str) -> bool:
    """Mostly Latin letters without any Vietnamese mark: an English or French line needs no doubt."""
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isascii() for c in letters)


def doubts(page: ParsedPage) -> list[str]:
    """The reasons to doubt a parse, sorted (empty for a page read with every expected landmark)."""
    found: set[str] = set()
    if page.title is None:
        return ["no_title"]
    if page.extractor == "layout":
        if page.section is None and page.rendering == "save":
            found.add("no_breadcrumb")
        if page.published_at is None:
            found.add("no_date")
    body = [text for kind, text in page.paragraphs if kind == "body"]
    if not body:
        found.add("no_body")
    elif sum(len(t) for t in body) < _MIN_BODY_CHARS:
        found.add("short_body")
    lines = [page.title, *(text for _, text in page.paragraphs)]
    all_foreign = all(_foreign_text(line) for line in lines if line)
    for line in lines:
        if not all_foreign and _UNACCENTED_RUN.search(line) and not _foreign_text(line):
            found.add("unaccented_run")
        if _MARKUP.search(line):
            found.add("markup_in_text")
    for text in body:
        if is_headline(text):  # no sentence end: a headline kept in the article, or several joined on a line
            found.add("headline_in_body" if len(text) < _JOINED_CHARS else "joined_headlines_in_body")
        elif (
            len(text) <= _CAPTION_LIKE_CHARS
            and ". " not in text.rstrip(".")
            and "," not in text
            and not text.endswith("?")  # an interview's question, not a caption
        ):
            found.add("caption_like_body")  # one short plain sentence: a caption without its credit, as often as not
    if any(not s.certain for s in page.stories):
        found.add("unsplit_teaser")
    if page.title.endswith(":"):
        found.add("title_ends_with_colon")
    return sorted(found)


def confidence(found: list[str]) -> float:
    """1.0 without doubts; the product of the doubts' weights otherwise (rounded to 3 places)."""
    value = 1.0
    for doubt in found:
        value *= weights().get(doubt, 0.8)
    return round(value, 3)
