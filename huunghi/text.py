"""Text helpers shared by the stages: normalization, doubled titles, slugs, stable keys.

Saved pages come with NFD accents, CRLF line ends, non-breaking spaces and zero-width characters;
every stage works on the normalized form so that equality means equality.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from functools import lru_cache

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# Tabs and the other spaces become plain spaces, then runs of spaces one space: every run of these characters
# ends as one space. str.replace and a one-character class cost a quarter of one alternation over a raw page.
_OTHER_SPACES = "\t\u00a0\u2007\u202f"
_SPACE_RUNS = re.compile(" {2,}")
MEDIA_TAG = re.compile(r"^\s*\[(video|clip|infographic|ảnh|photo|podcast|emagazine)\]\s*", re.IGNORECASE)
_KEY_DROP = re.compile(r"[\W_]+", re.UNICODE)
_SLUG = re.compile(r"[a-z0-9]+(?: [a-z0-9]+){2,}")
_ODD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # controls but tab and line ends; U+FFFD


def normalize_text(text: str) -> str:
    """NFC, LF line ends, plain spaces; no zero-width characters; each line right-stripped."""
    for ch in ZERO_WIDTH:  # str.replace per character: far faster than translate() on long pages
        if ch in text:
            text = text.replace(ch, "")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    for ch in _OTHER_SPACES:
        if ch in text:
            text = text.replace(ch, " ")
    if "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    return "\n".join(map(str.strip, text.split("\n")))


def odd_char_share(text: str) -> float:
    """Share of characters that are not text: U+FFFD (undecodable bytes) and control characters."""
    if not text:
        return 0.0
    return len(_ODD_CHARS.findall(text)) / len(text)


def strip_media_tag(title: str) -> str:
    """'[Video] Đêm hội múa lăm vông …' → 'Đêm hội múa lăm vông …'."""
    return MEDIA_TAG.sub("", title).strip()


@lru_cache(maxsize=1 << 16)
def title_key(title: str) -> str:
    """The comparison form of a title: case, punctuation, quotes, spacing and media tags ignored."""
    title = unicodedata.normalize("NFC", strip_media_tag(title)).casefold()
    return " ".join(_KEY_DROP.sub(" ", title).split())


def stable_id(*parts: str, length: int = 16) -> str:
    """A short hex id that depends only on its parts (never on order of arrival or run)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def undouble(line: str) -> str | None:
    """Return T when the line is a teaser title written twice (`T T` or `TT`), else None."""
    n = len(line)
    if n < 8:
        return None
    half = n // 2
    if n % 2 == 1 and line[half] == " " and line[:half] == line[half + 1 :]:
        return line[:half]
    if n % 2 == 0 and line[:half] == line[half:]:
        return line[:half]
    return None


def ascii_fold(text: str) -> str:
    """'Bà Rịa - Vũng Tàu' → 'ba ria vung tau': how the site writes slugs and image alts."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c if c.isalnum() else " " for c in text if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def is_slug(line: str) -> bool:
    """An unaccented, lowercase image alt or URL slug ('hop tac bien gioi viet lao …').

    Vietnamese prose is accented, so a line of three or more plain ASCII lowercase words is a slug.
    """
    return bool(_SLUG.fullmatch(line))


def _chars(*ranges: tuple[int, int]) -> frozenset[str]:
    return frozenset(chr(c) for start, end in ranges for c in range(start, end + 1))


# The scripts, as sets of characters (a page's characters are counted once, in C, by Counter; four regular
# expressions scanning the text cost 2.4 times as much). Latin: letters below U+0250 and Latin Extended Additional
# (Vietnamese tone marks); Vietnamese: its own letters, the Vietnamese block of Latin Extended Additional, accented
# vowels (all of them Latin).
_LAO = _chars((0x0E80, 0x0EFF))
_HAN = _chars((0x4E00, 0x9FFF), (0x3400, 0x4DBF))
_LATIN = frozenset(c for c in _chars((0, 0x024F)) if c.isalpha()) | _chars((0x1E00, 0x1EFF))
_VIETNAMESE = frozenset("ăâđêôơưĂÂĐÊÔƠƯàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ") | _chars((0x1EA0, 0x1EF9))


def _script_counts(text: str) -> dict[str, int]:
    counts = {"lo": 0, "zh": 0, "latin": 0, "vi": 0}
    for ch, n in Counter(text).items():
        if ch in _LATIN:
            counts["latin"] += n
            if ch in _VIETNAMESE:
                counts["vi"] += n
        elif ch in _LAO:
            counts["lo"] += n
        elif ch in _HAN:
            counts["zh"] += n
    return counts


def language_of(text: str) -> str:
    """The language of a page's text by its script: lo (Lao), zh (Chinese), vi (Latin with Vietnamese
    letters or tone marks), en (plain Latin), und (too little text). The site publishes in these."""
    counts = _script_counts(text)
    script = max(("lo", "zh", "latin"), key=lambda k: counts[k])
    if counts[script] < 20:
        return "und"
    if script != "latin":
        return script
    return "vi" if counts["vi"] >= 0.02 * counts["latin"] else "en"
