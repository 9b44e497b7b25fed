"""End to end (a real Prefect API): the frontier table across runs of a 10,000-URL sitemap, a run that read
nothing is not a success, and a warehouse that got no new article for days says so in the run's state."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from huunghi.corpus import generate
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline, pipeline_flow
from huunghi.settings import RunSettings
from huunghi.warehouse import store
from tests.listing_server import ListingServer
from tests.test_pipeline import query

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def _sources_file(tmp_path: Path, sitemap: str, max_pages: int = 1000) -> Path:
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "many"\nsitemaps = ["{sitemap}"]\nallow_private = true\nrate_per_second = 1000\n'
        f"timeout_seconds = 5\nretries = 0\nmax_pages = {max_pages}\n"
    )
    return config


def _reports(root: Path) -> list[dict]:
    runs = sorted((root / "quality" / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return [json.loads(p.read_text("utf-8")) for p in runs]


def _summary_artifact(flow_run_id: str) -> str:
    """The run summary's markdown, as the UI's Artifacts tab shows it."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = client.request(
            "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}
        ).json()
    return next(a["data"] for a in found if a["key"] == "huunghi-run-summary")


def test_a_ten_thousand_url_sitemap_waits_in_the_frontier_and_the_next_run_goes_on(tmp_path):
    wh = tmp_path / "wh"
    with ListingServer(10_000) as server:
        config = _sources_file(tmp_path, f"{server.base}/sitemap.xml", max_pages=5)
        first = pipeline(sources_file=str(config), warehouse=str(wh))
        second = pipeline(sources_file=str(config), warehouse=str(wh))
        asked = server.pages_asked()
    assert first.counts["articles_new"] + first.counts["duplicates_new"] == 5
    assert second.counts["articles_new"] + second.counts["duplicates_new"] == 5
    assert sorted(asked) == sorted(server.urls[:10]) and set(asked.values()) == {1}  # never-fetched first
    rows = query(wh, "SELECT state, count(*), count(last_fetched_at), count(DISTINCT source) FROM frontier GROUP BY 1")
    assert sorted(rows) == [("fetched", 10, 10, 1), ("waiting", 9_990, 0, 1)]
    assert query(
        wh, "SELECT count(*) FROM frontier WHERE state = 'fetched' AND url NOT IN (SELECT url FROM pages)"
    ) == [(0,)]
    assert "9,995 listed URLs wait for the next runs" in _summary_artifact(first.run_id)
    assert "9,990 listed URLs wait for the next runs" in _summary_artifact(second.run_id)
    one, two = _reports(wh)
    assert one["frontier"] == {"listed": 10_000, "fetched": 5, "waiting": 9_995, "refused": 0}
    assert two["counts"]["ingest"]["waiting_urls"] == 9_990


