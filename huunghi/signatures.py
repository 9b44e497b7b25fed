"""What makes two pages the same article: the article id, and the MinHash signature of its text."""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from huunghi.text import stable_id, title_key

if TYPE_CHECKING:
    from datasketch import MinHash  # imported when first needed: 0.35 s (scipy) a run with no page does not pay

NUM_PERM = 128
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"
SHINGLE_WORDS = 5


def article_id(source_uri: str) -> str:
    return stable_id("article", source_uri)


@lru_cache(maxsize=1)
def _permutations() -> object:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED).permutations


def minhash(text: str) -> bytes:
    """MinHash signature of a text's word shingles, as bytes (stored with the article).

    CRC-32 hashes the shingles: deterministic across processes and several times faster than SHA-1.
    """
    from datasketch import MinHash

    words = title_key(text).split()
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    m = MinHash(
        num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=zlib.crc32, permutations=_permutations(), scheme=MINHASH_SCHEME
    )
    m.update_batch([s.encode("utf-8") for s in shingles])
    return m.hashvalues.astype(np.uint64).tobytes()


def sketch(signature: bytes) -> MinHash:
    """A stored signature back as a MinHash, to compare and to index."""
    from datasketch import MinHash

    values = np.frombuffer(signature, dtype=np.uint64)
    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashvalues=values, scheme=MINHASH_SCHEME)
