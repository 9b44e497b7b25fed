"""What the gates judge that no stage writes as such: one row per raw page, one row per cleaned page."""

from __future__ import annotations

import pyarrow as pa

from huunghi.parsing.confidence import REVIEW_BELOW
from huunghi.records import CleanedPage, RawPage

_CONTROL_CHARS = [chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\x7f"]

RAW_PAGES = pa.schema(
    [
        ("source_uri", pa.string()),
        ("sha256", pa.string()),
        ("format", pa.string()),
        ("size", pa.int64()),
        ("odd_char_share", pa.float64()),
    ]
)
CLEANED = pa.schema(
    [
        ("source_uri", pa.string()),
        ("title", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("lead", pa.string()),
        ("body", pa.string()),
        ("body_paragraphs", pa.int32()),
        ("extractor", pa.string()),
        ("parse_confidence", pa.float64()),
        ("doubtful", pa.int8()),  # 1 below the review threshold: the share of these is the drift signal
    ]
)


def odd_share(text: str) -> float:
    """Share of characters that are not text: U+FFFD (undecodable bytes) and control characters."""
    if not text:
        return 0.0
    odd = text.count("\ufffd") + sum(text.count(c) for c in _CONTROL_CHARS)
    return odd / len(text)


def raw_pages_table(pages: list[RawPage]) -> pa.Table:
    """One row per page read: what the `raw_pages` gate judges."""
    rows = [
        {"source_uri": p.source_uri, "sha256": p.sha256, "format": p.format, "size": p.size,
         "odd_char_share": odd_share(p.text)}
        for p in pages
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=RAW_PAGES)


def cleaned_table(records: list[CleanedPage]) -> pa.Table:
    """One row per cleaned page, complete or not: what the `cleaned` gate judges."""
    rows = [
        {
            "source_uri": r.source_uri,
            "title": r.title,
            "published_at": r.published_at,
            "lead": r.lead,
            "body": "\n".join(r.body),
            "body_paragraphs": len(r.body),
            "extractor": r.extractor,
            "parse_confidence": r.parse_confidence if r.complete else None,  # incomplete pages: their own checks
            "doubtful": int(r.parse_confidence < REVIEW_BELOW) if r.complete else None,
        }
        for r in records
    ]
    return pa.Table.from_pylist(rows, schema=CLEANED)
