"""Deduplication: one row per story however often it repeats, and repeated articles marked.

Sidebar and teaser stories repeat within a page and across pages; each becomes one `stories` row keyed
by its normalized title, and every sighting a `story_appearances` row. An article whose title, lead and
body equal an earlier one (the same text saved twice) is kept once: the other is marked `duplicate_of`.
Everything is decided on sorted keys, so input order and batching never change the outcome.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
from prefect import task

from huunghi.text import stable_id, title_key
from warehouse.tables import build


@dataclass
class DedupResult:
    articles: pa.Table
    paragraphs: pa.Table
    stories: pa.Table
    appearances: pa.Table
    headline_lines: pa.Table
    canonical: list[dict]  # cleaned records of the articles that are not duplicates, with article_id


def article_id(source_uri: str) -> str:
    return stable_id("article", source_uri)


@lru_cache(maxsize=65536)
def story_id(title: str) -> str:
    """Stories repeat on page after page: the id of a title is computed once."""
    return stable_id("story", title_key(title))


def _pick(forms: Counter[str]) -> str:
    """The most frequent form; ties broken by the text itself, never by arrival order."""
    return min(forms, key=lambda f: (-forms[f], f))


@task(name="deduplicate")
def dedup_articles(records: list[dict], known: dict[str, str], run_id: str) -> DedupResult:
    """Assign ids, mark duplicate articles, and fold stories into one row each.

    `known` maps content hashes already in the warehouse to their canonical article id: the article
    loaded first stays canonical; within one run the smallest article id is.
    """
    articles, paragraphs, appearances, canonical, headlines = [], [], [], [], []
    first_of: dict[str, str] = {}
    titles: dict[str, Counter[str]] = defaultdict(Counter)
    summaries: dict[str, set[str]] = defaultdict(set)
    for rec in sorted(records, key=lambda r: article_id(r["source_uri"])):
        aid = article_id(rec["source_uri"])
        chash = rec["content_hash"]
        canon = known.get(chash) or first_of.setdefault(chash, aid)
        duplicate_of = None if canon == aid else canon
        articles.append(
            {
                **{k: rec[k] for k in ("source_uri", "url", "title", "published_at", "section", "author", "lead")},
                "article_id": aid,
                "body": "\n\n".join(text for kind, text in rec["paragraphs"] if kind == "body"),
                "duplicate_of": duplicate_of,
                "content_hash": chash,
                "sha256": rec["sha256"],
                "run_id": run_id,
            }
        )
        if duplicate_of is not None:
            continue  # kept once: a duplicate's paragraphs and stories are its canonical's
        canonical.append({**rec, "article_id": aid})
        headlines.extend({"line_key": key, "article_id": aid} for key in sorted(set(rec["headline_lines"])))
        paragraphs.extend(
            {"article_id": aid, "position": pos, "kind": kind, "text": text}
            for pos, (kind, text) in enumerate(rec["paragraphs"])
        )
        for pos, (block, title, summary) in enumerate(rec["stories"]):
            sid = story_id(title)
            titles[sid][title] += 1
            if summary:
                summaries[sid].add(summary)
            appearances.append({"story_id": sid, "article_id": aid, "block": block, "position": pos})
    stories = [
        {
            "story_id": sid,
            "title": _pick(forms),
            "summary": min(summaries[sid], key=lambda s: (-len(s), s)) if summaries[sid] else None,
            "url": None,
            "first_run_id": run_id,
        }
        for sid, forms in sorted(titles.items())
    ]
    return DedupResult(
        articles=build("articles", articles),
        paragraphs=build("paragraphs", paragraphs),
        stories=build("stories", stories),
        appearances=build("story_appearances", appearances),
        headline_lines=build("headline_lines", headlines),
        canonical=canonical,
    )
