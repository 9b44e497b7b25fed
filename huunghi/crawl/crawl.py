"""Crawl: a web source → raw pages, through the fetcher's rules and the raw zone.

Two steps per source: list its pages (sitemaps, sitemap indexes, feeds, start pages' links, or one URL
whose content says what it is), then fetch them on a few threads. Every body is kept in the raw zone;
an unchanged page (HTTP 304 to a conditional request) is read back from there. A page that failed for
a reason worth retrying (5xx, 429, timeout, network) makes the task fail, so Prefect retries it with
backoff; pages already fetched in this run are not fetched again. After the last attempt the failures
go to the quarantine with their reason, like every other page that cannot be read.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

from huunghi.crawl.discover import read_listing
from huunghi.crawl.fetcher import HTML_TYPES as PAGE_TYPES
from huunghi.crawl.fetcher import XML_TYPES, Fetched, Fetcher
from huunghi.crawl.rawzone import RawZone
from huunghi.crawl.sources import Source
from huunghi.readers.files import page_from_bytes
from huunghi.records import IngestResult, Quarantined

LISTING_TYPES = XML_TYPES + PAGE_TYPES + ("text/plain",)
MAX_LISTINGS = 200  # sitemap documents read per source per run (indexes nest)


class FetchRetry(RuntimeError):
    """Some pages failed for a reason worth retrying; Prefect retries the task."""


def _conditional(zone: RawZone, url: str) -> dict:
    """ETag / Last-Modified of the copy we hold, if we still hold it."""
    state = zone.state(url)
    if not state or not state.get("sha256") or zone.get(state["sha256"]) is None:
        return {}
    return {"etag": state.get("etag"), "last_modified": state.get("last_modified")}


def _keep(zone: RawZone, got: Fetched, run_id: str) -> tuple[bytes | None, dict]:
    """Store a fetched body (or find the unchanged one) and update the URL's state; (body, state)."""
    now = datetime.now(UTC).isoformat()
    if got.not_modified:
        state = zone.state(got.url) or {}
        body = zone.get(state.get("sha256", ""))
        zone.record(got.url, {**state, "checked_at": now, "run_id": run_id, "outcome": "unchanged"})
        return body, state
    if got.body is not None:
        sha = zone.put(got.body)
        state = {
            "final_url": got.final_url,
            "status": got.status,
            "etag": got.etag,
            "last_modified": got.last_modified,
            "sha256": sha,
            "content_type": got.content_type,
            "charset": got.charset,
            "fetched_at": now,
            "checked_at": now,
            "run_id": run_id,
            "outcome": "fetched",
        }
        zone.record(got.url, state)
        return got.body, state
    failed = {"status": got.status, "problem": got.problem, "details": got.details, "run_id": run_id}
    zone.record(got.url, {**failed, "outcome": "failed"})
    return None, {}


def list_pages(source: Source, fetcher: Fetcher, zone: RawZone, run_id: str, crawl: IngestResult) -> list[str]:
    """The source's page URLs in listing order, each once, at most max_pages; listing failures quarantined."""
    pages: dict[str, None] = dict.fromkeys(source.urls)
    queue = [(u, "sitemap") for u in source.sitemaps] + [(u, "feed") for u in source.feeds]
    queue += [(u, "start") for u in source.start] + [(u, "discover") for u in source.discover]
    seen: set[str] = set()
    while queue and len(seen) < MAX_LISTINGS:
        url, role = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        got = fetcher.get(url, accept=LISTING_TYPES, **_conditional(zone, url))
        body, _ = _keep(zone, got, run_id)
        if body is None:
            crawl.quarantined.append(Quarantined(url, None, "discover", got.problem or "unreadable", got.details))
            continue
        crawl.count("listings_read")
        listing = read_listing(body, got.final_url)
        if role == "discover" and listing.kind == "html":  # the URL given is itself a page
            pages.setdefault(url, None)
            continue
        queue += [(u, "sitemap") for u in listing.documents]
        for page in listing.pages:
            if source.follows(page) and (role != "start" or page != url):
                pages.setdefault(page, None)
            else:
                crawl.count("links_not_followed")
    found = list(pages)
    if len(found) > source.max_pages:
        crawl.count("pages_over_limit", len(found) - source.max_pages)
    return found[: source.max_pages]