def test_a_run_whose_web_sources_read_nothing_fails_and_exits_nonzero(tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _sources_file(tmp_path, f"http://127.0.0.1:{port}/sitemap.xml")
    wh = tmp_path / "wh"
    code = main(["run", "-q", "--sources-file", str(config), "--warehouse", str(wh)])
    err = capsys.readouterr().err
    assert code != 0 and "read nothing" in err and len(err.strip().splitlines()) == 1, err
    state = pipeline_flow(RunSettings(sources_file=str(config), warehouse=str(wh)), return_state=True)
    assert state.is_failed() and "read nothing" in state.message
    # what the runs learned is published: the sitemap's quarantine row, and the runs marked for what they were
    assert query(wh, "SELECT stage, count(*) FROM quarantine GROUP BY 1") == [("discover", 1)]
    assert query(wh, "SELECT status, count(*) FROM runs GROUP BY 1") == [("read_nothing", 2)]
    assert {r["status"] for r in _reports(wh)} == {"read nothing"}


def test_no_new_article_for_days_is_a_warning_in_the_log_summary_and_state(tmp_path):
    corpus = generate(tmp_path / "corpus", 8, seed=4)
    wh = tmp_path / "wh"
    settings = RunSettings(sources=[str(corpus)], warehouse=str(wh), stale_after_days=2)
    assert pipeline_flow(settings, return_state=True).name == "Completed"  # new articles: a plain success
    con = store.connect(wh, read_only=False)
    try:  # as if that run had been five days ago
        con.execute(
            "UPDATE runs SET started_at = started_at - INTERVAL 5 DAY, finished_at = finished_at - INTERVAL 5 DAY"
        )
    finally:
        con.close()
    state = pipeline_flow(settings, return_state=True)  # the same pages again: nothing new
    assert state.is_completed() and state.name == "No new articles" and "no new article for 2 day" in state.message
    summary = state.result()
    assert any("no new article for 2 day" in w for w in summary.warnings)
    assert "no new article for 2 day" in _reports(wh)[-1]["warnings"][0]


def test_a_loaded_page_that_cannot_be_fetched_again_stays_loaded_in_one_place(tmp_path):
    wh = tmp_path / "wh"
    with ListingServer(3) as server:
        config = _sources_file(tmp_path, f"{server.base}/sitemap.xml", max_pages=3)
        pipeline(sources_file=str(config), warehouse=str(wh))
        server.gone.add("/p/1.html")  # taken down: the next run's refetch gets a 404
        again = pipeline(sources_file=str(config), warehouse=str(wh))
        asked = server.pages_asked()
    gone = f"{server.base}/p/1.html"
    assert asked[gone] == 2 and again.counts["quarantined_new"] == 0
    assert query(wh, "SELECT count(*) FROM quarantine") == [(0,)]
    assert query(wh, "SELECT outcome, article_id IS NOT NULL FROM pages WHERE source_uri = ?", [gone]) in (
        [("article", True)],
        [("duplicate", True)],
    )
    assert query(wh, "SELECT count(*) FROM articles WHERE source_uri = ?", [gone]) == [(1,)]
    assert query(wh, "SELECT state, reason FROM frontier WHERE url = ?", [gone]) == [("refused", "http_404")]


def test_a_dry_run_does_not_move_the_frontier_on(tmp_path):
    wh = tmp_path / "wh"
    with ListingServer(12) as server:
        config = _sources_file(tmp_path, f"{server.base}/sitemap.xml", max_pages=4)
        pipeline(sources_file=str(config), warehouse=str(wh), dry_run=True)
        pipeline(sources_file=str(config), warehouse=str(wh))
        asked = server.pages_asked()
    assert sorted(asked) == sorted(server.urls[:4])  # the real run takes what the dry run took, not the next 4
    assert sorted(query(wh, "SELECT state, count(*) FROM frontier GROUP BY 1")) == [("fetched", 4), ("waiting", 8)]
    assert query(
        wh, "SELECT count(*) FROM frontier WHERE state = 'fetched' AND url NOT IN (SELECT source_uri FROM pages)"
    ) == [(0,)]


def test_two_sources_listing_the_same_urls_load_each_page_once(tmp_path):
    wh = tmp_path / "wh"
    with ListingServer(3) as server:
        one = (f'sitemaps = ["{server.base}/sitemap.xml"]\nallow_private = true\nrate_per_second = 1000\n'
               "timeout_seconds = 5\nretries = 0\nmax_pages = 3\n")  # fmt: skip
        config = tmp_path / "sources.toml"
        config.write_text(f'[[source]]\nname = "a"\n{one}\n[[source]]\nname = "b"\n{one}')
        summary = pipeline(sources_file=str(config), warehouse=str(wh))
        asked = server.pages_asked()
    assert summary.counts["articles_new"] + summary.counts["duplicates_new"] == 3 and set(asked.values()) == {1}
    assert query(wh, "SELECT source, count(*) FROM frontier GROUP BY 1") == [("a", 3)]
