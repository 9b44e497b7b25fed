"""Digests of every warehouse table after two runs on a fixed input set: the proof that a change to how a run reads
the warehouse, cleans pages or loads them changed no row (tests/test_tables_unchanged.py compares them with the
golden file tests/data/table-digests.json, written by this script; the repository's one "tables unchanged" test).

The golden holds the tables of the code of commit 4d3c4aa (before issue 26) wherever that code finishes. It does
not on this input set: in run 2 a mirror page's WARC form (page 274) is marked a copy of its text form, which the
near-duplicate pass marks a copy of the page it mirrors (264), so the WARC form points at a duplicate and
4d3c4aa's warehouse audit (duplicates_of_missing_articles) stops the run. That dedup-chain bug is fixed since, so
the golden was written from the issue-26 code and checked against 4d3c4aa's: with that one page left out of the
WARC, every row of every table 4d3c4aa writes is the same; with it, the tables hold exactly one row more in
`articles` and in `pages` (that page) and run 2's `runs` row counts it. `article_bands` and `story_alias_groups`
are newer than 4d3c4aa: their golden is the issue-26 code's. The input set took over the share of hard cases of
the older tests/test_same_tables.py (120 adversarial pages, 120 HTML-only pages) when that test was removed.

    .venv/bin/python scripts/table-digests.py            # print each table's rows and digest
    .venv/bin/python scripts/table-digests.py --check    # compare with the golden file: exit 1 naming what differs
    .venv/bin/python scripts/table-digests.py --write    # rewrite the golden file

`--write` is for a change to the tables that is intended (a parser rule, a new column): regenerate the golden
in the same commit and say there why the tables changed. A run holds a Prefect API: PREFECT_API_URL, or a
temporary server (in a temporary PREFECT_HOME when none is set).

The inputs, generated afresh at one fixed place (article ids hash the file's path, and ties between copies are
broken by id, so the path must not vary; a lock serializes checkouts that run this at once), every file's
modification time set to one fixed instant (a file's `fetched_at` is its mtime):
- run 1: pages 0-149 of the bundled corpus (text; BUNDLED_SEED) and adversarial text pages 0-59;
- run 2: pages 150-299 of the bundled corpus (text), adversarial pages 60-119, then forms that repeat pages of
  both runs or add new ones: `.html` of every 6th page from 1, `.html.gz` of pages 300-419 (HTML only: new
  articles, a byte copy, a republished mirror), a WARC.gz with the HTML of every 6th page from 4 plus records
  that are not pages (a 404 page, which is quarantined, an image, a redirect, a browser-saved `resource`,
  warcinfo; fixed record ids and dates), byte copies of 5 run-1 text files under other names, and two inputs
  that cannot be read (an empty file, a cut `.html.gz`).
Page 159 repeats page 139 (across the runs); the HTML and WARC forms repeat articles of both runs; run 2 cleans
with the knowledge run 1 stored (stories, headline lines).

Digests: per table, the rows in canonical form (timestamps in UTC ISO form, BLOBs as their SHA-256, lists as
lists), each row hashed, the table's digest the SHA-256 of its sorted row hashes; the golden keeps the table's
columns and a 12-digit prefix of each row hash, so a differing table names its first differing rows.
Left out or replaced, because they differ between any two runs of the same code:
- `run_id`, `first_run_id`, `flow_run_id`: random ids; replaced by the run's number (run1, run2, in the order of
  `runs.started_at`), so which run last wrote a row still counts;
- `runs.started_at`, `runs.finished_at`, `frontier.first_listed_at`, `frontier.last_fetched_at`: clock times
  (the frontier is empty here: no web source).
Kept: `pages.fetched_at` (file mtimes and WARC dates, fixed above), `articles.published_at` (from the page).
Tables only in the warehouse, not in the golden, and columns the golden does not have are reported, not failed.
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "data" / "table-digests.json"
INPUT_VERSION = 1  # bump when the input set below changes (and --write the golden)
PLACE = Path(tempfile.gettempdir()) / "huunghi-table-digests"
MTIME = 1_760_000_000  # 2025-10-09 08:53:20 UTC: every input file's modification time
WARC_DATE = "2025-10-09T08:53:20Z"
SPLIT = 150  # run 1 reads pages [0, SPLIT) of the bundled corpus
HTML_ONLY = range(300, 420)  # pages generated in HTML only (.html.gz), read in run 2
ADVERSARIAL_PER_RUN = 60  # the line parser's hard cases; their repeated headline lines become knowledge
RUN_IDS = ("run_id", "first_run_id", "flow_run_id")
CLOCK_TIMES = {"runs": ("started_at", "finished_at"), "frontier": ("first_listed_at", "last_fetched_at")}
HASH_DIGITS = 12
SHOWN_ROWS = 3


@dataclass
class Table:
    """A table's kept columns and its rows in canonical form, each with its hash."""

    columns: list[str]
    rows: list[tuple[str, str]]  # (the row's SHA-256, the row as canonical JSON)

    def digest(self) -> dict:
        hashes = sorted(h for h, _ in self.rows)
        return {
            "columns": self.columns,
            "rows": len(hashes),
            "sha256": hashlib.sha256("\n".join(hashes).encode()).hexdigest(),
            "row_hashes": " ".join(h[:HASH_DIGITS] for h in hashes),
        }


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


