"""Where every input ended: an article, a duplicate, or the quarantine with its reason — exactly one place."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pyarrow as pa

from huunghi.quality.gates import GateOutcome
from huunghi.records import Listed, PageRef, Quarantined, RawPage
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


def _rank(entry: Listed) -> int:
    """A URL two sources list: what happened to it wins (fetched, then refused by a request, then waiting);
    one source not following it (not_followed) only counts when no source follows it."""
    if entry.state == "refused" and entry.reason == "not_followed":
        return 3
    return {"fetched": 0, "refused": 1, "waiting": 2}[entry.state]


def _best(listed: list[Listed]) -> dict[str, Listed]:
    """Each listed URL once, by URL: the entry of the best rank (ties: by source name)."""
    best: dict[str, Listed] = {}
    for entry in sorted(listed, key=lambda e: (e.url, _rank(e), e.source)):
        best.setdefault(entry.url, entry)
    return best


def frontier_table(listed: list[Listed], run_id: str) -> pa.Table:
    """The `frontier` rows of a run: each listed URL once (sorted), the state the crawl left it in."""
    rows = [
        {
            "url": e.url,
            "source": e.source,
            "state": e.state,
            "reason": e.reason,
            "first_listed_at": e.listed_at,
            "last_fetched_at": e.last_fetched_at,
            "run_id": run_id,
        }
        for e in _best(listed).values()
    ]
    return build("frontier", rows)


def frontier_counts(listed: list[Listed]) -> dict[str, int]:
    """Listed URLs by state, for the run summary ("listed 10000, fetched 1000, waiting 9000, refused 0")."""
    counts = Counter(e.state for e in _best(listed).values())
    return {
        "listed": sum(counts.values()),
        **{state: counts.get(state, 0) for state in ("fetched", "waiting", "refused")},
    }


def reasons(quarantined: list[Quarantined]) -> dict[str, int]:
    """Quarantine entries by stage and reason ("clean/no_title": 3)."""
    return dict(sorted(Counter(f"{q.stage}/{q.reason}" for q in quarantined).items()))
