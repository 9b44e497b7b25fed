"""Knowledge across pages and runs: what one page cannot tell, other pages can (as CCNet does for web text).

Every story title seen in a sidebar or teaser is a known title; a headline-like line that stands among the
article lines of at least BOILERPLATE_MIN_PAGES distinct articles is site furniture. Knowledge only grows,
so the outcome does not depend on page order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from huunghi.records import CleanedPage

BOILERPLATE_MIN_PAGES = 5  # a headline-like line on this many pages is site furniture


@dataclass(frozen=True)
class Knowledge:
    """What other pages taught: story titles (as title keys) and lines that are furniture site-wide."""

    titles: frozenset[str] = frozenset()
    lines: frozenset[str] = frozenset()

    def has_title(self, key: str) -> bool:
        return key in self.titles

    def has_line(self, key: str) -> bool:
        return key in self.lines


NO_KNOWLEDGE = Knowledge()


def learn(articles: Sequence[CleanedPage], known: Knowledge, stored_counts: dict[str, int] | None = None) -> Knowledge:
    """Knowledge from a whole run: every story title its pages show, plus headline-like lines that stand
    in the articles of at least BOILERPLATE_MIN_PAGES pages (counting the warehouse's pages too), as
    CCNet does for web text. Sets only grow, so the result does not depend on page order."""
    return learn_from(
        {title for article in articles for title in article.learned_titles},
        # a page without an article (no content hash) says nothing about articles
        ((line, a.content_hash) for a in articles if a.content_hash is not None for line in a.headline_lines),
        known,
        stored_counts,
    )


def learn_from(
    titles: Iterable[str],
    lines: Iterable[tuple[str, str]],
    known: Knowledge,
    stored_counts: dict[str, int] | None = None,
) -> Knowledge:
    """`learn` from the run's story titles and its (headline line, content hash of the article it stands in)
    pairs, however they were gathered (the flow gathers them batch by batch, never holding the pages)."""
    pages: dict[str, set[str]] = defaultdict(set)  # line → distinct articles (content) it stands in
    for line, content_hash in lines:
        pages[line].add(content_hash)
    stored = stored_counts or {}
    frequent = {
        line
        for line in pages.keys() | stored.keys()
        if len(pages.get(line, ())) + stored.get(line, 0) >= BOILERPLATE_MIN_PAGES
    }
    return Knowledge(titles=frozenset(known.titles | set(titles)), lines=frozenset(known.lines | frequent))


Lookup = Callable[[Sequence[str]], Knowledge]  # title keys → those of them the warehouse knows (as titles, as lines)


class Probe:
    """Knowledge answered key by key: from `known` (held whole: small, the run's own), else from what `stored`
    (the warehouse, looked up by key) answered so far. A key not asked yet answers no and is noted as pending:
    the parse that probed it stands only once the key is looked up and found unknown. So a run asks the
    warehouse only for its own keys, never loads all it knows (millions of keys at 10^6 articles)."""

    def __init__(self, known: Knowledge, stored: Lookup | None) -> None:
        self.known = known
        self.stored = stored
        self.asked: set[str] = set()
        self.found = Knowledge()
        self.pending: set[str] = set()

    def has_title(self, key: str) -> bool:
        return key in self.known.titles or self._stored(key, self.found.titles)

    def has_line(self, key: str) -> bool:
        return key in self.known.lines or self._stored(key, self.found.lines)

    def _stored(self, key: str, found: frozenset[str]) -> bool:
        if self.stored is None:
            return False
        if key not in self.asked:
            self.pending.add(key)
            return False
        return key in found

    def ask(self, keys: Iterable[str]) -> None:
        """Look up, in one query, the keys not asked yet."""
        new = sorted(set(keys) - self.asked)
        if self.stored is None or not new:
            return
        got = self.stored(new)
        self.found = Knowledge(self.found.titles | got.titles, self.found.lines | got.lines)
        self.asked.update(new)

    def any_known(self, keys: Iterable[str]) -> bool:
        return any(k in self.found.titles or k in self.found.lines for k in keys)


Known = Knowledge | Probe  # what the parser asks: has_title(key), has_line(key)
