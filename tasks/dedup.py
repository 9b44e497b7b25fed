"""Deduplication: one row per story however often it repeats, and repeated articles marked.

Stories: sidebar and teaser stories repeat within a page and across pages; each becomes one `stories`
row and every sighting a `story_appearances` row. Titles are compared in key form (case, punctuation,
quotes, spacing ignored); titles that differ by one letter in one long word ("Savanakhet") or by a
missing space are one story, while titles that differ in a number ("Thời tiết hôm nay (11/5)" and
"(5/5)") stay apart. `story_aliases` remembers every key seen, so later runs map to the same story.

Articles: the same text saved twice (equal content hash) is kept once; the same article republished
with other furniture and small edits is found with MinHash LSH (datasketch) on word shingles. The copy
is marked `duplicate_of` and keeps no paragraphs, mentions or appearances of its own.

Every choice is made on sorted keys, so input order and batching never change the outcome; what is
already in the warehouse stays canonical.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import numpy as np
import pyarrow as pa
from datasketch import MinHash, MinHashLSH
from prefect import task

from huunghi.text import stable_id, title_key
from warehouse.tables import build

NUM_PERM = 128
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"
SHINGLE_WORDS = 5
NEAR_DUP_JACCARD = 0.75  # estimated Jaccard of word 5-shingles; a trimmed sentence keeps ~0.85-0.95
LSH_THRESHOLD = 0.7  # the index casts a wider net, the estimate decides
_MIN_FUZZY_WORDS = 4  # shorter titles must match exactly


@dataclass
class Known:
    """What the warehouse already holds, as far as dedup needs it."""

    content: dict[str, str] = field(default_factory=dict)  # content hash → canonical article id
    story_keys: dict[str, str] = field(default_factory=dict)  # title key → story id
    signatures: dict[str, bytes] = field(default_factory=dict)  # canonical article id → MinHash


@dataclass
class DedupResult:
    articles: pa.Table
    paragraphs: pa.Table
    stories: pa.Table
    story_aliases: pa.Table
    appearances: pa.Table
    headline_lines: pa.Table
    signatures: pa.Table
    canonical: list[dict]  # cleaned records of the articles that are not duplicates, with article_id


def article_id(source_uri: str) -> str:
    return stable_id("article", source_uri)


@lru_cache(maxsize=65536)
def story_id(title: str) -> str:
    """The id a title gets when it starts a new story (stories repeat: computed once per title)."""
    return stable_id("story", title_key(title))


@lru_cache(maxsize=1)
def _permutations() -> object:
    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED).permutations


def minhash(text: str) -> bytes:
    """MinHash signature of a text's word shingles, as bytes (stored with the article).

    CRC-32 hashes the shingles: deterministic across processes and several times faster than SHA-1.
    """
    words = title_key(text).split()
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    m = MinHash(
        num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=zlib.crc32, permutations=_permutations(), scheme=MINHASH_SCHEME
    )
    m.update_batch([s.encode("utf-8") for s in shingles])
    return m.hashvalues.astype(np.uint64).tobytes()


def _minhash(signature: bytes) -> MinHash:
    values = np.frombuffer(signature, dtype=np.uint64)
    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashvalues=values, scheme=MINHASH_SCHEME)


def _one_letter_apart(a: str, b: str) -> bool:
    """One letter dropped, added or changed in a long word; never a difference in numbers."""
    if a == b or any(c.isdigit() for c in a + b) or min(len(a), len(b)) < 5:
        return False
    if len(a) == len(b):
        return len(a) >= 6 and sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _groups(key: str) -> list[tuple]:
    """Keys that share a group differ at most by spaces, or in one word (the group's position)."""
    words = key.split(" ")
    groups: list[tuple] = [("nospace", key.replace(" ", ""))]
    if len(words) >= _MIN_FUZZY_WORDS:
        groups += [(len(words), i, " ".join(words[:i] + words[i + 1 :])) for i in range(len(words))]
    return groups


def cluster_titles(keys: set[str], existing: dict[str, str]) -> dict[str, str]:
    """Title key → story id for the given keys: near-identical keys share one id, an existing one if any."""
    members: dict[tuple, set[str]] = defaultdict(set)
    for key in keys:
        for group in _groups(key):
            members[group].add(key)
    for key in existing:  # only the existing keys that could match a new one
        for group in _groups(key):
            if group in members:
                members[group].add(key)
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        parent.setdefault(k, k)
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for group, found in members.items():
        for a, b in combinations(sorted(found), 2):
            if group[0] == "nospace" or _one_letter_apart(a.split(" ")[group[1]], b.split(" ")[group[1]]):
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    clusters: dict[str, list[str]] = defaultdict(list)
    for key in sorted(keys | {k for found in members.values() for k in found}):
        clusters[find(key)].append(key)
    ids: dict[str, str] = {}
    for cluster in clusters.values():
        old = sorted(existing[k] for k in cluster if k in existing)
        sid = old[0] if old else stable_id("story", cluster[0])
        ids.update((k, sid) for k in cluster if k in keys)
    return ids


def _pick(forms: Counter[str]) -> str:
    """The most frequent form; ties broken by the text itself, never by arrival order."""
    return min(forms, key=lambda f: (-forms[f], f))


def _near_duplicates(candidates: list[dict], known: Known) -> dict[str, str]:
    """article id → the canonical article it nearly repeats (MinHash LSH, then the Jaccard estimate)."""
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM, weights=(0.3, 0.7))  # missing a copy costs more
    sketches: dict[str, MinHash] = {}
    for aid in sorted(known.signatures):
        sketches[aid] = _minhash(known.signatures[aid])
        lsh.insert(aid, sketches[aid])
    found: dict[str, str] = {}
    for rec in candidates:  # sorted by article id
        if rec["article_id"] in known.signatures:
            continue  # already canonical in the warehouse: it stays so
        sketch = _minhash(rec["minhash"])
        similar = sorted(
            (other not in known.signatures, other)  # what the warehouse holds first, then the smallest id
            for other in lsh.query(sketch)
            if sketch.jaccard(sketches[other]) >= NEAR_DUP_JACCARD
        )
        if similar:
            found[rec["article_id"]] = similar[0][1]
        else:
            sketches[rec["article_id"]] = sketch
            lsh.insert(rec["article_id"], sketch)
    return found


