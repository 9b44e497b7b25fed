"""Bytes to text, the way browsers decide: byte-order mark, HTTP charset, <meta charset>, else UTF-8 if the
bytes are UTF-8, else Windows-1258 (the legacy Vietnamese code page). Every reader decodes through here."""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# WHATWG: these labels mean windows-1252; a page cannot really be UTF-16 if its meta tag could be read.
_LABEL_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
}
FALLBACK_ENCODING = "cp1258"  # Windows-1258: the legacy Vietnamese encoding, for undeclared non-UTF-8 pages


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _LABEL_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode(data: bytes, header_charset: str | None = None, *, markup: bool = True) -> tuple[str, str]:
    """(text, encoding) by the browser's order: byte-order mark, HTTP header, <meta charset> (markup only),
    then UTF-8 if the bytes are UTF-8. Bytes that are not UTF-8 are read as Windows-1258 only when they
    are valid Windows-1258 and few of them form UTF-8 sequences (a legacy page has almost none); broken
    UTF-8 — a cut, bad bytes, even many — stays UTF-8 with U+FFFD for what is broken, never mojibake, and
    the raw_pages gate quarantines a page with too many of them (`not_text`)."""
    boms = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
    for bom, name in boms:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace"), name
    declared = _codec(header_charset)
    if markup and declared is None and (m := _META_CHARSET.search(data[:4096])):
        declared = _codec(m.group(1).decode("ascii", "ignore"))
    if declared:
        return data.decode(declared, errors="replace"), declared
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
    try:
        legacy = data.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError:  # valid in neither: broken UTF-8, kept as such (the raw_pages gate judges it)
        return text, "utf-8"
    broken = text.count("\ufffd")
    wide = sum(1 for ch in text if ch > "\x7f") - broken
    if wide >= broken:  # many well-formed multi-byte sequences: UTF-8 with bad bytes, not a legacy page
        return text, "utf-8"
    return legacy, FALLBACK_ENCODING
