"""Articles: the same text saved twice (equal content hash) is kept once; the same article republished with
other furniture and small edits is found with MinHash LSH (datasketch) on word shingles. The copy is
marked `duplicate_of` and keeps no paragraphs, mentions or appearances of its own. What the warehouse
already holds stays canonical, else the smallest id."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from huunghi.dedup.stories import cluster_titles, group_keys, pick
from huunghi.memory import bounded_duckdb
from huunghi.records import ArticleText, CleanedPage
from huunghi.signatures import LSH_BANDS, NUM_PERM, article_id, band_keys
from huunghi.text import title_key
from huunghi.warehouse.schema import build, schemas

NEAR_DUP_JACCARD = 0.75  # estimated Jaccard of word 5-shingles; a trimmed sentence keeps ~0.85-0.95
# DuckDB's memory while it joins the run's LSH bands (16 rows a page) into candidate pairs; it spills beyond.
PAIRS_MEMORY = "128MB"
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
    bands: list[tuple[int, int]] | pa.Table  # (band, band key) of each page's signature (a table: band, band_key)
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


# Deciding: which article each page is, from its keys (content hash, signature, band keys), never its text.


def exact_duplicates(hashes: Iterable[tuple[str, str]], known: DedupState) -> dict[str, str]:
    """article id → the canonical article of the same content hash, for (article id, content hash) pairs. An
    article the warehouse holds as canonical and this run rewrites goes first: it stays canonical."""
    first_of: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}
    for aid, content_hash in sorted(hashes, key=lambda pair: (pair[0] not in known.signatures, pair[0])):
        canon = known.content.get(content_hash) or first_of.setdefault(content_hash, aid)
        if canon != aid:
            duplicate_of[aid] = canon
    return duplicate_of


def jaccard(a: bytes, b: bytes) -> float:
    """The Jaccard estimate of two signatures (datasketch's MinHash.jaccard: the share of equal values)."""
    return float(np.count_nonzero(np.frombuffer(a, np.uint64) == np.frombuffer(b, np.uint64))) / NUM_PERM


def similar_pairs(
    bands: list[pa.Table | ds.Dataset], skip: Iterable[str], signatures: Callable[[list[str]], dict[str, bytes]]
) -> dict[str, set[str]]:
    """article id → the articles it shares an LSH band with (the banding datasketch's MinHashLSH uses, see
    signatures.band_keys) whose estimated Jaccard reaches NEAR_DUP_JACCARD. `bands` hold (article_id, band,
    band_key) rows; `skip` the ids left out (exact copies); `signatures` gives the signatures of the ids in a
    pair. The candidates are found by a join in DuckDB: only the pairs reach Python, not the signatures."""
    pairs = _candidate_pairs(bands, skip)
    found = signatures(sorted({aid for pair in pairs for aid in pair}))
    near: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        if jaccard(found[a], found[b]) >= NEAR_DUP_JACCARD:
            near[a].add(b)
            near[b].add(a)
    return near


def _candidate_pairs(bands: list[pa.Table | ds.Dataset], skip: Iterable[str]) -> list[tuple[str, str]]:
    """The pairs of ids that share a band, sorted, found band by band (a join of one band's rows holds 1/16 of what
    one join of every band held: the bands of 200,000 pages, 3.2 M rows, +590 MB in one join, +190 MB band by band) in
    DuckDB within PAIRS_MEMORY."""
    pairs: set[tuple[str, str]] = set()
    with bounded_duckdb(PAIRS_MEMORY) as con:
        for i, source in enumerate(bands):
            con.register(f"bands_{i}", source)
        every = " UNION ALL ".join(f"SELECT article_id, band_key FROM bands_{i} WHERE band = $band" for i in
                                   range(len(bands)))  # fmt: skip
        con.register("skip", pa.table({"article_id": pa.array(sorted(set(skip)), pa.string())}))
        for band in range(LSH_BANDS):
            pairs.update(con.execute(f"""
                WITH kept AS (SELECT * FROM ({every}) WHERE article_id NOT IN (SELECT article_id FROM skip))
                SELECT a.article_id, b.article_id FROM kept a JOIN kept b USING (band_key)
                WHERE a.article_id < b.article_id""", {"band": band}).fetchall())  # fmt: skip
    return sorted(pairs)


def near_duplicates(
    ids: Iterable[str], near: dict[str, set[str]], duplicate_of: dict[str, str], known: DedupState
) -> dict[str, str]:
    """article id → the canonical article it nearly repeats: the run's articles in id order, each against what
    the warehouse holds and the run's articles kept so far (as a MinHash LSH index grows), what the warehouse
    holds first, then the smallest id. A held article this run rewrites is matched by its new text (`near` is
    computed on it), and not at all when its new text repeats another article."""
    index = {aid for aid in known.signatures if aid not in duplicate_of}
    found: dict[str, str] = {}
    for aid in sorted(ids):
        if aid in duplicate_of or aid in known.signatures:
            continue  # an exact copy; or already canonical in the warehouse: it stays so
        similar = sorted((other not in known.signatures, other) for other in near.get(aid, ()) if other in index)
        if similar:
            found[aid] = similar[0][1]
        else:
            index.add(aid)
    return found


def settle(duplicate_of: dict[str, str]) -> dict[str, str]:
    """A copy of an article that is itself a copy points at the canonical one."""
    for aid in duplicate_of:
        while duplicate_of[aid] in duplicate_of:
            duplicate_of[aid] = duplicate_of[duplicate_of[aid]]
    return duplicate_of


def band_rows(signatures: Iterable[tuple[str, bytes]]) -> pa.Table:
    """(article_id, band, band_key) of each signature: the `article_bands` rows, and what `similar_pairs` joins."""
    ids, bands, keys = [], [], []
    for aid, signature in signatures:
        for band, key in enumerate(band_keys(signature)):
            ids.append(aid)
            bands.append(band)
            keys.append(key)
    return pa.table({"article_id": pa.array(ids, pa.string()), "band": pa.array(bands, pa.int8()),
                     "band_key": pa.array(keys, pa.uint64())})  # fmt: skip


def known_bands(known: DedupState, run_ids: set[str]) -> pa.Table:
    """The bands of the warehouse's signatures that this run does not rewrite (a rewritten one counts by its new
    text, whose bands are the run's)."""
    return band_rows((aid, sig) for aid, sig in sorted(known.signatures.items()) if aid not in run_ids)


# Building: the tables of a batch of pages, once every page's fate is known.

APPEARANCE_KEYS = pa.schema([("title_key", pa.string()), ("article_id", pa.string()), ("block", pa.string()),
                             ("position", pa.int32()), ("url", pa.string())])  # fmt: skip
PART_TABLES = ("articles", "paragraphs", "headline_lines", "article_signatures", "article_bands")


@dataclass
class StoryForms:
    """How one story title key was shown across pages: the title's forms, its summaries and links."""

    titles: Counter[str] = field(default_factory=Counter)
    summaries: set[str] = field(default_factory=set)
    urls: Counter[str] = field(default_factory=Counter)

    def add(self, other: StoryForms) -> None:
        self.titles.update(other.titles)
        self.summaries |= other.summaries
        self.urls.update(other.urls)


@dataclass
class BuiltPart:
    """A batch of pages as table rows: the per-article tables, its story sightings by title key (their story
    ids come once every key of the run is known), the forms of each title key, and the canonical articles'
    text for the enrichers."""

    tables: dict[str, pa.Table]
    appearance_keys: pa.Table
    forms: dict[str, StoryForms]
    canonical: list[ArticleText]


def build_part(pages: Iterable[CleanedPage], duplicate_of: dict[str, str], run_id: str) -> BuiltPart:
    """The rows of these pages (in article id order), each page's fate given by `duplicate_of`. Complete pages
    only: the `cleaned` suite sets the others aside before dedup."""
    records = sorted(((article_id(r.source_uri), r) for r in pages), key=lambda pair: pair[0])
    if incomplete := [r.source_uri for _, r in records if not r.complete]:
        raise ValueError(f"{len(incomplete)} page(s) without title or body reached dedup, e.g. {incomplete[0]}")
    articles, paragraphs, headlines, signatures, canonical, sightings = [], [], [], [], [], []
    forms: dict[str, StoryForms] = defaultdict(StoryForms)
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
        signatures.append((aid, rec.minhash))
        paragraphs.extend(
            {"article_id": aid, "position": pos, "kind": kind, "text": text}
            for pos, (kind, text) in enumerate(rec.paragraphs)
        )
        headlines.extend({"line_key": key, "article_id": aid} for key in sorted(set(rec.headline_lines)))
        for pos, (block, title, summary, url) in enumerate(rec.stories):
            key = title_key(title)
            seen = forms[key]
            seen.titles[title] += 1
            if summary:
                seen.summaries.add(summary)
            if url:
                seen.urls[url] += 1
            sightings.append({"title_key": key, "article_id": aid, "block": block, "position": pos, "url": url})
    return BuiltPart(
        tables={
            "articles": build("articles", articles),
            "paragraphs": build("paragraphs", paragraphs),
            "headline_lines": build("headline_lines", headlines),
            "article_signatures": build("article_signatures", [{"article_id": a, "minhash": m} for a, m in signatures]),
            "article_bands": band_rows(signatures).cast(schemas()["article_bands"]),
        },
        appearance_keys=pa.Table.from_pylist(sightings, schema=APPEARANCE_KEYS),
        forms=dict(forms),
        canonical=canonical,
    )


@dataclass
class StoryTables:
    ids: dict[str, str]  # title key → story id, for every key the run's canonical pages show
    stories: pa.Table
    story_aliases: pa.Table
    story_alias_groups: pa.Table


def story_tables(forms: dict[str, StoryForms], known: DedupState, run_id: str) -> StoryTables:
    """One row per story of the run's title keys (a new story's title is its most frequent form, its summary the
    longest seen), and the aliases and alias groups of the keys the warehouse did not know."""
    ids = cluster_titles(set(forms), known.story_keys)
    by_story: dict[str, StoryForms] = defaultdict(StoryForms)
    for key, seen in forms.items():
        by_story[ids[key]].add(seen)
    stories = [
        {
            "story_id": sid,
            "title": pick(seen.titles),
            "summary": min(seen.summaries, key=lambda s: (-len(s), s)) if seen.summaries else None,
            "url": pick(seen.urls) if seen.urls else None,
            "first_run_id": run_id,
        }
        for sid, seen in sorted(by_story.items())
    ]
    aliases = [{"title_key": k, "story_id": sid} for k, sid in sorted(ids.items()) if k not in known.story_keys]
    groups = [{"group_key": g, "title_key": a["title_key"]} for a in aliases for g in group_keys(a["title_key"])]
    return StoryTables(ids, build("stories", stories), build("story_aliases", aliases),
                       build("story_alias_groups", groups))  # fmt: skip


def appearances(keys: pa.Table, ids: dict[str, str]) -> pa.Table:
    """`story_appearances` rows from sightings by title key, once every key has its story id."""
    sids = pa.array([ids[k] for k in keys.column("title_key").to_pylist()], pa.string())
    table = keys.drop_columns(["title_key"]).append_column("story_id", sids)
    return table.select(schemas()["story_appearances"].names).cast(schemas()["story_appearances"])


def dedup(pages: list[CleanedPage], known: DedupState, run_id: str) -> DedupResult:
    """Assign ids, mark duplicate and near-duplicate articles, and fold stories into one row each: the whole run
    in memory (the flow does the same batch by batch on staged files, see flows/pipeline.py).

    Complete pages only: the `cleaned` suite sets the others aside before dedup.
    """
    if incomplete := [r.source_uri for r in pages if not r.complete]:
        raise ValueError(f"{len(incomplete)} page(s) without title or body reached dedup, e.g. {incomplete[0]}")
    minhash = {article_id(r.source_uri): r.minhash for r in pages}
    duplicate_of = exact_duplicates([(article_id(r.source_uri), r.content_hash) for r in pages], known)
    bands = [band_rows(sorted(minhash.items())), known_bands(known, set(minhash))]
    near = similar_pairs(bands, duplicate_of, lambda ids: {a: minhash.get(a) or known.signatures[a] for a in ids})
    duplicate_of = settle({**duplicate_of, **near_duplicates(minhash, near, duplicate_of, known)})
    part = build_part(pages, duplicate_of, run_id)
    stories = story_tables(part.forms, known, run_id)
    return DedupResult(
        **part.tables,
        stories=stories.stories,
        story_aliases=stories.story_aliases,
        story_appearances=appearances(part.appearance_keys, stories.ids),
        story_alias_groups=stories.story_alias_groups,
        canonical=part.canonical,
    )
