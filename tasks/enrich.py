"""Enrichment: the provinces of Viet Nam and Laos named in each article's lead and body.

Teasers, sidebars and captions are about other stories, so only lead and body paragraphs are read.
Names are canonicalized to ISO 3166-2 codes through the gazetteer in huunghi/data/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pyarrow as pa
from prefect import task

from huunghi import parallel
from huunghi.gazetteer import load_gazetteer
from warehouse.tables import build

MENTION_KINDS = ("lead", "body")


@dataclass
class EnrichResult:
    entities: pa.Table
    mentions: pa.Table


def find_mentions(articles: Sequence[dict]) -> list[dict]:
    gazetteer = load_gazetteer()
    rows = []
    for article in articles:
        for position, (kind, text) in enumerate(article["paragraphs"]):
            if kind not in MENTION_KINDS:
                continue
            rows.extend(
                {
                    "article_id": article["article_id"],
                    "entity_id": m.entity_id,
                    "surface": m.surface,
                    "paragraph_position": position,
                    "start_char": m.start,
                    "end_char": m.end,
                }
                for m in gazetteer.find(text)
            )
    return rows


@task(name="enrich articles")
def enrich_articles(articles: list[dict]) -> EnrichResult:
    """Province mentions for a batch of canonical articles, spread over all cores."""
    mentions = [row for part in parallel.map_chunks(find_mentions, articles) for row in part]
    entities = [asdict(e) for e in load_gazetteer().entities.values()]
    return EnrichResult(entities=build("entities", entities), mentions=build("mentions", mentions))
