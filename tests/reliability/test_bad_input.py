"""Bad input, tried for real: every input ends in exactly one place and the run completes.

One run over 80 good pages plus the inputs a daily crawl or a user's folder really produces: an empty
file, a PDF and random bytes named .html, a truncated page, invalid UTF-8, Windows-1258 text, a 50 MB
page, tags nested 100,000 deep, a gzip bomb, a page without an article, a page dated in the future, the
same file twice, a WARC with a corrupt record, a page of furniture only; and (issue 16) UTF-8 with one
byte in seven broken, a WARC cut in its last record, links in a loop or to nothing, 600,000 links; and
(issue 25) a FIFO and a link to /dev/zero, which must be quarantined without being read.
Then the run's summary artifact and Data Docs are read, and `huunghi quarantine` / `huunghi reprocess`
are used as a user would.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from huunghi.corpus import generate, read_truth
from huunghi.corpus.html import encode
from huunghi.flows.pipeline import pipeline
from huunghi.quality import gates
from huunghi.quality.report import report_path
from huunghi.readers.decode import decode
from huunghi.readers.files import absolute
from huunghi.tasks.report import ARTIFACT_KEY
from tests.test_pipeline import query

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API
GOOD = 80  # enough that the bad inputs stay under the pages gate's 20% bound


def _warc(path: Path, pages: list[tuple[str, bytes]]) -> None:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
            )


def _warc_with_corrupt_record(path: Path, pages: list[tuple[str, bytes]]) -> None:
    """Good response records, then one whose gzip member is damaged half-way."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    ends = []
    for url, body in pages:
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
        ends.append(buffer.tell())
    data = bytearray(buffer.getvalue())
    start = ends[-2]
    for i in range(start + 40, start + 400):  # inside the last member's deflate stream
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    corpus = generate(base / "corpus", GOOD + 12, seed=23, formats=("text", "html"))
    truth = read_truth(corpus)
    src = base / "src"
    src.mkdir()
    expected: dict[str, tuple[str, str | None]] = {}  # file name → (outcome, stage/reason)
    for page in truth[:GOOD]:
        shutil.copy(corpus / page["file"], src / Path(page["file"]).name)
    spare = truth[GOOD:]

    def html_of(page: dict) -> str:
        data = (corpus / page["file"]).with_suffix(".html").read_bytes()
        return decode(data)[0]

    (src / "empty.html").write_bytes(b"")
    expected["empty.html"] = ("quarantine", "ingest/empty")
    (src / "paper.html").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 20)
    expected["paper.html"] = ("quarantine", "ingest/not_text")
    (src / "noise.html").write_bytes(b"<" + random.Random(7).randbytes(20_000))
    expected["noise.html"] = ("quarantine", "ingest/not_text")
    doc = html_of(spare[0])
    (src / "truncated.html").write_text(doc[: len(doc) // 2], "utf-8")
    expected["truncated.html"] = ("article", None)
    raw = (corpus / spare[1]["file"]).read_bytes()
    cut = raw.index("ệ".encode())
    (src / "invalid-utf8.txt").write_bytes(raw[:cut] + b"\xff\xfe" + raw[cut + 1 :])
    expected["invalid-utf8.txt"] = ("article", None)
    (src / "legacy-cp1258.txt").write_bytes(encode((corpus / spare[2]["file"]).read_text("utf-8"), "windows-1258"))
    expected["legacy-cp1258.txt"] = ("article", None)
    with (src / "huge.html").open("wb") as f:
        f.write(b"<html><body><p>")
        f.write(b"a" * (50 * 1024 * 1024))
    expected["huge.html"] = ("quarantine", "ingest/too_large")
    body = doc.index(">", doc.index("<body")) + 1
    (src / "deep.html").write_text(doc[:body] + "<div>" * 100_000 + doc[body:], "utf-8")
    expected["deep.html"] = ("quarantine", "clean/no_body")
    doc3 = html_of(spare[3])
    end = doc3.index("</body>")
    (src / "deep-sidebar.html").write_text(doc3[:end] + "<div>" * 100_000 + "x" + "</div>" * 100_000 + doc3[end:])
    expected["deep-sidebar.html"] = ("article", None)
    (src / "bomb.html.gz").write_bytes(gzip.compress(b" " * (64 * 1024 * 1024)))
    expected["bomb.html.gz"] = ("quarantine", "ingest/too_large")
    (src / "login.html").write_text(
        "<html><head><title>Đăng nhập</title></head><body><nav><a href='/'>Trang chủ</a></nav>"
        "<form><input name=u><button>Đăng nhập</button></form><footer>© Thời Đại</footer></body></html>",
        "utf-8",
    )
    expected["login.html"] = ("quarantine", "clean/no_body")
    lines = (corpus / spare[4]["file"]).read_text("utf-8").split("\n")
    lines[1] = "09:00 | 01/01/2099 GMT+7"
    (src / "future.txt").write_text("\n".join(lines), "utf-8")
    expected["future.txt"] = ("quarantine", "clean/published_in_future")
    first = Path(truth[0]["file"]).name
    shutil.copy(src / first, src / "again.txt")
    lines = (corpus / spare[5]["file"]).read_text("utf-8").split("\n")
    furniture = next(i for i, line in enumerate(lines) if line.startswith(("Nguồn:", "Tin bài liên quan", "Đọc nhiều")))
    (src / "furniture-only.txt").write_text("\n".join([*lines[:2], "", *lines[furniture:]]), "utf-8")
    expected["furniture-only.txt"] = ("quarantine", "clean/no_title")
    archived = [(p["url"], (corpus / p["file"]).with_suffix(".html").read_bytes()) for p in spare[6:9]]
    _warc_with_corrupt_record(src / "crawl.warc.gz", archived)
    expected["crawl.warc.gz"] = ("quarantine", "ingest/bad_warc")

    # Heavily broken UTF-8 (one byte in seven replaced): stays UTF-8, judged by its share of U+FFFD.
    damaged = bytearray((corpus / spare[10]["file"]).read_bytes())
    rng = random.Random(3)
    for i in rng.sample(range(len(damaged)), len(damaged) // 7):
        damaged[i] = rng.randrange(0x80, 0x100)
    (src / "broken-utf8.txt").write_bytes(bytes(damaged))
    expected["broken-utf8.txt"] = ("quarantine", "ingest/not_text")
    # A web archive cut in its last record: the first record is a page, the cut one is not.
    whole = base / "whole.warc.gz"
    page11 = (corpus / spare[11]["file"]).with_suffix(".html").read_bytes()
    _warc(whole, [(spare[11]["url"], page11), (spare[11]["url"] + "?copy", page11)])
    (src / "cut.warc.gz").write_bytes(whole.read_bytes()[:-300])
    expected["cut.warc.gz"] = ("quarantine", "ingest/bad_warc")
    # Links that lead nowhere: a loop of two, and one to a file that is gone.
    (src / "loop-a.html").symlink_to("loop-b.html")
    (src / "loop-b.html").symlink_to("loop-a.html")
    (src / "gone.html").symlink_to("deleted-meanwhile.html")
    for name in ("loop-a.html", "loop-b.html", "gone.html"):
        expected[name] = ("quarantine", "ingest/unreadable")
    # Not files (a FIFO hung the run; a link to /dev/zero read 3.2 GB): quarantined without being read.
    os.mkfifo(src / "pipe.html")
    (src / "zero.html").symlink_to("/dev/zero")
    for name in ("pipe.html", "zero.html"):
        expected[name] = ("quarantine", "ingest/not_a_file")
    # 15 MB of 600,000 links: set aside from counts made before any parsing.
    (src / "links.html").write_text("<html><body>" + "<a href='/x'>liên kết</a>" * 600_000 + "</body></html>")
    expected["links.html"] = ("quarantine", "clean/too_complex")

    root = base / "wh"
    # The same file named twice (and inside the folder): read once.
    summary = pipeline(sources=[str(src), str(src / first), str(src / first)], warehouse=str(root))
    spare_html = (corpus / spare[9]["file"]).with_suffix(".html").read_bytes()
    return {
        "root": root,
        "src": src,
        "expected": expected,
        "summary": summary,
        "spare_html": spare_html,
        "twins": (first, "again.txt"),
    }


def test_every_bad_input_ends_where_it_belongs(bad_run):
    root = bad_run["root"]
    rows = query(
        root,
        """SELECT p.source_uri, p.outcome, q.stage || '/' || q.reason FROM pages p
           LEFT JOIN quarantine q USING (source_uri) ORDER BY p.source_uri""",
    )
    got = {uri.rsplit("/", 1)[1]: (outcome, where) for uri, outcome, where in rows if "#" not in uri}
    for name, want in bad_run["expected"].items():
        assert got[name] == want, name
    assert sorted(got[name] for name in bad_run["twins"]) == [("article", None), ("duplicate", None)]  # same file
    records = [(outcome, where) for uri, outcome, where in rows if "#" in uri]
    assert records == [("article", None)] * 3  # the WARCs' records before the damage are articles
    details = dict(query(root, "SELECT regexp_extract(source_uri, '[^/]+$'), details FROM quarantine "
                               "WHERE reason = 'bad_warc'"))  # fmt: skip
    assert "after 2 page record(s)" in details["crawl.warc.gz"]
    assert "offset" in details["cut.warc.gz"] and "after 1 page record(s)" in details["cut.warc.gz"]
    gone = query(root, "SELECT details FROM quarantine WHERE source_uri LIKE '%/gone.html'")[0][0]
    assert "deleted-meanwhile.html" in gone  # the reason names where the link leads


def test_no_input_lost(bad_run):
    """Every file (and WARC record read) is in `pages` once, with exactly one place: an article, a
    duplicate, or the quarantine with its reason."""
    root, src = bad_run["root"], bad_run["src"]
    files = {absolute(p).as_uri() for p in src.iterdir()}
    pages = dict(query(root, "SELECT source_uri, outcome FROM pages"))
    assert {uri.split("#")[0] for uri in pages} == files
    assert len(pages) == len(files) + 3  # + the three WARC records read
    quarantined = query(root, "SELECT source_uri, count(*) FROM quarantine GROUP BY source_uri")
    assert {u for u, n in quarantined} == {u for u, o in pages.items() if o == "quarantine"}
    assert all(n == 1 for _, n in quarantined)
    loaded = dict(query(root, "SELECT source_uri, duplicate_of IS NULL FROM articles"))
    assert {u for u, o in pages.items() if o == "article"} == {u for u, canonical in loaded.items() if canonical}
    assert {u for u, o in pages.items() if o == "duplicate"} == {u for u, canonical in loaded.items() if not canonical}
    assert bad_run["summary"].pages == len(pages)


def test_articles_from_damaged_but_readable_pages(bad_run):
    root = bad_run["root"]
    titles = dict(
        query(root, "SELECT regexp_extract(source_uri, '[^/]+$'), title FROM articles WHERE source_uri LIKE 'file:%'")
    )
    assert "�" not in titles["legacy-cp1258.txt"] and "Windows" not in titles["legacy-cp1258.txt"]
    for name in ("truncated.html", "invalid-utf8.txt", "legacy-cp1258.txt", "deep-sidebar.html"):
        body = query(
            root,
            """SELECT count(*) FROM paragraphs JOIN articles USING (article_id)
               WHERE source_uri LIKE ? AND kind = 'body'""",
            [f"%/{name}"],
        )[0][0]
        assert body >= 2, name


def test_quarantine_keeps_the_raw_input(bad_run):
    root = bad_run["root"]
    kept = dict(query(root, "SELECT reason || ':' || regexp_extract(source_uri, '[^/]+$'), raw FROM quarantine"))
    assert kept["not_text:paper.html"].startswith(b"%PDF-1.7")
    assert gzip.decompress(kept["too_large:bomb.html.gz"])[:10] == b" " * 10  # the compressed file as it was
    assert kept["too_large:huge.html"] is None  # 50 MB: not copied, the details say so
    assert kept["no_title:furniture-only.txt"].decode("utf-8").startswith("Trang chủ")
    assert kept["published_in_future:future.txt"].decode("utf-8").split("\n")[1] == "09:00 | 01/01/2099 GMT+7"


def test_summary_artifact_and_data_docs(bad_run):
    from prefect.client.orchestration import get_client

    root, summary = bad_run["root"], bad_run["summary"]
    report = json.loads(report_path(root, summary.run_id).read_text("utf-8"))
    assert report["status"] == "completed"
    assert report["quarantine"]["clean/published_in_future"] == 1
    assert report["quarantine"]["ingest/too_large"] == 2
    assert {g["suite"] for g in report["gates"]} >= {"raw_pages", "cleaned", "articles", "pages", "warehouse"}
    cleaned = next(g for g in report["gates"] if g["suite"] == "cleaned")
    assert cleaned["passed"] and cleaned["quarantined"] == 4  # deep, login, future, furniture-only
    docs = Path(report["data_docs"])
    assert docs.is_file() and summary.run_id in docs.read_text("utf-8")
    pages = list((docs.parent / "validations" / "cleaned").rglob("*.html"))
    assert pages and "published_at" in pages[0].read_text("utf-8")

    with get_client(sync_client=True) as client:  # the REST call the UI's Artifacts tab makes
        response = client.request(
            "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [summary.run_id]}}}
        )
    artifacts = response.json()
    [artifact] = [a for a in artifacts if a["key"] == ARTIFACT_KEY]
    text = artifact["data"]
    assert "**completed**" in text and "| cleaned |" in text and "clean/published_in_future: 1" in text
    assert str(docs) in text and "## New stories" in text


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "huunghi.flows.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_quarantine_command_lists_what_and_why(bad_run):
    root = str(bad_run["root"])
    result = _cli("quarantine", "--warehouse", root, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {(r["stage"], r["reason"]) for r in rows} >= {("ingest", "empty"), ("clean", "published_in_future")}
    assert all(r["details"] for r in rows)
    summary = _cli("quarantine", "--warehouse", root, "--summary", "--format", "csv")
    assert "ingest,too_large,2" in summary.stdout.splitlines()
    only = json.loads(_cli("quarantine", "--warehouse", root, "--reason", "no_body", "--format", "json").stdout)
    assert sorted(r["source_uri"].rsplit("/", 1)[1] for r in only) == ["deep.html", "login.html"]


def test_reprocess_after_a_fix(bad_run, tmp_path, monkeypatch):
    """A file fixed on disk is read again; a page whose file is gone is rebuilt from the quarantine's copy
    and, once the rule that refused it is fixed, becomes an article; what still fails stays, unchanged."""
    root = tmp_path / "wh"
    shutil.copytree(bad_run["root"], root)
    src = bad_run["src"]
    before = dict(query(root, "SELECT source_uri, reason FROM quarantine"))
    empty_uri = (src / "empty.html").resolve().as_uri()
    assert before[empty_uri] == "empty"

    # 1. The "empty" page's file now holds the page (the crawler had saved it half-way).
    saved = (src / "empty.html").read_bytes()
    (src / "empty.html").write_bytes(bad_run["spare_html"])
    future_uri = (src / "future.txt").resolve().as_uri()
    try:
        summary = pipeline(warehouse=str(root), reprocess={"source_contains": "empty.html"})
    finally:
        (src / "empty.html").write_bytes(saved)
    after = dict(query(root, "SELECT source_uri, reason FROM quarantine"))
    assert empty_uri not in after and summary.counts["articles_new"] == 1
    assert query(root, "SELECT outcome FROM pages WHERE source_uri = ?", [empty_uri]) == [("article",)]

    # 2. A page refused as dated in the future, whose file is gone: rebuilt from the kept copy, refused
    #    again (nothing changes); then the rule is fixed (here: a wider clock-skew allowance) and it passes.
    moved = tmp_path / "gone"
    moved.mkdir()
    shutil.move(src / "future.txt", moved / "future.txt")
    try:
        unchanged = pipeline(warehouse=str(root), reprocess={"reason": "published_in_future"})
        assert (
            unchanged.counts["articles_new"] == 0
            and dict(query(root, "SELECT source_uri, reason FROM quarantine"))[future_uri] == "published_in_future"
        )
        monkeypatch.setattr(gates, "MAX_CLOCK_SKEW", gates.MAX_CLOCK_SKEW * 365 * 100)  # "the fix"
        pipeline(warehouse=str(root), reprocess={"reason": "published_in_future"})
    finally:
        shutil.move(moved / "future.txt", src / "future.txt")
    assert future_uri not in dict(query(root, "SELECT source_uri, reason FROM quarantine"))
    assert query(root, "SELECT outcome FROM pages WHERE source_uri = ?", [future_uri]) == [("article",)]
