"""`huunghi sql` cannot crash, escape or run away (issue 25, item 6).

DuckLake's `set_option` on a read-only catalog ends DuckDB 1.5.5 with a segmentation fault, in many
spellings the old statement screen did not see; DuckDB let queries read its temp folder, by default the
caller's `<cwd>/.tmp/`; no query had a time or memory limit, and Ctrl-C printed a traceback. Each case is
run against a real warehouse, whose files are fingerprinted before and after.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from huunghi.corpus import generate
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from tests.reliability import HUUNGHI, environment
from tests.reliability.test_hostile_sql import fingerprint

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: the warehouse is built by a real run

# Each crashed DuckDB (exit 139, no message) before: the screen looked only for `ducklake_*` names.
CRASHING_SPELLINGS = [
    "SELECT * FROM wh.set_option('data_inlining_row_limit', 10)",
    "SELECT * FROM wh.main.set_option('data_inlining_row_limit', 10)",
    "SELECT * FROM Wh.Set_Option('data_inlining_row_limit', 10)",
    'SELECT * FROM "WH"."SET_OPTION"(\'data_inlining_row_limit\', 10)',
    "SELECT * FROM set_option('data_inlining_row_limit', 10)",
    "SELECT * FROM query('SELECT * FROM wh.set_option(''data_inlining_row_limit'', 10)')",
    "SELECT * FROM query('FROM query(''FROM wh.set_option(data_inlining_row_limit, 10)'')')",
    "SELECT * FROM query('SELECT * FROM wh.set_' || 'option(''data_inlining_row_limit'', 10)')",
    # and these, past the screen that decoded strings itself (an outside review): E'' escapes, joined literals
    r"SELECT * FROM query(E'SELECT \'x\' AS y, * FROM wh.set_option(\'data_inlining_row_limit\', 10)')",
    "SELECT * FROM query('SELECT * FROM wh.set_opti'\n'on(''data_inlining_row_limit'', 10)')",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql("
    "'SELECT * FROM wh.set_option(''data_inlining_row_limit'', 10)'))",
]
ENDLESS = "SELECT count(*) FROM range(1000000000000)"  # minutes of work on any machine
GREEDY = "SELECT length(string_agg(range::VARCHAR, ',')) FROM range(30000000)"  # a ~230 MB string, held whole


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wh-sandbox")
    pipeline(sources=[str(generate(tmp_path_factory.mktemp("corpus"), 6, seed=3))], warehouse=str(root))
    return root


@contextlib.contextmanager
def sql_process(warehouse: Path, *args: str, **popen) -> Iterator[subprocess.Popen]:
    """`huunghi sql` as a user starts it, without Python's fault handler (a crash shows as it would);
    killed if a failed test leaves it running."""
    env = {k: v for k, v in environment(warehouse.parent / "prefect").items() if k != "PYTHONFAULTHANDLER"}
    with subprocess.Popen([str(HUUNGHI), "sql", "--warehouse", str(warehouse), *args], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen) as process:  # fmt: skip
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


@pytest.mark.parametrize("statement", CRASHING_SPELLINGS)
def test_no_spelling_of_set_option_crashes(warehouse, statement):
    before = fingerprint(warehouse)
    with sql_process(warehouse, statement) as process:
        out, err = process.communicate(timeout=180)
    assert process.returncode == 2, (process.returncode, err)
    assert err.startswith("huunghi: error: ") and err.count("\n") == 1, err
    reasons = ("maintains the warehouse", "query() takes one plain string", "cannot be checked")
    assert any(reason in err for reason in reasons), err
    assert out == ""
    assert fingerprint(warehouse) == before


def test_a_crash_of_duckdb_is_one_error_not_the_end_of_the_command(warehouse):
    """Were the screen to miss a spelling, the crash ends only the child that ran the query."""
    from huunghi.warehouse import sandbox

    before = fingerprint(warehouse)
    with pytest.raises(sandbox.QueryCrashed, match=r"crashed DuckDB \(signal 11"):
        sandbox.run(warehouse, CRASHING_SPELLINGS[0], screen=False)
    assert fingerprint(warehouse) == before


def test_the_callers_temp_folder_is_not_readable(warehouse, tmp_path, monkeypatch, capsys):
    """DuckDB allowed reads of its temp folder, `<cwd>/.tmp/` by default; now a private folder, removed after."""
    (tmp_path / "cwd" / ".tmp").mkdir(parents=True)
    (tmp_path / "cwd" / ".tmp" / "secret.txt").write_text("the caller's secret\n")
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    for statement in ("SELECT content FROM read_text('.tmp/secret.txt')",
                      f"SELECT content FROM read_text('{tmp_path}/cwd/.tmp/secret.txt')",
                      f"SELECT * FROM glob('{private}/*/*')"):  # fmt: skip
        code = main(["sql", "--warehouse", str(warehouse), "--format", "csv", statement])
        out, err = capsys.readouterr()
        assert code == 2, (statement, out)
        assert "secret" not in out and "only reads the warehouse" in err, err
    assert list(private.iterdir()) == []  # the private folder is gone


def test_a_time_limit_stops_the_query(warehouse, capsys):
    started = time.monotonic()
    code = main(["sql", "--warehouse", str(warehouse), "--timeout", "2", ENDLESS])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2
    assert err == "huunghi: error: the query was stopped at its time limit of 2 s (--timeout)\n"
    assert elapsed < 60


def test_a_memory_limit_stops_the_query(warehouse, capsys):
    code = main(["sql", "--warehouse", str(warehouse), "--memory-limit", "100MB", GREEDY])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("huunghi: error: the query needs more memory than its limit of 100 MB (--memory-limit)")
    assert err.count("\n") == 1
    assert main(["sql", "--warehouse", str(warehouse), "--memory-limit", "1GB", GREEDY]) == 0  # enough memory


@pytest.mark.parametrize("value", ["lots", "10", "1KB", "5XB"])
def test_a_memory_limit_that_is_no_size_is_refused(warehouse, capsys, value):
    assert main(["sql", "--warehouse", str(warehouse), "--memory-limit", value, "SELECT 1"]) == 2
    assert capsys.readouterr().err.startswith("huunghi: error: --memory-limit: ")


@pytest.mark.usefixtures("ctrl_c_as_at_a_terminal")
def test_ctrl_c_ends_the_query_at_once_with_one_line(warehouse):
    with sql_process(warehouse, ENDLESS, start_new_session=True) as process:
        deadline = time.monotonic() + 120
        while not any(opened_under(pid, warehouse) for pid in process_tree(process.pid)):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()  # starting
            time.sleep(0.05)
        tree = process_tree(process.pid)
        sent = time.monotonic()  # the query's connection is open: it runs
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err == "huunghi: error: interrupted: the query was stopped\n"
    assert time.monotonic() - sent < 5
    assert not any(Path(f"/proc/{pid}").exists() for pid in tree)  # nothing left running


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (those alive now)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*") if Path(f"/proc/{current}").exists() else []:
            with contextlib.suppress(OSError):  # ended meanwhile
                todo += [int(p) for p in (task / "children").read_text().split()]
    return found


def opened_under(pid: int, folder: Path) -> bool:
    """Whether the process has a file under the folder open."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:  # ended meanwhile
        return False
    return any(link.startswith(f"{folder}/") for link in links)


def test_search_runs_in_the_sandbox_with_its_limits(warehouse, capsys):
    code = main(["search", "--warehouse", str(warehouse), "--timeout", "120", "--format", "csv", "hop tac"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == "article_id,title,published_at,score,terms" and len(out) > 1


if sys.platform != "linux":  # /proc, and the signal a crash ends DuckDB with
    pytestmark = [pytestmark, pytest.mark.skip(reason="Linux only")]
