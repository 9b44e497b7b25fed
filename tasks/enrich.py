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
from warehouse.tables import SCHEMAS, build

MENTION_KINDS = ("lead", "body")


@dataclass
class EnrichResult:
    entities: pa.Table
    mentions: pa.Table


MENTION_COLUMNS = ("article_id", "entity_id", "surface", "paragraph_position", "start_char", "end_char")


def find_mentions(articles: Sequence[tuple[str, list[tuple[int, str]]]]) -> list[tuple]:
    """Mention rows (MENTION_COLUMNS) in (article_id, [(paragraph position, text)]) of lead and body."""
    gazetteer = load_gazetteer()
    return [
        (aid, m.entity_id, m.surface, position, m.start, m.end)
        for aid, paragraphs in articles
        for position, text in paragraphs
        for m in gazetteer.find(text)
    ]


@task(name="enrich articles")
def enrich_articles(articles: list[dict]) -> EnrichResult:
    """Province mentions for a batch of canonical articles, spread over all cores.

    Workers get only what they read (lead and body paragraphs), not whole records: shipping less to
    them is what makes the second core pay off.
    """
    work = [
        (a["article_id"], [(pos, text) for pos, (kind, text) in enumerate(a["paragraphs"]) if kind in MENTION_KINDS])
        for a in articles
    ]
    rows = [row for part in parallel.map_chunks(find_mentions, work) for row in part]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in MENTION_COLUMNS]
    mentions = pa.table(dict(zip(MENTION_COLUMNS, columns, strict=True)), schema=SCHEMAS["mentions"])
    entities = [asdict(e) for e in load_gazetteer().entities.values()]
    return EnrichResult(entities=build("entities", entities), mentions=mentions)
