"""The README's ways into the warehouse work as written: Python, the DuckDB CLI statements, plain Parquet;
and a reader during a run sees the warehouse before or after the run, never a mix."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from huunghi.corpus import generate
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import store

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API
REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text("utf-8")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("access")
    root = tmp / "wh"
    pipeline(sources=[str(generate(tmp / "c", 40, seed=8))], warehouse=str(root))
    return root


def test_python_example(warehouse, monkeypatch):
    (code,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    monkeypatch.setenv("HUUNGHI_WAREHOUSE", str(warehouse))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert len(scope["articles"]) == 5 and list(scope["articles"].columns) == ["title", "published_at"]
    frame = pd.read_parquet(scope["files"])  # plain Parquet, read by pandas
    assert len(frame) == 40 and "title" in frame.columns


def test_duckdb_cli_statements(warehouse):
    block = re.search(r"```console\n\$ duckdb\n(.*?)```", README, flags=re.S).group(1)
    statements = [line.removeprefix("D ").rstrip(";") for line in block.splitlines() if line.startswith("D ")]
    con = duckdb.connect()
    for statement in statements:  # as the CLI would run them, from the checkout
        statement = statement.replace("'.venv/", f"'{REPO}/.venv/").replace("var/warehouse", str(warehouse))
        result = con.execute(statement).fetchall()
    assert result == [(40,)]


def test_a_reader_during_a_run_sees_before_or_after(tmp_path):
    """A reader polls the article count in another process while a run loads 30 more articles."""
    root = tmp_path / "wh"
    pipeline(sources=[str(generate(tmp_path / "a", 20, seed=8))], warehouse=str(root))
    reader = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from huunghi.warehouse import store
        seen = set()
        end = time.monotonic() + 60
        while time.monotonic() < end and 50 not in seen:
            con = store.connect(Path({str(root)!r}), read_only=True)
            seen.add(con.execute("SELECT count(*) FROM articles").fetchone()[0])
            assert con.execute("SELECT count(*) FROM paragraphs WHERE article_id NOT IN "
                               "(SELECT article_id FROM articles)").fetchone()[0] == 0
            con.close()
        print(" ".join(map(str, sorted(seen))))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", reader], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    pipeline(sources=[str(generate(tmp_path / "b", 30, seed=9))], warehouse=str(root))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    seen = {int(n) for n in re.findall(r"\d+", out)}
    assert seen <= {20, 50} and 50 in seen
    con = store.connect(root, read_only=True)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 50
    con.close()