@task(name="deduplicate", timeout_seconds=3600)
def dedup_articles(records: list[dict], known: Known, run_id: str) -> DedupResult:
    """Assign ids, mark duplicate and near-duplicate articles, and fold stories into one row each."""
    records = sorted(({**r, "article_id": article_id(r["source_uri"])} for r in records), key=lambda r: r["article_id"])
    first_of: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}
    for rec in records:
        canon = known.content.get(rec["content_hash"]) or first_of.setdefault(rec["content_hash"], rec["article_id"])
        if canon != rec["article_id"]:
            duplicate_of[rec["article_id"]] = canon
    duplicate_of.update(_near_duplicates([r for r in records if r["article_id"] not in duplicate_of], known))

    articles, paragraphs, sightings, canonical, headlines, signatures = [], [], [], [], [], []
    for rec in records:
        aid = rec["article_id"]
        articles.append(
            {
                **{k: rec[k] for k in ("source_uri", "url", "title", "published_at", "section", "author", "lead")},
                "extractor": rec.get("extractor", "layout"),
                "article_id": aid,
                "body": "\n\n".join(text for kind, text in rec["paragraphs"] if kind == "body"),
                "duplicate_of": duplicate_of.get(aid),
                "content_hash": rec["content_hash"],
                "sha256": rec["sha256"],
                "run_id": run_id,
            }
        )
        if aid in duplicate_of:
            continue  # kept once: a duplicate's paragraphs and stories are its canonical's
        canonical.append(rec)
        signatures.append({"article_id": aid, "minhash": rec["minhash"]})
        paragraphs.extend(
            {"article_id": aid, "position": pos, "kind": kind, "text": text}
            for pos, (kind, text) in enumerate(rec["paragraphs"])
        )
        headlines.extend({"line_key": key, "article_id": aid} for key in sorted(set(rec["headline_lines"])))
        sightings.extend(
            (aid, pos, block, title, summary, url) for pos, (block, title, summary, url) in enumerate(rec["stories"])
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
            "title": _pick(forms),
            "summary": min(summaries[sid], key=lambda s: (-len(s), s)) if summaries[sid] else None,
            "url": _pick(urls[sid]) if urls[sid] else None,
            "first_run_id": run_id,
        }
        for sid, forms in sorted(titles.items())
    ]
    aliases = [{"title_key": k, "story_id": sid} for k, sid in sorted(ids.items()) if k not in known.story_keys]
    return DedupResult(
        articles=build("articles", articles),
        paragraphs=build("paragraphs", paragraphs),
        stories=build("stories", stories),
        story_aliases=build("story_aliases", aliases),
        appearances=build("story_appearances", appearances),
        headline_lines=build("headline_lines", headlines),
        signatures=build("article_signatures", signatures),
        canonical=canonical,
    )
