"""The crawl frontier (library level, no Prefect): every URL a listing names ends fetched, waiting or refused;
max_pages bounds one run, never-fetched URLs go first, so N listed URLs are all fetched in ⌈N / max_pages⌉ runs.
Also the pure parts of run health: the staleness warning, the summary line, the run's tags."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from huunghi import accounting
from huunghi.crawl.crawl import crawl
from huunghi.crawl.rawzone import RawZone
from huunghi.crawl.sources import Source
from huunghi.quality.report import RunReport
from huunghi.settings import RunSettings
from huunghi.tasks.report import run_tags
from tests.listing_server import ListingServer


def _source(server: ListingServer, max_pages: int, **kw) -> Source:
    base = dict(
        name="many",
        sitemaps=(f"{server.base}/sitemap.xml",),
        allowed_hosts=frozenset({"127.0.0.1"}),
        allow_private=True,
        rate_per_second=10_000.0,
        concurrency=4,
        timeout_seconds=10.0,
        retries=0,
        max_pages=max_pages,
    )
    return Source(**{**base, **kw})


def _states(result) -> Counter:
    return Counter(entry.state for entry in result.frontier)


def test_ten_thousand_listed_urls_one_run_takes_max_pages_the_rest_wait(tmp_path):
    with ListingServer(10_000) as server:
        result = crawl(_source(server, 40), RawZone(tmp_path / "raw"), "run-1", attempt=1)
        asked = server.pages_asked()
    assert len(result.frontier) == 10_000 and len({e.url for e in result.frontier}) == 10_000  # each URL once
    assert _states(result) == {"fetched": 40, "waiting": 9_960}
    assert sorted(asked) == sorted(server.urls[:40]) and set(asked.values()) == {1}  # listing order, once each
    assert len(result.pages) == 40
    table = accounting.frontier_table(result.frontier, "run-1")
    assert table.num_rows == 10_000 and table.column("url").to_pylist() == sorted(server.urls)
    report = RunReport("run-1", str(tmp_path), datetime.now(UTC), frontier=accounting.frontier_counts(result.frontier))
    assert "9,960 listed URLs wait for the next runs" in report.markdown()


def test_runs_together_fetch_every_listed_url_once_never_fetched_first(tmp_path):
    urls, max_pages = 90, 20
    zone = RawZone(tmp_path / "raw")
    with ListingServer(urls) as server:
        source = _source(server, max_pages)
        per_run = []
        for run in range(1, math.ceil(urls / max_pages) + 1):  # 5 runs: 20, 20, 20, 20, 10 + 10 refetched
            before = server.pages_asked()
            result = crawl(source, zone, f"run-{run}", attempt=1)
            per_run.append((server.pages_asked() - before, result))
        total = server.pages_asked()
    assert all(sum(asked.values()) == max_pages for asked, _ in per_run)  # max_pages bounds each run
    first_asks = [url for asked, _ in per_run[:4] for url in asked] + [url for url in per_run[4][0] if total[url] == 1]
    assert sorted(first_asks) == sorted(server.urls)  # every URL, each asked once before any refetch
    assert [u for u in server.urls if u in per_run[1][0]] == server.urls[20:40]  # then on in listing order
    refetched = sorted(u for u in per_run[4][0] if total[u] == 2)
    assert refetched == sorted(per_run[0][0])[:10]  # then refetches: the longest unasked (run 1), ties by URL
    assert _states(per_run[0][1]) == {"fetched": 20, "waiting": 70}
    assert _states(per_run[1][1]) == {"fetched": 40, "waiting": 50}  # run 1's pages stay fetched: not waiting
    assert _states(per_run[4][1]) == {"fetched": 90}


def test_a_retry_in_the_same_run_keeps_the_choice(tmp_path):
    zone = RawZone(tmp_path / "raw")
    with ListingServer(30) as server:
        source = _source(server, 10)
        first = crawl(source, zone, "run-1", attempt=1)
        again = crawl(source, zone, "run-1", attempt=2)  # as Prefect retries the task: settled pages stay
        asked = server.pages_asked()
    fetched = sorted(e.url for e in first.frontier if e.state == "fetched")
    assert sorted(e.url for e in again.frontier if e.state == "fetched") == fetched
    assert sum(asked.values()) == 10  # nothing fetched twice


def test_entries_not_followed_are_refused_and_an_unreadable_listing_is_quarantined(tmp_path):
    with ListingServer(5, extra=("/tag/x",)) as server:
        source = _source(
            server, 100, follow=r"/p/\d+\.html$", sitemaps=(f"{server.base}/sitemap.xml", f"{server.base}/bomb.xml")
        )
        result = crawl(source, RawZone(tmp_path / "raw"), "run-1", attempt=1)
    refused = [(e.url, e.reason) for e in result.frontier if e.state == "refused"]
    assert refused == [(f"{server.base}/tag/x", "not_followed")]
    assert _states(result) == {"fetched": 5, "refused": 1}
    assert [(q.source_uri, q.stage, q.reason) for q in result.quarantined] == [
        (f"{server.base}/bomb.xml", "discover", "unsafe_xml")
    ]


def test_staleness_warns_after_the_configured_days_only():
    from huunghi.quality.report import staleness

    now = datetime(2026, 12, 6, 6, tzinfo=UTC)
    days = RunSettings().stale_after_days
    assert days == 3
    assert staleness(now - timedelta(days=4), now - timedelta(days=30), days, now).startswith("no new article for 3")
    assert staleness(None, now - timedelta(days=4), days, now) is not None  # never any article since the first run
    assert staleness(now - timedelta(days=1), now - timedelta(days=30), days, now) is None
    assert staleness(None, now - timedelta(days=1), days, now) is None  # a warehouse younger than that: not stale
    with pytest.raises(ValueError):
        RunSettings(stale_after_days=0)


def test_a_run_of_a_sources_file_is_tagged_with_its_kinds(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text('[[source]]\nname = "s"\nsitemaps = ["https://thoidai.com.vn/sitemap.xml"]\n')
    tags = run_tags(RunSettings(sources_file=str(config)))
    assert "source:web" in tags and "source:bundled corpus" not in tags and "source:sources-file" in tags
    assert "source:bundled corpus" in run_tags(RunSettings())


def test_the_frontier_table_merges_on_url_and_a_repeat_changes_nothing(tmp_path):
    from huunghi.records import Listed
    from huunghi.warehouse import store, write
    from huunghi.warehouse.schema import build

    def run(run_id: str, listed: list[Listed]) -> list[tuple]:
        tables = {name: build(name, []) for name in write.RUN_TABLES}
        tables["frontier"] = accounting.frontier_table(listed, run_id)
        info = write.RunInfo(run_id, None, datetime.now(UTC))
        write.publish(tmp_path, tables, info, audit=lambda counts: None)
        con = store.connect(tmp_path, read_only=True)
        try:
            return con.execute("SELECT url, state, reason, first_listed_at, last_fetched_at, run_id FROM frontier "
                               "ORDER BY url").fetchall()  # fmt: skip
        finally:
            con.close()

    t0, t1 = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
    first = [
        Listed("https://a.vn/1", "s", "fetched", None, t0, t0),
        Listed("https://a.vn/2", "s", "waiting", None, t0, None),
    ]
    once = run("run-1", first)
    assert [(u, s, r) for u, s, _, _, _, r in once] == [("https://a.vn/1", "fetched", "run-1"),
                                                        ("https://a.vn/2", "waiting", "run-1")]  # fmt: skip
    again = [Listed(e.url, e.source, e.state, e.reason, t1, e.last_fetched_at) for e in first]  # listed again
    assert run("run-2", again) == once  # the same frontier: no row rewritten, first_listed_at kept
    later = [again[0], Listed("https://a.vn/2", "s", "fetched", None, t1, t1)]
    rows = run("run-3", later)
    assert rows[0] == once[0] and rows[1][1:] == ("fetched", None, t0, t1, "run-3")
