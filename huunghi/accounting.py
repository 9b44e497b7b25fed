"""Where every input ended: an article, a duplicate, or the quarantine with its reason — exactly one place."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pyarrow as pa

from huunghi.quality.gates import GateOutcome
from huunghi.records import PageRef, Quarantined, RawPage
from huunghi.warehouse.schema import build


def set_aside(outcome: GateOutcome, page_of: Callable[[str], RawPage | PageRef], stage: str) -> list[Quarantined]:
    """The pages whose rows failed a row-level expectation, as quarantine entries with the gate's reason;
    with the page's text when it can be had (`page_of` gives a PageRef when the page cannot be read again)."""
    out = []
    for uri, (reason, details) in sorted(outcome.flagged.items()):
        page, why = page_of(uri), f"gate '{outcome.suite}': {details}"
        if isinstance(page, RawPage):
            out.append(Quarantined.of(page, stage, reason, why))
        else:
            out.append(Quarantined(page.source_uri, page.sha256, stage, reason, why))
    return out


def pages_table(
    pages: list[PageRef], articles: pa.Table, quarantined: list[Quarantined], run_id: str, unchanged: list[dict]
) -> pa.Table:
    """The `pages` rows of a run. Unchanged web pages keep their row as loaded (the load's merge leaves it as
    it is); they count as inputs for the pages gate."""
    ended = {
        row["source_uri"]: ("duplicate" if row["duplicate_of"] else "article", row["article_id"])
        for row in articles.select(["source_uri", "article_id", "duplicate_of"]).to_pylist()
    }
    rows = [
        {
            "source_uri": p.source_uri,
            "sha256": p.sha256,
            "format": p.format,
            "size": p.size,
            "fetched_at": p.fetched_at,
            "url": p.url,
            "outcome": ended.get(p.source_uri, ("quarantine", None))[0],
            "article_id": ended.get(p.source_uri, (None, None))[1],
            "run_id": run_id,
        }
        for p in pages
    ]
    rows += [{**row, "run_id": run_id} for row in unchanged]
    seen = {r["source_uri"] for r in rows}
    rows += [
        {"source_uri": q.source_uri, "sha256": q.sha256, "outcome": "quarantine", "run_id": run_id}
        for q in quarantined
        if q.source_uri not in seen
    ]
    return build("pages", sorted(rows, key=lambda r: r["source_uri"]))


def quarantine_table(quarantined: list[Quarantined], run_id: str) -> pa.Table:
    rows = [
        {
            "source_uri": q.source_uri,
            "sha256": q.sha256,
            "stage": q.stage,
            "reason": q.reason,
            "details": q.details,
            "raw": q.raw,
            "run_id": run_id,
        }
        for q in sorted(quarantined, key=lambda q: (q.source_uri, q.stage))
    ]
    return build("quarantine", rows)


def reasons(quarantined: list[Quarantined]) -> dict[str, int]:
    """Quarantine entries by stage and reason ("clean/no_title": 3)."""
    return dict(sorted(Counter(f"{q.stage}/{q.reason}" for q in quarantined).items()))
