"""Arrow schemas of the tables a run writes, in the column order of warehouse/schema.sql."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "articles": pa.schema(
        [
            ("article_id", pa.string()),
            ("source_uri", pa.string()),
            ("url", pa.string()),
            ("title", pa.string()),
            ("published_at", TS),
            ("section", pa.string()),
            ("author", pa.string()),
            ("lead", pa.string()),
            ("body", pa.string()),
            ("duplicate_of", pa.string()),
            ("content_hash", pa.string()),
            ("sha256", pa.string()),
            ("run_id", pa.string()),
            ("extractor", pa.string()),
        ]
    ),
    "paragraphs": pa.schema(
        [
            ("article_id", pa.string()),
            ("position", pa.int32()),
            ("kind", pa.string()),
            ("text", pa.string()),
        ]
    ),
    "stories": pa.schema(
        [
            ("story_id", pa.string()),
            ("title", pa.string()),
            ("summary", pa.string()),
            ("url", pa.string()),
            ("first_run_id", pa.string()),
        ]
    ),
    "story_appearances": pa.schema(
        [
            ("story_id", pa.string()),
            ("article_id", pa.string()),
            ("block", pa.string()),
            ("position", pa.int32()),
            ("url", pa.string()),
        ]
    ),
    "entities": pa.schema(
        [
            ("entity_id", pa.string()),
            ("kind", pa.string()),
            ("name", pa.string()),
            ("iso_code", pa.string()),
            ("country", pa.string()),
            ("level", pa.string()),
            ("name_2025", pa.string()),
            ("iso_code_2025", pa.string()),
        ]
    ),
    "mentions": pa.schema(
        [
            ("article_id", pa.string()),
            ("entity_id", pa.string()),
            ("surface", pa.string()),
            ("paragraph_position", pa.int32()),
            ("start_char", pa.int32()),
            ("end_char", pa.int32()),
            ("place", pa.string()),
        ]
    ),
    "people": pa.schema(
        [
            ("article_id", pa.string()),
            ("name", pa.string()),
            ("role", pa.string()),
            ("organization_entity_id", pa.string()),
            ("province_entity_id", pa.string()),
            ("paragraph_position", pa.int32()),
            ("start_char", pa.int32()),
        ]
    ),
    "partnerships": pa.schema(
        [
            ("article_id", pa.string()),
            ("vn_entity_id", pa.string()),
            ("la_entity_id", pa.string()),
            ("event_type", pa.string()),
            ("event_types", pa.list_(pa.string())),
            ("event_date", pa.date32()),
            ("event_end", pa.date32()),
            ("agreement_kind", pa.string()),
            ("period_start", pa.int32()),
            ("period_end", pa.int32()),
            ("sectors", pa.list_(pa.string())),
        ]
    ),
    "amounts": pa.schema(
        [
            ("article_id", pa.string()),
            ("value", pa.float64()),
            ("currency", pa.string()),
            ("value_vnd", pa.float64()),
            ("surface", pa.string()),
            ("paragraph_position", pa.int32()),
            ("start_char", pa.int32()),
        ]
    ),
    "story_aliases": pa.schema([("title_key", pa.string()), ("story_id", pa.string())]),
    "article_signatures": pa.schema([("article_id", pa.string()), ("minhash", pa.binary())]),
    "headline_lines": pa.schema([("line_key", pa.string()), ("article_id", pa.string())]),
    "pages": pa.schema(
        [
            ("source_uri", pa.string()),
            ("sha256", pa.string()),
            ("format", pa.string()),
            ("size", pa.int64()),
            ("fetched_at", TS),
            ("outcome", pa.string()),
            ("article_id", pa.string()),
            ("run_id", pa.string()),
            ("url", pa.string()),
        ]
    ),
    "quarantine": pa.schema(
        [
            ("source_uri", pa.string()),
            ("sha256", pa.string()),
            ("stage", pa.string()),
            ("reason", pa.string()),
            ("details", pa.string()),
            ("raw", pa.binary()),
            ("run_id", pa.string()),
        ]
    ),
}


def build(name: str, rows: list[dict]) -> pa.Table:
    """An Arrow table of the named schema from row dicts (missing keys become nulls)."""
    schema = SCHEMAS[name]
    return pa.Table.from_pylist(rows, schema=schema)
