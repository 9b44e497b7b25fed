"""What the gates judge that no stage writes as such: one row per raw page, one row per cleaned page."""

from __future__ import annotations

import pyarrow as pa

from huunghi.parsing.confidence import REVIEW_BELOW
from huunghi.records import CleanedPage, PageRef

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


def raw_pages_table(pages: list[PageRef]) -> pa.Table:
    """One row per page read: what the `raw_pages` gate judges."""
    rows = [
        {"source_uri": p.source_uri, "sha256": p.sha256, "format": p.format, "size": p.size,
         "odd_char_share": p.odd_char_share}
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