def _write_warc(path: Path, pages: list[tuple[str, bytes, str]], saved: bytes) -> None:
    """A WARC.gz as a crawler writes it, with fixed record ids and dates: a request and a response per page
    (url, HTML bytes, charset), then records that are not pages or not articles."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    def record(writer: WARCWriter, url: str, kind: str, name: str, **kwargs) -> None:
        headers = {"WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}>", "WARC-Date": WARC_DATE}
        writer.write_record(writer.create_warc_record(url, kind, warc_headers_dict=headers, **kwargs))

    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        record(writer, "https://thoidai.com.vn/", "warcinfo", "warcinfo", payload=io.BytesIO(b"software: test"))
        for url, body, charset in pages:
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "thoidai.com.vn")], is_http_request=True)
            record(writer, url, "request", f"request {url}", http_headers=request)
            http = StatusAndHeaders("200 OK", [("Content-Type", f"text/html; charset={charset}")], protocol="HTTP/1.1")
            record(writer, url, "response", f"response {url}", payload=io.BytesIO(body), http_headers=http)
        for status, content_type, body in (
            ("404 Not Found", "text/html", b"<html><body>not here</body></html>"),
            ("200 OK", "image/jpeg", b"\xff\xd8\xff"),
            ("301 Moved Permanently", "text/html", b""),
        ):
            url = f"https://thoidai.com.vn/status-{status.split()[0]}"
            http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            record(writer, url, "response", f"response {url}", payload=io.BytesIO(body), http_headers=http)
        url = "https://thoidai.com.vn/saved-by-a-browser.html"
        record(writer, url, "resource", "resource", payload=io.BytesIO(saved), warc_content_type="text/html")


def build_inputs(root: Path) -> tuple[Path, Path]:
    """Generate the input set under root (emptied first): the folders of run 1 and run 2."""
    from huunghi.corpus import BUNDLED_PAGES, BUNDLED_SEED, generate, read_truth
    from huunghi.corpus.adversarial import generate_adversarial
    from huunghi.corpus.html import encoding_of

    shutil.rmtree(root, ignore_errors=True)
    staging, run1, run2 = root / "staging", root / "run1", root / "run2"
    generate(staging, HTML_ONLY.stop, BUNDLED_SEED, formats=("text", "html", "html.gz"))
    truth = read_truth(staging)

    def place(index: int, fmt: str, into: Path, name: str | None = None) -> Path:
        source = staging / truth[index]["files"][fmt]
        target = into / (name or truth[index]["files"][fmt])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target

    for index in range(BUNDLED_PAGES):
        place(index, "text", run1 if index < SPLIT else run2 / "text")
    for index in range(1, BUNDLED_PAGES, 6):
        place(index, "html", run2 / "html")
    for index in HTML_ONLY:
        place(index, "html.gz", run2 / "gz")
    for index in range(0, SPLIT, SPLIT // 5):
        place(index, "text", run2 / "copies", f"copy_of_{index:06d}.txt")
    warc_pages = [
        (truth[i]["url"], (staging / truth[i]["files"]["html"]).read_bytes(), encoding_of(BUNDLED_SEED, i))
        for i in range(4, BUNDLED_PAGES, 6)
    ]
    saved = (staging / truth[BUNDLED_PAGES - 2]["files"]["html"]).read_bytes()
    (run2 / "warc").mkdir(parents=True)
    _write_warc(run2 / "warc" / "crawl.warc.gz", warc_pages, saved)
    generate_adversarial(staging / "adversarial", 2 * ADVERSARIAL_PER_RUN, seed=BUNDLED_SEED)
    for index in range(2 * ADVERSARIAL_PER_RUN):
        name = f"page_{index:06d}.txt"
        into = (run1 if index < ADVERSARIAL_PER_RUN else run2) / "adversarial"
        into.mkdir(exist_ok=True)
        shutil.copyfile(staging / "adversarial" / name, into / name)
    (run2 / "broken").mkdir()
    (run2 / "broken" / "empty.txt").write_bytes(b"  \n")
    (run2 / "broken" / "cut.html.gz").write_bytes(
        (run2 / "gz" / truth[HTML_ONLY[0]]["files"]["html.gz"]).read_bytes()[:60]
    )
    shutil.rmtree(staging)
    for path in root.rglob("*"):
        os.utime(path, (MTIME, MTIME))
    return run1, run2


def _canonical(value: object) -> object:
    """A value as JSON can hold it, the same whatever the session's time zone or the driver's types."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


