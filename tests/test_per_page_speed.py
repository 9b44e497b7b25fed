"""The per-page shortcuts give exactly what their reference gives: the MinHash signature is datasketch's (the
stored signatures stay comparable), and the script counts behind `language_of` are the regular expressions'."""

from __future__ import annotations

import random
import re
import zlib

import numpy as np
from datasketch import MinHash

from huunghi.signatures import (
    MINHASH_SCHEME,
    MINHASH_SEED,
    NUM_PERM,
    SHINGLE_WORDS,
    _permutations,
    article_minhash,
    minhash,
)
from huunghi.text import _script_counts, title_key

WORDS = [
    "Quảng",
    "Trị",
    "và",
    "Sạ-vẳn-na-khệt",
    "ký",
    "kết,",
    "biên",
    "bản:",
    "ghi",
    "nhớ",
    "hợp",
    "tác",
    "2023",
    "-",
    "2025",
    "the",
    "of",
    "A",
]


def datasketch_signature(text: str) -> bytes:
    """The signature as datasketch computes it, shingle by shingle."""
    words = title_key(text).split()
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    m = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=zlib.crc32, scheme=MINHASH_SCHEME)
    m.update_batch([s.encode("utf-8") for s in shingles])
    return m.hashvalues.astype(np.uint64).tobytes()


def test_the_permutations_are_the_ones_datasketch_draws():
    """Drawn without importing datasketch (0.4 s of every process that makes a signature): its very values."""
    theirs = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme=MINHASH_SCHEME).permutations
    assert _permutations().dtype == theirs.dtype and np.array_equal(_permutations(), theirs)


def test_minhash_is_datasketchs_signature():
    rng = random.Random(5)
    texts = ["", "một", "một hai ba bốn", "một hai ba bốn năm", "một hai ba bốn năm sáu", "a a a a a a a"]
    texts += [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(60))) for _ in range(300)]
    for text in texts:
        assert minhash(text) == datasketch_signature(text), text


def test_article_minhash_is_the_minhash_of_its_text():
    """From the parts' keys, the signature of the text they make, one part a line: media tags (which only the
    text's first line loses), decomposed accents, punctuation at the joins, empty and blank parts."""
    rng = random.Random(11)
    pieces = [*WORDS, "[Video]", "[clip]", " [Ảnh] ", "\u0301", "e\u0301", "", " ", "!", "_", "\u00a0", "ß", "İ"]
    for _ in range(3000):
        title, lead, *body = ("".join(rng.choice(pieces) + rng.choice(" -") for _ in range(rng.randrange(8)))
                              for _ in range(rng.randrange(2, 6)))  # fmt: skip
        lead = rng.choice([lead, None])
        assert article_minhash(title, lead, body) == minhash("\n".join([title, lead or "", *body])), (title, lead, body)


# The script classes as they were written first, as regular expressions.
LAO, HAN = re.compile("[\u0e80-\u0eff]"), re.compile("[\u4e00-\u9fff\u3400-\u4dbf]")
LATIN = re.compile("[" + re.escape("".join(chr(c) for c in range(0x0250) if chr(c).isalpha())) + "\u1e00-\u1eff]")
VIETNAMESE = re.compile("[" + "ăâđêôơưĂÂĐÊÔƠƯàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ" + "\u1ea0-\u1ef9]")


def test_script_counts_are_the_regular_expressions_counts():
    rng = random.Random(9)
    blocks = [(0, 0x300), (0x0E00, 0x0F00), (0x1E00, 0x1F00), (0x3400, 0xA000), (0, 0x11000)]
    for _ in range(2000):
        text = "".join(chr(rng.randrange(*rng.choice(blocks))) for _ in range(rng.randrange(200)))
        expected = {name: len(p.findall(text)) for name, p in (("lo", LAO), ("zh", HAN), ("latin", LATIN))}
        expected["vi"] = len(VIETNAMESE.findall(text))
        assert _script_counts(text) == expected, text
