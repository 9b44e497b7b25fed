"""Mentions: the places, countries and organizations an article's lead and body name, as gazetteer entities.

The gazetteer (huunghi.enrich.gazetteer) is one regular expression, longest spelling first; a province
right after a provincial body's name is also a mention of that body. Offsets are character offsets in
the paragraph.
"""

from __future__ import annotations

from huunghi.enrich.gazetteer import load_gazetteer
from huunghi.records import ArticleText


class MentionsEnricher:
    """The `mentions` table."""

    table = "mentions"

    def rows(self, article: ArticleText) -> list[tuple]:
        gazetteer = load_gazetteer()
        return [
            (m.entity_id, m.surface, position, m.start, m.end, m.place)
            for position, _, text in article.paragraphs
            for m in gazetteer.find(text)
        ]
