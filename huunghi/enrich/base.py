"""The enricher interface and the record every enricher reads."""

from __future__ import annotations

from typing import ClassVar, Protocol

from huunghi.records import ArticleText


class Enricher(Protocol):
    """Fills one warehouse table: `rows` gives an article's rows, in the table's columns after article_id."""

    table: ClassVar[str]

    def rows(self, article: ArticleText) -> list[tuple]: ...