def _value(column: str, value: object, runs: dict[str, str]) -> object:
    """A run id as the run's number (an id no run of the `runs` table has: run?), any other value canonical."""
    if column in RUN_IDS and value is not None:
        return runs.get(value, "run?")
    return _canonical(value)


def read_tables(warehouse: Path, columns: dict[str, list[str]] | None = None) -> tuple[dict[str, Table], list[str]]:
    """Every table of the warehouse in canonical form, and notes on columns the golden does not have. With
    `columns` (the golden's), a table keeps those columns only; a missing one is a column of nulls named
    `<missing>`, so the table differs."""
    from huunghi.warehouse import store

    con = store.connect(warehouse, read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
        ]
        runs = {}
        if "runs" in names:
            ordered = con.execute("SELECT run_id FROM runs ORDER BY started_at").fetchall()
            runs = {run_id: f"run{n}" for n, (run_id,) in enumerate(ordered, 1)}
        tables, notes = {}, []
        for name in names:
            present = [c for (c, *_) in con.execute(f"DESCRIBE wh.{name}").fetchall()]
            kept = [c for c in present if c not in CLOCK_TIMES.get(name, ())]
            wanted = columns[name] if columns and name in columns else kept
            if extra := [c for c in kept if c not in wanted]:
                notes.append(f"{name}: columns not in the golden, not compared: {', '.join(extra)}")
            select = ", ".join(f'"{c}"' if c in present else f'NULL AS "<missing {c}>"' for c in wanted)
            rows = []
            for row in con.execute(f"SELECT {select} FROM wh.{name}").fetchall():
                values = [_value(c, v, runs) for c, v in zip(wanted, row, strict=True)]
                text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
                rows.append((hashlib.sha256(text.encode()).hexdigest(), text))
            tables[name] = Table(wanted, rows)
        return tables, notes
    finally:
        con.close()


def digests(tables: dict[str, Table]) -> dict[str, dict]:
    return {name: table.digest() for name, table in sorted(tables.items())}


