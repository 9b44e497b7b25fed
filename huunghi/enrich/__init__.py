"""Enrichment: what each article says, in columns — one enricher per warehouse table.

An enricher reads an `ArticleText` (the title, the date, and the lead and body paragraphs: teasers,
sidebars and captions are about other stories) and returns that article's rows of its table, in the
table's column order after `article_id`. `ENRICHERS` is the one list the pipeline reads: the enrich task
runs each of them, the gates validate each table against `expectations/<table>.json`, the load writes
and replaces each table per article. Adding one is a module here, its line below, its table in
`warehouse/schema.sql` and its suite (ARCHITECTURE.md, "to add X, touch Y").

Everything is rules over data files (huunghi/data/): a page costs well under a millisecond, less than its
extraction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from huunghi.enrich.amounts import AmountsEnricher
from huunghi.enrich.base import ArticleText, Enricher
from huunghi.enrich.gazetteer import load_gazetteer
from huunghi.enrich.mentions import MentionsEnricher
from huunghi.enrich.partnerships import PartnershipsEnricher
from huunghi.enrich.people import PeopleEnricher

ENRICHERS: tuple[Enricher, ...] = (MentionsEnricher(), PeopleEnricher(), PartnershipsEnricher(), AmountsEnricher())
TABLES: tuple[str, ...] = tuple(e.table for e in ENRICHERS)
REFERENCE_TABLE = "entities"  # the gazetteer's entities, which every mention, body and province points at

__all__ = ["ENRICHERS", "TABLES", "ArticleText", "Enricher", "enrich_chunk", "reference_rows"]


def enrich_chunk(articles: Sequence[ArticleText]) -> dict[str, list[tuple]]:
    """Rows of every enricher's table for a chunk of articles, article by article (the order is the input's)."""
    rows: dict[str, list[tuple]] = {e.table: [] for e in ENRICHERS}
    for article in articles:
        for enricher in ENRICHERS:
            rows[enricher.table] += [(article.article_id, *row) for row in enricher.rows(article)]
    return rows


def reference_rows() -> list[dict]:
    """The `entities` table: every place, country and organization the gazetteer knows."""
    return [asdict(e) for e in load_gazetteer().entities.values()]
