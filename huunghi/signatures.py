"""What makes two pages the same article: the article id, and the MinHash signature of its text."""

from __future__ import annotations

import hashlib
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from huunghi.text import MEDIA_TAG, stable_id, title_key

if TYPE_CHECKING:
    from datasketch import MinHash  # imported when first needed: 0.35 s (scipy) a run with no page does not pay

NUM_PERM = 128
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"
SHINGLE_WORDS = 5


def article_id(source_uri: str) -> str:
    return stable_id("article", source_uri)


@lru_cache(maxsize=1)
def _permutations() -> np.ndarray:
    """datasketch's affine32 permutations (a odd, b) for NUM_PERM and MINHASH_SEED, drawn as its MinHash draws
    them (tested equal), without importing datasketch (0.4 s, scipy) where only signatures are made."""
    gen = np.random.RandomState(MINHASH_SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return np.array([a, b])


def minhash(text: str) -> bytes:
    """MinHash signature of a text's word shingles, as bytes (stored with the article).

    CRC-32 hashes the shingles: deterministic across processes and several times faster than SHA-1. The
    signature is datasketch's (scheme affine32: MurmurHash3's finalizer, then a*h + b mod 2^32 per
    permutation, the minimum over the shingles), computed here in one numpy pass without a MinHash object.
    """
    return _signature(title_key(text).split())


def article_minhash(title: str, lead: str | None, body: list[str]) -> bytes:
    """minhash of the article's text (title, lead and body, one a line), from the title keys of its parts: the
    content hash has just computed them (title_key remembers), so the whole text is not keyed again (0.15 ms a
    page). The key of lines joined is their keys joined (a line end is no word character), but for the media
    tag, which only the text's first line loses: a later part that starts with one takes the whole text."""
    parts = [title, lead or "", *body]
    if not title.strip() or any(map(MEDIA_TAG.match, parts[1:])):
        return minhash("\n".join(parts))
    return _signature(" ".join(map(title_key, parts)).split())


def _signature(words: list[str]) -> bytes:
    """The signature of the words' shingles (see minhash)."""
    if len(words) <= SHINGLE_WORDS:
        shingles = {" ".join(words)}
    else:
        shingles = set(map(" ".join, zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)))
    hashes = np.fromiter(map(zlib.crc32, map(str.encode, shingles)), dtype=np.uint32, count=len(shingles))
    a, b = _permutations()
    return (_fmix32(hashes)[:, None] * a + b).min(axis=0).astype(np.uint64).tobytes()


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix of every hash), wrapping as uint32."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def sketch(signature: bytes) -> MinHash:
    """A stored signature back as a MinHash, to compare and to index."""
    from datasketch import MinHash

    values = np.frombuffer(signature, dtype=np.uint64)
    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashvalues=values, scheme=MINHASH_SCHEME)


# The banding datasketch's MinHashLSH(threshold=0.7, num_perm=128, weights=(0.3, 0.7)) picks (tested): two
# signatures are near-duplicate candidates iff the 8 values of one band are equal in both.
LSH_BANDS = 16
LSH_ROWS = 8


def band_keys(signature: bytes) -> list[int]:
    """Each band's key, so candidates are found by a join on stored keys instead of an index of every signature.

    Version-stable definition (the same in DuckDB SQL, see warehouse/backfill.py): band i is bytes
    [64 i, 64 i + 64) of the stored signature (its 8 uint64 little-endian values); its key is the first 8
    bytes of that slice's MD5, read big-endian as an unsigned 64-bit integer. Equal bands give equal keys;
    a key collision only adds a candidate, which the banding check and the Jaccard estimate then drop.
    """
    width = LSH_ROWS * 8
    return [
        int.from_bytes(hashlib.md5(signature[i * width : (i + 1) * width]).digest()[:8], "big")
        for i in range(LSH_BANDS)
    ]
