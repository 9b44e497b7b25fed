"""Crawl: a web source → raw pages, through the fetcher's rules and the raw zone.

Two steps per source: list its pages (sitemaps, sitemap indexes, feeds, start pages' links, or one URL
whose content says what it is), then fetch them on a few threads. Every body is kept in the raw zone;
an unchanged page (HTTP 304 to a conditional request) is read back from there. A page that failed for
a reason worth retrying (5xx, 429, timeout, network) makes the task fail, so Prefect retries it with
backoff; pages already fetched in this run are not fetched again. After the last attempt the failures
go to the quarantine with their reason, like every other page that cannot be read.

The frontier: every page URL a listing names ends somewhere — fetched (by this run or an earlier one),
waiting for a later run, or refused with a reason (`IngestResult.frontier`, the `frontier` table).
`max_pages` bounds one run's work: URLs never fetched come first (in listing order), then those that
failed transiently, then refetches, the longest unasked first, so a listing of N URLs is fully fetched
after ⌈N / max_pages⌉ runs. A refetch that fails leaves a loaded page as loaded (the flow). The order
is read from what the warehouse published (the frontier rows of the listed URLs): a dry run, or a run
stopped before its load, moves nothing on. The raw zone only says what this run settled: an earlier attempt
of the same run keeps its choice, and a URL an earlier source of the run gave is not taken again.
Listed URLs are canonical (no fragment, lower-case scheme and host), as the raw zone keys them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

from huunghi.crawl.discover import ListingError, read_listing
from huunghi.crawl.fetcher import HTML_TYPES as PAGE_TYPES
from huunghi.crawl.fetcher import RETRYABLE, XML_TYPES, Fetched, Fetcher, canonical
from huunghi.crawl.rawzone import RawZone
from huunghi.crawl.sources import Source
from huunghi.readers.files import page_from_bytes
from huunghi.records import IngestResult, Listed, Quarantined

LISTING_TYPES = XML_TYPES + PAGE_TYPES + ("text/plain",)
MAX_LISTINGS = 200  # sitemap documents read per source per run (indexes nest)
SETTLED = ("fetched", "unchanged", "failed")  # outcomes of a request the raw zone keeps for a URL
# The warehouse's published frontier rows (state, reason, last_fetched_at) of the URLs asked for, by URL.
Published = Callable[[list[str]], dict[str, dict]]


def nothing_published(urls: list[str]) -> dict[str, dict]:
    """No warehouse yet (or none to read): every listed URL is new."""
    return {}


class FetchRetry(RuntimeError):
    """Some pages failed for a reason worth retrying; Prefect retries the task."""


def _conditional(zone: RawZone, url: str) -> dict:
    """ETag / Last-Modified of the copy we hold, if we still hold it."""
    state = zone.state(url)
    if not state or not state.get("sha256") or zone.get(state["sha256"]) is None:
        return {}
    return {"etag": state.get("etag"), "last_modified": state.get("last_modified")}


def _keep(
    zone: RawZone, got: Fetched, run_id: str, source: str, asked_at: str | None = None
) -> tuple[bytes | None, dict]:
    """Store a fetched body (or find the unchanged one) and update the URL's state; (body, state). `asked_at`
    (checked_at): when the batch asked, one time for all its URLs, so the frontier's order is by run and URL.
    `source`: which source of the run asked (a URL two sources list is taken by the first only)."""
    now = datetime.now(UTC).isoformat()
    asked = asked_at or now
    if got.not_modified:
        state = zone.state(got.url) or {}
        body = zone.get(state.get("sha256", ""))
        zone.record(got.url, {**state, "checked_at": asked, "run_id": run_id, "source": source, "outcome": "unchanged"})
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
            "checked_at": asked,
            "run_id": run_id,
            "source": source,
            "outcome": "fetched",
        }
        zone.record(got.url, state)
        return got.body, state
    failed = {"status": got.status, "problem": got.problem, "details": got.details, "run_id": run_id, "source": source}
    zone.record(got.url, {**failed, "outcome": "failed", "checked_at": asked})  # when: the frontier's order
    return None, {}


def _listed(
    source: Source, fetcher: Fetcher, zone: RawZone, run_id: str, crawl: IngestResult, last_try: bool = True
) -> list[str]:
    """Every page URL the source's listings name and it follows, in listing order, each once; listings that
    cannot be fetched or read quarantined with their reason, entries it does not follow refused. A listing
    that failed for a reason worth retrying raises FetchRetry unless last_try, as a page does."""
    pages: dict[str, None] = dict.fromkeys(canonical(u) for u in source.urls)
    queue = [(u, "sitemap") for u in source.sitemaps] + [(u, "feed") for u in source.feeds]
    queue += [(u, "start") for u in source.start] + [(u, "discover") for u in source.discover]
    seen: set[str] = set()
    refused: dict[str, None] = {}
    while queue and len(seen) < MAX_LISTINGS:
        url, role = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        got = fetcher.get(url, accept=LISTING_TYPES, **_conditional(zone, url))
        if got.retryable and not last_try:
            raise FetchRetry(f"the listing {url} of {source.name} failed for a reason worth retrying "
                             f"({got.problem}: {got.details}); Prefect retries the task")  # fmt: skip
        body, _ = _keep(zone, got, run_id, source.name)
        if body is None:
            crawl.quarantined.append(Quarantined(url, None, "discover", got.problem or "unreadable", got.details))
            continue
        try:
            listing = read_listing(body, got.final_url)
        except ListingError as exc:
            crawl.quarantined.append(Quarantined(url, None, "discover", exc.reason, exc.details or str(exc)))
            continue
        crawl.count("listings_read")
        if role == "discover" and listing.kind == "html":  # the URL given is itself a page
            pages.setdefault(canonical(url), None)
            continue
        queue += [(u, "sitemap") for u in listing.documents]
        for page in map(canonical, listing.pages):
            if source.follows(page) and (role != "start" or page != canonical(url)):
                pages.setdefault(page, None)
            else:
                crawl.count("links_not_followed")
                if role != "start":  # a sitemap or feed entry is named as a page: it ends refused, not unseen
                    refused.setdefault(page, None)
    unread = len({url for url, _ in queue} - seen)
    if unread:  # read next time only if the first MAX_LISTINGS shrink: counted and said, not silently dropped
        crawl.count("listings_not_read", unread)
    now = datetime.now(UTC)
    for url in sorted(set(refused) - set(pages)):
        asked = _last_asked(zone.state(url) or {})
        crawl.frontier.append(Listed(url, source.name, "refused", "not_followed", now, asked))
    return list(pages)


def _last_asked(state: dict) -> datetime | None:
    """When the crawler last asked for a URL (its raw zone state), if ever."""
    asked = state.get("checked_at") if state.get("outcome") in SETTLED else None
    return datetime.fromisoformat(asked) if asked else None


def _settled_here(state: dict, run_id: str) -> bool:
    """Whether this run (any of its sources, any attempt) settled the URL: the raw zone says so."""
    return state.get("run_id") == run_id and state.get("outcome") in SETTLED


NEVER = datetime.min.replace(tzinfo=UTC)


def _instant(value: datetime | str | None) -> datetime | None:
    """A published time as an aware datetime (DuckDB gives the session's zone; compare instants, not text)."""
    if value is None:
        return None
    value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def frontier_order(urls: list[str], states: dict[str, dict], published: dict[str, dict], run_id: str) -> list[str]:
    """The listed URLs in the order runs take them: those an earlier attempt of this run settled (so a retry
    keeps its choice), then those never fetched as the warehouse knows them (no frontier row, or no request
    recorded) in listing order, then those whose last request failed for a reason worth retrying, then the
    others (refetches), each group the longest unasked first (ties by URL). Deterministic: the
    published rows and this run's own raw zone states decide, not the clock. `states` holds only URLs this
    source may take (not those an earlier source of the run gave)."""

    def key(position: int, url: str) -> tuple[int, datetime, int, str]:
        if _settled_here(states[url], run_id):
            return 0, NEVER, position, url
        asked = _instant(published.get(url, {}).get("last_fetched_at"))
        if asked is None:
            return 1, NEVER, position, url
        row = published[url]
        if row.get("state") == "refused" and row.get("reason") in RETRYABLE:  # failed transiently: before refetches
            return 2, asked, 0, url
        return 3, asked, 0, url

    return [url for _, url in sorted(enumerate(urls), key=lambda item: key(*item))]


def _left(row: dict | None) -> tuple[str, str | None, datetime | None]:
    """Where the published runs left a URL this run does not take: its frontier row as published (fetched,
    refused with its reason), or waiting when the warehouse has none."""
    if not row or row.get("state") not in ("fetched", "refused") or row.get("reason") == "not_followed":
        return "waiting", None, (row or {}).get("last_fetched_at")  # this source follows what another refused
    return row["state"], row.get("reason"), row.get("last_fetched_at")


def list_pages(
    source: Source,
    fetcher: Fetcher,
    zone: RawZone,
    run_id: str,
    crawl: IngestResult,
    last_try: bool = True,
    published: Published = nothing_published,
) -> list[str]:
    """The page URLs this run fetches: at most max_pages of those the source lists, in frontier order; the
    others stay in the frontier (`crawl.frontier`) as the published runs left them, or waiting. A URL an
    earlier source of this run gave is that source's: skipped here, not counted against max_pages. Listing
    failures are quarantined."""
    listed = _listed(source, fetcher, zone, run_id, crawl, last_try)
    states = {url: zone.state(url) or {} for url in listed}  # one read of each URL's state
    mine = [u for u in listed if not _settled_here(states[u], run_id) or states[u].get("source") == source.name]
    if len(mine) < len(listed):
        crawl.count("pages_given_by_other_sources", len(listed) - len(mine))
    rows = published(mine)
    ordered = frontier_order(mine, states, rows, run_id)
    chosen, later = ordered[: source.max_pages], ordered[source.max_pages :]
    if later:
        crawl.count("pages_over_limit", len(later))
    now = datetime.now(UTC)
    for url in later:
        state, reason, asked = _left(rows.get(url))
        crawl.frontier.append(Listed(url, source.name, state, reason, now, asked))
    return chosen


def _fetch_one(url: str, fetcher: Fetcher, zone: RawZone, run_id: str) -> tuple[Fetched | None, dict]:
    """Fetch a page unless an earlier attempt of this run settled it (retryable failures are never
    recorded before the last attempt); (outcome or None, state)."""
    state = zone.state(url) or {}
    if _settled_here(state, run_id):
        return None, state
    return fetcher.get(url, accept=PAGE_TYPES, **_conditional(zone, url)), state


def fetch_pages(
    fetcher: Fetcher, urls: list[str], zone: RawZone, run_id: str, crawl: IngestResult, last_try: bool
) -> None:
    """Fetch the pages (threads share the fetcher's per-host turns); raise FetchRetry unless last_try. Each
    URL joins the frontier as fetched (a body, new or unchanged) or refused (with the quarantine's reason)."""
    retry: list[Fetched] = []
    listed_at = datetime.now(UTC)
    asked_at = listed_at.isoformat()
    pool = ThreadPoolExecutor(max_workers=fetcher.source.concurrency)
    try:
        outcomes = list(pool.map(lambda u: _fetch_one(u, fetcher, zone, run_id), urls))
    except BaseException:  # Ctrl-C, SIGTERM, a stage's time limit: end the fetches in flight, start no others
        fetcher.abort()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    for url, (got, state) in zip(urls, outcomes, strict=True):
        if got is not None and got.retryable and not last_try:
            retry.append(got)
            continue
        if got is not None:
            body, state = _keep(zone, got, run_id, fetcher.source.name, asked_at)
            crawl.count("not_modified" if got.not_modified else "fetched" if body is not None else "failed")
        else:  # done by an earlier attempt of this run
            body = zone.get(state["sha256"]) if state.get("sha256") and state.get("outcome") != "failed" else None
        asked = _last_asked(zone.state(url) or {})
        if body is None:
            problem = (got.problem if got else state.get("problem")) or "unreadable"
            details = (got.details if got else state.get("details")) or ""
            crawl.quarantined.append(Quarantined(url, None, "fetch", problem, details))
            crawl.frontier.append(Listed(url, fetcher.source.name, "refused", problem, listed_at, asked))
            continue
        crawl.frontier.append(Listed(url, fetcher.source.name, "fetched", None, listed_at, asked))
        fetched_at = datetime.fromisoformat(state.get("fetched_at") or datetime.now(UTC).isoformat())
        page = page_from_bytes(url, body, "html", fetched_at, state.get("final_url") or url, state.get("charset"))
        (crawl.quarantined if isinstance(page, Quarantined) else crawl.pages).append(page)
    if retry:
        raise FetchRetry(
            f"{len(retry)} page(s) of {fetcher.source.name} failed for a reason worth retrying "
            f"(first: {retry[0].url}: {retry[0].details}); Prefect retries the task"
        )


def crawl(
    source: Source,
    zone: RawZone,
    run_id: str,
    attempt: int,
    say=lambda message: None,
    published: Published = nothing_published,
) -> IngestResult:
    """List and fetch one web source; on `attempt` ≤ source.retries a transient failure raises FetchRetry.
    `published` reads the warehouse's frontier rows of the listed URLs (the order of the frontier)."""
    result = IngestResult()
    with Fetcher(source) as fetcher:
        try:
            last_try = attempt > source.retries
            urls = list_pages(source, fetcher, zone, run_id, result, last_try, published)
            if result.stats.get("listings_not_read"):
                say(f"WARNING {source.name}: {result.stats['listings_not_read']} listing(s) not read: over "
                    f"{MAX_LISTINGS} sitemap documents per run; their pages are not in the frontier")  # fmt: skip
            waiting = sum(1 for entry in result.frontier if entry.state == "waiting")
            say(f"{source.name}: {len(urls) + result.stats.get('pages_over_limit', 0)} page URL(s) listed, "
                f"{len(urls)} taken by this run, {waiting} never fetched wait (attempt {attempt})")  # fmt: skip
            fetch_pages(fetcher, urls, zone, run_id, result, last_try=last_try)
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
