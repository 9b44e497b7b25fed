"""Knowledge across pages and runs: what one page cannot tell, other pages can (as CCNet does for web text).

Every story title seen in a sidebar or teaser is a known title; a headline-like line that stands among the
article lines of at least BOILERPLATE_MIN_PAGES distinct articles is site furniture. Knowledge only grows,
so the outcome does not depend on page order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from huunghi.records import CleanedPage

BOILERPLATE_MIN_PAGES = 5  # a headline-like line on this many pages is site furniture


@dataclass(frozen=True)
class Knowledge:
    """What other pages taught: story titles (as title keys) and lines that are furniture site-wide."""

    titles: frozenset[str] = frozenset()
    lines: frozenset[str] = frozenset()


NO_KNOWLEDGE = Knowledge()


def learn(articles: Sequence[CleanedPage], known: Knowledge, stored_counts: dict[str, int] | None = None) -> Knowledge:
    """Knowledge from a whole run: every story title its pages show, plus headline-like lines that stand
    in the articles of at least BOILERPLATE_MIN_PAGES pages (counting the warehouse's pages too), as
    CCNet does for web text. Sets only grow, so the result does not depend on page order."""
    titles = set(known.titles)
    pages: dict[str, set[str]] = defaultdict(set)  # line → distinct articles (content) it stands in
    for article in articles:
        titles.update(article.learned_titles)
        if article.content_hash is None:  # no article in it: its lines say nothing about articles
            continue
        for line in article.headline_lines:
            pages[line].add(article.content_hash)
    stored = stored_counts or {}
    frequent = {
        line
        for line in pages.keys() | stored.keys()
        if len(pages.get(line, ())) + stored.get(line, 0) >= BOILERPLATE_MIN_PAGES
    }
    return Knowledge(titles=frozenset(titles), lines=frozenset(known.lines | frequent))
