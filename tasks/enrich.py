"""Enrichment: what each article says in columns — the places, countries and organizations it names, the
officials with their posts, the Vietnamese–Lao partnerships, the amounts of money.

Teasers, sidebars and captions are about other stories, so only the title (for partnerships) and the
lead and body paragraphs are read. Names are canonicalized through the gazetteer (huunghi/gazetteer.py);
the relation rules are in huunghi/relations/. Everything is regular expressions over data files: a page
costs well under a millisecond, less than its extraction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

import pyarrow as pa
from prefect import task

from huunghi import parallel
from huunghi.caching import CACHE_EXPIRATION, inputs_key
from huunghi.gazetteer import load_gazetteer
from huunghi.relations.amounts import find_amounts
from huunghi.relations.partnerships import find_partnerships
from huunghi.relations.people import find_people, merge
from warehouse.tables import SCHEMAS, build

MENTION_KINDS = ("lead", "body")
TABLES = ("mentions", "people", "partnerships", "amounts")


@dataclass
class EnrichResult:
    entities: pa.Table
    mentions: pa.Table
    people: pa.Table
    partnerships: pa.Table
    amounts: pa.Table

    @classmethod
    def merge(cls, parts: list[EnrichResult]) -> EnrichResult:
        """Batches in input order; the entities (the gazetteer's) are the same in every part."""
        tables = {name: pa.concat_tables([getattr(p, name) for p in parts]) for name in TABLES}
        return cls(entities=parts[0].entities, **tables)


# What a worker gets per article: (article_id, title, published date, [(paragraph position, kind, text)]).
Work = tuple[str, str, date | None, list[tuple[int, str, str]]]


def enrich_chunk(articles: Sequence[Work]) -> dict[str, list[tuple]]:
    """Rows (in each table's column order) for a chunk of articles."""
    gazetteer = load_gazetteer()
    rows: dict[str, list[tuple]] = {name: [] for name in TABLES}
    for aid, title, published, paragraphs in articles:
        year = published.year if published else None
        found_people = []
        for position, _, text in paragraphs:
            rows["mentions"] += [
                (aid, m.entity_id, m.surface, position, m.start, m.end, m.place) for m in gazetteer.find(text)
            ]
            found_people += [(position, p) for p in find_people(text)]
            rows["amounts"] += [
                (aid, a.value, a.currency, a.value_vnd, a.surface, position, a.start) for a in find_amounts(text, year)
            ]
        rows["people"] += [
            (aid, p.name, p.role, p.organization_entity_id, p.province_entity_id, position, p.start)
            for position, p in merge(found_people)
        ]
        lead = next((text for _, kind, text in paragraphs if kind == "lead"), "")
        body = [text for _, kind, text in paragraphs if kind == "body"]
        rows["partnerships"] += [(aid, *p.row()) for p in find_partnerships(title, lead, body, published)]
    return rows


def _table(name: str, rows: list[tuple]) -> pa.Table:
    schema = SCHEMAS[name]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema.names]
    return pa.table(dict(zip(schema.names, columns, strict=True)), schema=schema)


@task(
    name="enrich articles",
    timeout_seconds=3600,
    cache_key_fn=inputs_key,
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
)
def enrich_articles(articles: list[dict]) -> EnrichResult:
    """Mentions, people, partnerships and amounts for a batch of canonical articles, on all cores.

    Workers get only what they read (title, date, lead and body paragraphs), not whole records: shipping
    less to them is what makes the second core pay off.
    """
    work: list[Work] = [
        (
            a["article_id"],
            a["title"],
            a["published_at"].date() if a.get("published_at") else None,
            [(pos, kind, text) for pos, (kind, text) in enumerate(a["paragraphs"]) if kind in MENTION_KINDS],
        )
        for a in articles
    ]
    parts = parallel.map_chunks(enrich_chunk, work)
    tables = {name: _table(name, [row for part in parts for row in part[name]]) for name in TABLES}
    entities = [asdict(e) for e in load_gazetteer().entities.values()]
    return EnrichResult(entities=build("entities", entities), **tables)
