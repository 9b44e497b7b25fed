"""Speed work must not change a single row: the warehouse built from a fixed corpus has the digests recorded
in tests/data/same_tables.json (written by the code before the streaming/renderer changes of issue 15).

The corpus: 240 generated HTML pages (renderer, dedup, mirrors) and 120 adversarial text pages (the line
parser's hard cases), in one run. Article ids hash the page's path, and ties (which copy is canonical) are
broken by id, so the corpus always lies at the same place (CORPUS, under a lock). Digests leave out what
differs between any two runs (run ids, times).

An intended change of output refreshes the file, in the same commit that explains why:
    .venv/bin/python -m tests.test_same_tables --update
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from huunghi.corpus import generate
from huunghi.corpus.adversarial import generate_adversarial
from huunghi.warehouse import store

GOLDEN = Path(__file__).parent / "data" / "same_tables.json"
RUN_SPECIFIC = {"run_id", "first_run_id", "flow_run_id", "fetched_at", "loaded_at", "started_at", "finished_at"}
SKIP_TABLES = {"runs"}  # one row per run: times and ids only
CORPUS = Path(tempfile.gettempdir()) / "huunghi-same-tables" / "corpus"


def build_corpus(into: Path) -> None:
    generate(into / "html", 240, seed=15, formats=("html.gz",))
    generate_adversarial(into / "adversarial", 120, seed=15)


def digests(root: Path) -> dict[str, dict]:
    """{table: {rows, sha256}} of the rows in a canonical order."""
    con = store.connect(root, read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
            if name not in SKIP_TABLES
        ]
        out = {}
        for table in tables:
            cols = [c for (c, *_) in con.execute(f"DESCRIBE wh.{table}").fetchall() if c not in RUN_SPECIFIC]
            rows = sorted(repr(row) for row in con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall())
            out[table] = {"rows": len(rows), "sha256": hashlib.sha256("\n".join(rows).encode()).hexdigest()}
        return out
    finally:
        con.close()


def build(warehouse: Path) -> dict[str, dict]:
    from huunghi.flows.pipeline import pipeline

    CORPUS.parent.mkdir(parents=True, exist_ok=True)
    with (CORPUS.parent / "lock").open("w") as lock:  # two checkouts testing at once share the place
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (CORPUS / ".complete").exists():
            shutil.rmtree(CORPUS, ignore_errors=True)
            build_corpus(CORPUS)
            (CORPUS / ".complete").write_text("ok\n")
        pipeline(sources=[str(CORPUS / "html"), str(CORPUS / "adversarial")], warehouse=str(warehouse))
    return digests(warehouse)


@pytest.mark.usefixtures("prefect_server")
def test_tables_are_the_recorded_ones(tmp_path):
    expected = json.loads(GOLDEN.read_text("utf-8"))
    got = build(tmp_path / "wh")
    assert {t: d["rows"] for t, d in got.items()} == {t: d["rows"] for t, d in expected.items()}
    assert got == expected


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    with tempfile.TemporaryDirectory() as work:
        GOLDEN.write_text(json.dumps(build(Path(work) / "wh"), indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {GOLDEN}")
