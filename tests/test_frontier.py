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
        per_run, published = [], {}
        for run in range(1, math.ceil(urls / max_pages) + 1):  # 5 runs: 20, 20, 20, 20, 10 + 10 refetched
            before = server.pages_asked()
            result = crawl(source, zone, f"run-{run}", attempt=1, published=_reader(published))
            published.update(_rows(result))  # each run's load publishes its frontier rows
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


@pytest.mark.slow
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


def _rows(*results) -> dict[str, dict]:
    """The frontier rows the loads of these runs publish, by URL (a later run's row replaces an earlier one's)."""
    rows: dict[str, dict] = {}
    for run, result in enumerate(results):
        rows.update({row["url"]: row for row in accounting.frontier_table(result.frontier, f"run-{run}").to_pylist()})
    return rows


def _reader(rows: dict[str, dict]):
    """What crawl reads of the warehouse: the published frontier rows of the URLs it asks for."""
    return lambda urls: {url: rows[url] for url in urls if url in rows}


def test_a_run_that_published_nothing_does_not_advance_the_frontier(tmp_path):
    zone = RawZone(tmp_path / "raw")
    with ListingServer(12) as server:
        source = _source(server, 4)
        crawl(source, zone, "dry", attempt=1, published=_reader({}))  # a dry run (or a stopped one): nothing published
        real = crawl(source, zone, "real", attempt=1, published=_reader({}))
        before = server.pages_asked()
        crawl(source, zone, "next", attempt=1, published=_reader(_rows(real)))
        asked = server.pages_asked() - before
    assert sorted(e.url for e in real.frontier if e.state == "fetched") == sorted(server.urls[:4])  # taken again
    assert _states(real) == {"fetched": 4, "waiting": 8} and len(real.pages) == 4
    assert sorted(asked) == sorted(server.urls[4:8])  # what was published moves the frontier on


def test_a_url_two_sources_list_is_taken_once_per_run(tmp_path):
    zone = RawZone(tmp_path / "raw")
    with ListingServer(6) as server:
        first = crawl(_source(server, 4, name="a"), zone, "run-1", attempt=1, published=_reader({}))
        second = crawl(_source(server, 4, name="b"), zone, "run-1", attempt=1, published=_reader({}))
        again = crawl(_source(server, 4, name="b"), zone, "run-1", attempt=2, published=_reader({}))  # a retry
        asked = server.pages_asked()
    uris = [p.source_uri for p in first.pages + second.pages]
    assert len(uris) == len(set(uris)) == 6  # b skips what a gave and takes the two a left
    assert sorted(p.source_uri for p in again.pages) == sorted(p.source_uri for p in second.pages)
    assert sorted(asked) == sorted(server.urls) and set(asked.values()) == {1}
    table = accounting.frontier_table(first.frontier + second.frontier, "run-1")
    assert set(table.column("state").to_pylist()) == {"fetched"} and table.num_rows == 6


def test_listed_urls_are_canonical_so_a_fragment_does_not_take_a_slot_every_run(tmp_path):
    zone = RawZone(tmp_path / "raw")
    with ListingServer(2) as server:
        given = (f"{server.base}/p/0.html#top", f"HTTP://{server.base.removeprefix('http://')}/p/1.html")
        source = _source(server, 1, sitemaps=(), urls=given)
        first = crawl(source, zone, "run-1", attempt=1, published=_reader({}))
        second = crawl(source, zone, "run-2", attempt=1, published=_reader(_rows(first)))
        asked = server.pages_asked()
    assert sorted(e.url for e in second.frontier) == sorted(server.urls)
    assert asked == {url: 1 for url in server.urls}  # run 2 takes the other URL, not the fragment's page again
    assert [p.source_uri for p in first.pages] == [server.urls[0]]


def test_sitemaps_past_the_listing_limit_are_counted_and_said(tmp_path, monkeypatch):
    from huunghi.crawl import crawl as crawl_module

    monkeypatch.setattr(crawl_module, "MAX_LISTINGS", 1)
    said: list[str] = []
    with ListingServer(3) as server:
        source = _source(server, 10, sitemaps=(f"{server.base}/sitemap.xml", f"{server.base}/bomb.xml"))
        result = crawl(source, RawZone(tmp_path / "raw"), "run-1", attempt=1, say=said.append)
    assert result.stats["listings_not_read"] == 1 and not result.quarantined
    assert any("1 listing(s) not read" in line for line in said)


def test_a_url_one_source_refuses_and_another_leaves_waiting_is_waiting(tmp_path):
    zone = RawZone(tmp_path / "raw")
    with ListingServer(6) as server:
        refusing = crawl(_source(server, 0, name="a", follow=r"/nomatch$"), zone, "run-1", attempt=1)
        following = crawl(_source(server, 2, name="b"), zone, "run-1", attempt=1)
    listed = refusing.frontier + following.frontier
    assert accounting.frontier_counts(listed) == {"listed": 6, "fetched": 2, "waiting": 4, "refused": 0}
    table = accounting.frontier_table(listed, "run-1").to_pylist()
    assert Counter((row["source"], row["state"]) for row in table) == {("b", "fetched"): 2, ("b", "waiting"): 4}


def test_a_transient_failure_is_asked_again_before_pages_that_loaded_fine():
    from huunghi.crawl.crawl import frontier_order

    t0, t1 = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
    urls = ["https://a.vn/ok", "https://a.vn/slow", "https://a.vn/gone", "https://a.vn/new"]
    published = {
        urls[0]: {"state": "fetched", "reason": None, "last_fetched_at": t0},
        urls[1]: {"state": "refused", "reason": "timeout", "last_fetched_at": t1},  # asked later than the others
        urls[2]: {"state": "refused", "reason": "http_404", "last_fetched_at": t0},
    }
    states = {url: {} for url in urls}
    assert frontier_order(urls, states, published, "run-2") == [urls[3], urls[1], urls[2], urls[0]]
