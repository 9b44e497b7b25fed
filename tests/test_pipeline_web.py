"""End to end with web inputs: HTML folders, WARC files, sitemaps and feeds served on 127.0.0.1."""

from __future__ import annotations

import pytest

from huunghi.corpus import generate, read_truth
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from tests.site_server import SiteServer
from tests.test_ingest_formats import write_warc
from tests.test_pipeline import dump, query, state

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API


@pytest.fixture(scope="module")
def server():
    with SiteServer(pages=24, seed=5) as srv:
        yield srv


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_on_a_folder_of_gzipped_html(tmp_path, capsys):
    corpus = generate(tmp_path / "site", 60, seed=8, formats=("html.gz",))
    code, _, err = cli(capsys, "run", "--source", str(corpus), "--warehouse", str(tmp_path / "wh"))
    assert code == 0, err
    truth = read_truth(corpus)
    duplicates = sum(1 for t in truth if "same_as" in t or "near_dup_of" in t)
    rows = query(tmp_path / "wh", "SELECT count(*), count(url), count(*) FILTER (extractor = 'layout') FROM articles")
    assert rows == [(60, 60, 60)]
    assert query(tmp_path / "wh", "SELECT count(*) FROM articles WHERE duplicate_of IS NULL")[0][0] == 60 - duplicates
    assert query(
        tmp_path / "wh",
        "SELECT count(*) = count(url) FROM stories WHERE story_id IN "
        "(SELECT story_id FROM story_appearances WHERE block <> 'inline')",
    )[0][0]


def test_run_on_a_warc_file(tmp_path, capsys):
    corpus = generate(tmp_path / "site", 10, seed=9, formats=("html",))
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, [(t["url"], (corpus / t["file"]).read_bytes()) for t in read_truth(corpus)])
    code, _, err = cli(capsys, "run", "--source", str(warc), "--warehouse", str(tmp_path / "wh"))
    assert code == 0, err
    assert query(tmp_path / "wh", "SELECT outcome, count(*) FROM pages GROUP BY ALL ORDER BY 1") == [
        ("article", 10),
        ("duplicate", 1),  # the browser's resource record of the first page
        ("quarantine", 1),  # the archived 404
    ]
    assert query(tmp_path / "wh", "SELECT reason FROM quarantine") == [("http_404",)]


def test_feed_url_needs_private_addresses_allowed(server, tmp_path, capsys):
    feed = f"{server.base}/rss/bon-phuong-ket-ban.rss"
    code, _, err = cli(capsys, "run", "--source", feed, "--warehouse", str(tmp_path / "wh"))
    assert code == 2 and "private/loopback" in err and "--allow-private" in err
    assert not server.requests() or feed.split(server.base)[1] not in server.requests()


def test_feed_url_crawl_then_nothing_new(server, tmp_path, capsys):
    feed = f"{server.base}/rss/bon-phuong-ket-ban.rss"
    wh = tmp_path / "wh"
    code, _, err = cli(capsys, "run", "--source", feed, "--allow-private", "--warehouse", str(wh))
    assert code == 0, err
    listed = len(server.site.articles) // 2
    assert query(wh, "SELECT count(*) FROM articles WHERE url LIKE 'http://127.0.0.1:%'") == [(listed,)]
    before, tables = state(wh), dump(wh)
    mark = len(server.log)
    code, out, err = cli(capsys, "run", "--source", feed, "--allow-private", "--warehouse", str(wh))
    assert code == 0, err
    again = [(path, status) for path, status, _ in server.log[mark:]]
    assert {status for path, status in again if path != "/robots.txt"} == {304}  # conditional requests only
    assert len(again) == listed + 2  # robots.txt, the feed, each page once
    assert dump(wh) == tables and state(wh)[0] == {**before[0], "runs": before[0]["runs"] + 1}
    assert f"unchanged {listed}" in out


def test_sitemap_crawl_with_misbehaving_pages(server, tmp_path):
    wh = tmp_path / "wh"
    config = tmp_path / "sources.toml"
    config.write_text(
        f"""[[source]]
name = "test-site"
sitemaps = ["{server.base}/sitemap.xml"]
allow_private = true
rate_per_second = 100
timeout_seconds = 1
retries = 1
retry_delay_seconds = 0.2
"""
    )
    server.flaky_calls = 0
    summary = pipeline(sources_file=str(config), warehouse=str(wh))
    articles = len(server.site.articles)  # the flaky page recovers on Prefect's retry of the crawl task
    assert summary.counts["articles_new"] + summary.counts["duplicates_new"] == articles
    assert (
        query(wh, "SELECT count(*) FROM pages WHERE source_uri LIKE '%/broken/flaky.html' AND outcome <> 'quarantine'")[
            0
        ][0]
        == 1
    )
    assert sorted(query(wh, "SELECT stage, reason FROM quarantine")) == sorted(
        [
            ("fetch", r)
            for r in (
                "http_404",
                "redirect_off_site",
                "too_large",
                "wrong_content_type",
                "timeout",
                "robots_disallowed",
            )
        ]
    )
    assert "/private/hidden.html" not in server.requests()
    assert (wh / "raw" / "objects").is_dir() and any((wh / "raw" / "objects").rglob("*.gz"))

    tables = dump(wh)
    mark = len(server.log)
    summary = pipeline(sources_file=str(config), warehouse=str(wh))
    pages_again = [s for p, s, _ in server.log[mark:] if p.startswith("/bon-phuong-ket-ban/")]
    assert pages_again and set(pages_again) == {304}
    assert summary.counts["unchanged"] == articles and dump(wh) == tables

    mark = len(server.log)
    summary = pipeline(sources_file=str(config), warehouse=str(wh), offline=True)  # replay the raw zone
    assert server.log[mark:] == [] and dump(wh) == tables and summary.counts["unchanged"] == articles