def compare(golden: dict[str, dict], tables: dict[str, Table]) -> tuple[list[str], list[str]]:
    """(differences, notes): a table of the golden that is missing or whose rows differ is a difference,
    with its counts and its first differing rows; a table the golden does not have is a note."""
    differences, notes = [], []
    for name, expected in sorted(golden.items()):
        if name not in tables:
            differences.append(f"{name}: missing (golden: {expected['rows']} rows)")
            continue
        got = tables[name].digest()
        if got["sha256"] == expected["sha256"] and got["rows"] == expected["rows"]:
            continue
        old = Counter(expected["row_hashes"].split())
        new = Counter(h[:HASH_DIGITS] for h, _ in tables[name].rows)
        added, removed = new - old, old - new
        lines = [
            f"{name}: {got['rows']} rows, golden {expected['rows']}: {added.total()} row(s) not in the golden, "
            f"{removed.total()} golden row(s) not here (columns: {', '.join(got['columns'])})"
        ]
        shown = sorted(text for h, text in tables[name].rows if h[:HASH_DIGITS] in added)[:SHOWN_ROWS]
        lines += [f"    now: {text[:400]}" for text in shown]
        differences.append("\n".join(lines))
    notes += [f"{name}: new table, {len(tables[name].rows)} rows (not in the golden)" for name in tables
              if name not in golden]  # fmt: skip
    return differences, notes


def run_twice(warehouse: Path) -> None:
    """The two runs of the input set into `warehouse`, holding the lock of the fixed place throughout."""
    from huunghi.flows.pipeline import pipeline

    PLACE.mkdir(parents=True, exist_ok=True)
    with (PLACE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run1, run2 = build_inputs(PLACE / f"inputs-v{INPUT_VERSION}")
        pipeline(sources=[str(run1)], warehouse=str(warehouse))
        pipeline(sources=[str(run2)], warehouse=str(warehouse))


def build(warehouse: Path, golden: dict[str, dict] | None = None) -> tuple[dict[str, Table], list[str]]:
    """Run twice into a new warehouse and read its tables (with the golden's columns, when given)."""
    if warehouse.exists() and any(warehouse.iterdir()):
        raise SystemExit(f"table-digests: {warehouse} is not empty: the runs need a new warehouse")
    run_twice(warehouse)
    return read_tables(warehouse, {n: d["columns"] for n, d in golden.items()} if golden else None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--check", action="store_true", help=f"compare with {GOLDEN.name}; exit 1 if a table differs")
    what.add_argument("--write", action="store_true", help=f"rewrite {GOLDEN.name} (an intended change of tables)")
    parser.add_argument("--warehouse", type=Path, help="build the warehouse here and keep it (default: a temp one)")
    args = parser.parse_args(argv)
    if not os.environ.get("PREFECT_API_URL") and not os.environ.get("PREFECT_HOME"):
        os.environ["PREFECT_HOME"] = home = tempfile.mkdtemp(prefix="huunghi-table-digests-prefect-")
        atexit.register(shutil.rmtree, home, True)  # registered first: runs after the server has stopped
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from huunghi.flows.api import start_local_server  # the command's own temporary server, as `huunghi run`

    if (server := start_local_server()) is not None:
        server.hand_to_prefect(timeout=120)  # a new Prefect database migrates first: slow on a busy machine
    golden = json.loads(GOLDEN.read_text("utf-8")) if args.check else None
    with tempfile.TemporaryDirectory(prefix="huunghi-table-digests-") as work:
        tables, notes = build(args.warehouse or Path(work) / "warehouse", golden)
    if args.write:
        GOLDEN.write_text(json.dumps(digests(tables), indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {GOLDEN}")
    for name, d in digests(tables).items():
        print(f"{name:20} {d['rows']:7} {d['sha256'][:16]}")
    differences = []
    if golden is not None:
        differences, more = compare(golden, tables)
        notes += more
        print("\n".join(differences) or "every table of the golden is identical")
    print("\n".join(notes), file=sys.stderr)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
