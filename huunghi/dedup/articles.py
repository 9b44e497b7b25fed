"""Articles: the same text saved twice (equal content hash) is kept once; the same article republished with
other furniture and small edits is found with MinHash LSH (datasketch) on word shingles. The copy is
marked `duplicate_of` and keeps no paragraphs, mentions or appearances of its own. What the warehouse
already holds stays canonical, else the smallest id."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from huunghi.dedup.stories import cluster_titles, group_keys, pick
from huunghi.records import ArticleText, CleanedPage
from huunghi.signatures import NUM_PERM, article_id, band_keys, sketch
from huunghi.text import title_key
from huunghi.warehouse.schema import build

if TYPE_CHECKING:
    from datasketch import MinHash

NEAR_DUP_JACCARD = 0.75  # estimated Jaccard of word 5-shingles; a trimmed sentence keeps ~0.85-0.95
LSH_THRESHOLD = 0.7  # the index casts a wider net, the estimate decides
ENRICHED_KINDS = ("lead", "body")  # the paragraphs enrichers read: captions and teasers are about other stories


@dataclass
class DedupState:
    """What the warehouse already holds, as far as this run's pages can meet it (read by `DedupKeys`): the
    whole warehouse gives the same result, only slower."""

    content: dict[str, str] = field(default_factory=dict)  # content hash → canonical article id
    story_keys: dict[str, str] = field(default_factory=dict)  # title key → story id (sharing a group with the run's)
    # canonical article id → MinHash: this run's own articles, and those sharing an LSH band key with one
    signatures: dict[str, bytes] = field(default_factory=dict)


@dataclass
class DedupKeys:
    """The keys dedup looks the warehouse up by, so that nothing proportional to the warehouse is read."""

    content_hashes: list[str]
    article_ids: list[str]
    bands: list[tuple[int, int]]  # (band, band key) of each page's signature
    title_groups: list[str]  # group keys of every story title key the pages show


def lookup_keys(pages: list[CleanedPage]) -> DedupKeys:
    """What to read of the warehouse for these pages (a superset is harmless: dedup checks every match)."""
    titles = {title_key(story.title) for page in pages for story in page.stories}
    return DedupKeys(
        content_hashes=sorted({p.content_hash for p in pages}),
        article_ids=sorted({article_id(p.source_uri) for p in pages}),
        bands=sorted({(band, key) for p in pages for band, key in enumerate(band_keys(p.minhash))}),
        title_groups=sorted({group for key in titles for group in group_keys(key)}),
    )


@dataclass
class DedupResult:
    articles: pa.Table
    paragraphs: pa.Table
    stories: pa.Table
    story_aliases: pa.Table
    story_appearances: pa.Table
    headline_lines: pa.Table
    article_signatures: pa.Table
    article_bands: pa.Table
    story_alias_groups: pa.Table
    canonical: list[ArticleText]  # what enrichers read of the articles that are not duplicates

    def tables(self) -> dict[str, pa.Table]:
        """The warehouse tables, by name."""
        return {name: getattr(self, name) for name in TABLES}


TABLES = ("articles", "paragraphs", "stories", "story_aliases", "story_appearances", "headline_lines",
          "article_signatures", "article_bands", "story_alias_groups")  # fmt: skip


def article_text(aid: str, rec: CleanedPage) -> ArticleText:
    return ArticleText(
        aid,
        rec.title or "",
        rec.published_at.date() if rec.published_at else None,
        tuple((pos, kind, text) for pos, (kind, text) in enumerate(rec.paragraphs) if kind in ENRICHED_KINDS),
    )


def _near_duplicates(
    records: list[tuple[str, CleanedPage]], duplicate_of: dict[str, str], known: DedupState
) -> dict[str, str]:
    """article id → the canonical article it nearly repeats (MinHash LSH, then the Jaccard estimate).

    A held article this run rewrites is matched by its new text, not its old one (the old goes away), and
    not at all when its new text repeats another article.
    """
    candidates = [(aid, rec) for aid, rec in records if aid not in duplicate_of]
    if not candidates:
        return {}  # nothing new: the warehouse's signatures need no index
    from datasketch import MinHashLSH  # imported here: a run with nothing new does not pay for it (scipy)

    rewritten = dict(records)
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM, weights=(0.3, 0.7))  # missing a copy costs more
    sketches: dict[str, MinHash] = {}
    for aid in sorted(known.signatures):
        if aid in duplicate_of:
            continue
        sketches[aid] = sketch(rewritten[aid].minhash if aid in rewritten else known.signatures[aid])
        lsh.insert(aid, sketches[aid])
    found: dict[str, str] = {}
    for aid, rec in candidates:  # sorted by article id
        if aid in known.signatures:
            continue  # already canonical in the warehouse: it stays so
        mine = sketch(rec.minhash)
        similar = sorted(
            (other not in known.signatures, other)  # what the warehouse holds first, then the smallest id
            for other in lsh.query(mine)
            if mine.jaccard(sketches[other]) >= NEAR_DUP_JACCARD
        )
        if similar:
            found[aid] = similar[0][1]
        else:
            sketches[aid] = mine
            lsh.insert(aid, mine)
    return found


def dedup(pages: list[CleanedPage], known: DedupState, run_id: str) -> DedupResult:
    """Assign ids, mark duplicate and near-duplicate articles, and fold stories into one row each.

    Complete pages only: the `cleaned` suite sets the others aside before dedup.
    """
    if incomplete := [r.source_uri for r in pages if not r.complete]:
        raise ValueError(f"{len(incomplete)} page(s) without title or body reached dedup, e.g. {incomplete[0]}")
    records = sorted(((article_id(r.source_uri), r) for r in pages), key=lambda pair: pair[0])
    first_of: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}
    # An article the warehouse holds as canonical and this run rewrites goes first: it stays canonical.
    for aid, rec in sorted(records, key=lambda pair: (pair[0] not in known.signatures, pair[0])):
        canon = known.content.get(rec.content_hash) or first_of.setdefault(rec.content_hash, aid)
        if canon != aid:
            duplicate_of[aid] = canon
    duplicate_of.update(_near_duplicates(records, duplicate_of, known))
    for aid in duplicate_of:  # a copy of an article that is itself a near-duplicate points at the canonical one
        while duplicate_of[aid] in duplicate_of:
            duplicate_of[aid] = duplicate_of[duplicate_of[aid]]

    articles, paragraphs, sightings, canonical, headlines, signatures, bands = [], [], [], [], [], [], []
    for aid, rec in records:
        articles.append(
            {
                "source_uri": rec.source_uri,
                "url": rec.url,
                "title": rec.title,
                "kicker": rec.kicker,
                "language": rec.language,
                "published_at": rec.published_at,
                "section": rec.section,
                "author": rec.author,
                "lead": rec.lead,
                "extractor": rec.extractor,
                "parse_confidence": rec.parse_confidence,
                "parse_doubts": rec.parse_doubts,
                "article_id": aid,
                "body": "\n\n".join(rec.body),
                "duplicate_of": duplicate_of.get(aid),
                "content_hash": rec.content_hash,
                "sha256": rec.sha256,
                "run_id": run_id,
            }
        )
        if aid in duplicate_of:
            continue  # kept once: a duplicate's paragraphs and stories are its canonical's
        canonical.append(article_text(aid, rec))
        signatures.append({"article_id": aid, "minhash": rec.minhash})
        bands.extend({"article_id": aid, "band": b, "band_key": key} for b, key in enumerate(band_keys(rec.minhash)))
        paragraphs.extend(
            {"article_id": aid, "position": pos, "kind": kind, "text": text}
            for pos, (kind, text) in enumerate(rec.paragraphs)
        )
        headlines.extend({"line_key": key, "article_id": aid} for key in sorted(set(rec.headline_lines)))
        sightings.extend(
            (aid, pos, block, title, summary, url) for pos, (block, title, summary, url) in enumerate(rec.stories)
        )

    ids = cluster_titles({title_key(s[3]) for s in sightings}, known.story_keys)
    titles: dict[str, Counter[str]] = defaultdict(Counter)
    summaries: dict[str, set[str]] = defaultdict(set)
    urls: dict[str, Counter[str]] = defaultdict(Counter)
    appearances = []
    for aid, pos, block, title, summary, url in sightings:
        sid = ids[title_key(title)]
        titles[sid][title] += 1
        if summary:
            summaries[sid].add(summary)
        if url:
            urls[sid][url] += 1
        appearances.append({"story_id": sid, "article_id": aid, "block": block, "position": pos, "url": url})
    stories = [
        {
            "story_id": sid,
            "title": pick(forms),
            "summary": min(summaries[sid], key=lambda s: (-len(s), s)) if summaries[sid] else None,
            "url": pick(urls[sid]) if urls[sid] else None,
            "first_run_id": run_id,
        }
        for sid, forms in sorted(titles.items())
    ]
    aliases = [{"title_key": k, "story_id": sid} for k, sid in sorted(ids.items()) if k not in known.story_keys]
    groups = [{"group_key": g, "title_key": a["title_key"]} for a in aliases for g in group_keys(a["title_key"])]
    return DedupResult(
        articles=build("articles", articles),
        paragraphs=build("paragraphs", paragraphs),
        stories=build("stories", stories),
        story_aliases=build("story_aliases", aliases),
        story_appearances=build("story_appearances", appearances),
        headline_lines=build("headline_lines", headlines),
        article_signatures=build("article_signatures", signatures),
        article_bands=build("article_bands", bands),
        story_alias_groups=build("story_alias_groups", groups),
        canonical=canonical,
    )