def _fetch_one(url: str, fetcher: Fetcher, zone: RawZone, run_id: str) -> tuple[Fetched | None, dict]:
    """Fetch a page unless an earlier attempt of this run settled it (retryable failures are never
    recorded before the last attempt); (outcome or None, state)."""
    state = zone.state(url) or {}
    if state.get("run_id") == run_id and state.get("outcome") in ("fetched", "unchanged", "failed"):
        return None, state
    return fetcher.get(url, accept=PAGE_TYPES, **_conditional(zone, url)), state


def fetch_pages(
    fetcher: Fetcher, urls: list[str], zone: RawZone, run_id: str, crawl: IngestResult, last_try: bool
) -> None:
    """Fetch the pages (threads share the fetcher's per-host turns); raise FetchRetry unless last_try."""
    retry: list[Fetched] = []
    with ThreadPoolExecutor(max_workers=fetcher.source.concurrency) as pool:
        outcomes = list(pool.map(lambda u: _fetch_one(u, fetcher, zone, run_id), urls))
    for url, (got, state) in zip(urls, outcomes, strict=True):
        if got is not None and got.retryable and not last_try:
            retry.append(got)
            continue
        if got is not None:
            body, state = _keep(zone, got, run_id)
            crawl.count("not_modified" if got.not_modified else "fetched" if body is not None else "failed")
        else:  # done by an earlier attempt of this run
            body = zone.get(state["sha256"]) if state.get("sha256") and state.get("outcome") != "failed" else None
        if body is None:
            problem = (got.problem if got else state.get("problem")) or "unreadable"
            details = (got.details if got else state.get("details")) or ""
            crawl.quarantined.append(Quarantined(url, None, "fetch", problem, details))
            continue
        fetched_at = datetime.fromisoformat(state.get("fetched_at") or datetime.now(UTC).isoformat())
        page = page_from_bytes(url, body, "html", fetched_at, state.get("final_url") or url, state.get("charset"))
        (crawl.quarantined if isinstance(page, Quarantined) else crawl.pages).append(page)
    if retry:
        raise FetchRetry(
            f"{len(retry)} page(s) of {fetcher.source.name} failed for a reason worth retrying "
            f"(first: {retry[0].url}: {retry[0].details}); Prefect retries the task"
        )


def crawl(source: Source, zone: RawZone, run_id: str, attempt: int, say=lambda message: None) -> IngestResult:
    """List and fetch one web source; on `attempt` ≤ source.retries a transient failure raises FetchRetry."""
    result = IngestResult()
    with Fetcher(source) as fetcher:
        try:
            urls = list_pages(source, fetcher, zone, run_id, result)
            say(f"{source.name}: {len(urls)} page URL(s) listed (attempt {attempt})")
            fetch_pages(fetcher, urls, zone, run_id, result, last_try=attempt > source.retries)
        finally:
            result.count("requests", fetcher.requests)
    say(f"{source.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.stats.items())))
    return result


def replay(source: Source, zone: RawZone) -> IngestResult:
    """Offline: the pages of the source's hosts as the raw zone last holds them, without any request."""
    result = IngestResult()
    for state in zone.urls():
        host = (urlsplit(state["url"]).hostname or "").lower()
        if host not in source.allowed_hosts or not state.get("sha256"):
            continue
        if (state.get("content_type") or "text/html") not in PAGE_TYPES or not source.follows(state["url"]):
            continue
        body = zone.get(state["sha256"])
        if body is None:
            continue
        fetched_at = datetime.fromisoformat(state["fetched_at"])
        page = page_from_bytes(state["url"], body, "html", fetched_at, state.get("final_url"), state.get("charset"))
        (result.quarantined if isinstance(page, Quarantined) else result.pages).append(page)
    return result
