"""The Great Expectations helper (huunghi/quality/helper.py): a command's gates and Data Docs in a process of its
own give the verdicts the in-process gates give, the command never imports Great Expectations, a dead or silent
helper is a clear error, and the helper ends with the command however it ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from huunghi.quality import helper
from huunghi.quality.gates import Quality, StagedRows
from huunghi.quality.tables import CLEANED
from tests.test_drift import cleaned

ROOT = Path(__file__).parents[1]
pytestmark = [pytest.mark.e2e]


def staged(folder: Path, rows: int = 30) -> StagedRows:
    """The `cleaned` rows in two staged parts, two titles empty (rows the gate quarantines), one page excluded."""
    table = cleaned(rows, 3).to_pylist()
    table[4]["title"] = table[7]["title"] = ""
    folder.mkdir(parents=True, exist_ok=True)
    half = len(table) // 2
    for n, part in enumerate((table[:half], table[half:]), 1):
        pq.write_table(pa.Table.from_pylist(part, schema=CLEANED), folder / f"{n:06d}.parquet")
    files = tuple(str(p) for p in sorted(folder.glob("*.parquet")))
    return StagedRows(files, CLEANED, "source_uri", ("file:///p7.txt",))


def verdict(outcome) -> dict:
    return {"rows": outcome.rows, "failed": outcome.failed, "warnings": outcome.warnings,
            "flagged": {k: list(v) for k, v in outcome.flagged.items()}}  # fmt: skip


IN_A_COMMAND = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    from huunghi.quality import helper
    from huunghi.quality.gates import Quality
    from tests.test_gate_helper import staged, verdict

    helper.start()
    quality = Quality(Path(sys.argv[1]), "run-1")
    outcome = quality.validate("cleaned", staged(Path(sys.argv[1]) / "stage"))
    docs = quality.build_docs()
    assert docs is not None and docs.exists(), docs
    assert "great_expectations" not in sys.modules, "the command imported Great Expectations"
    print(json.dumps(verdict(outcome)))
    """
)


def test_a_commands_gates_in_the_helper_give_the_verdict_of_in_process_gates(tmp_path):
    done = subprocess.run([sys.executable, "-c", IN_A_COMMAND, str(tmp_path / "a")], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    there = json.loads(done.stdout.strip().splitlines()[-1])
    here = verdict(Quality(tmp_path / "b", "run-1").validate("cleaned", staged(tmp_path / "b" / "stage")))
    assert there == here
    assert sorted(there["flagged"]) == ["file:///p4.txt"]  # p7 was excluded: not judged, not flagged
    assert there["rows"] == 29
    assert (tmp_path / "a" / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()


def test_staged_rows_are_the_staged_files_minus_the_excluded(tmp_path):
    rows = staged(tmp_path)
    whole = ds.dataset(list(rows.files), format="parquet").to_table()
    kept = rows.dataset().to_table()
    assert kept.num_rows == whole.num_rows - 1 and "file:///p7.txt" not in kept.column("source_uri").to_pylist()
    assert StagedRows(rows.files, CLEANED, "source_uri").dataset().count_rows() == whole.num_rows


def _helper_pid() -> int:
    helper.call(int)  # started
    return next(iter(helper._helper._processes))


def test_a_dead_helper_is_a_clear_error_and_a_silent_one_has_a_deadline():
    helper.start()
    try:
        os.kill(_helper_pid(), signal.SIGKILL)
        with pytest.raises(helper.HelperFailed, match="died"):
            helper.call(int)
        assert not helper.running()  # stopped: a later gate validates in its own process

        helper.start()
        started = time.monotonic()
        with pytest.raises(helper.HelperFailed, match="did not answer within 1 s"):
            helper.call(time.sleep, 30, deadline=1)
        assert time.monotonic() - started < 10 and not helper.running()
    finally:
        helper.stop()


@pytest.mark.usefixtures("ctrl_c_as_at_a_terminal")
def test_a_call_given_up_on_ends_the_helper_and_the_docs_are_not_built_here(tmp_path):
    """Ctrl-C (or a task's timeout) while a gate waits: the helper is ended at once, not left busy with a call
    that the next one (the run's Data Docs) would wait behind."""
    quality = Quality(tmp_path, "run-1")
    helper.start()
    try:
        quality.validate("cleaned", cleaned(5, 0))
        timer = threading.Timer(1.0, signal.raise_signal, [signal.SIGINT])
        timer.start()
        started = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt):
                helper.call(time.sleep, 30)
        finally:
            timer.cancel()
        assert time.monotonic() - started < 5 and not helper.running()
        assert quality.build_docs() is None  # its results are the ended helper's: no GX import in the command
    finally:
        helper.stop()


ENDS_WITH_ITS_COMMAND = textwrap.dedent(
    """
    import os, signal, sys, time
    from huunghi.quality import helper

    helper.start()
    os.kill(next(iter(helper._helper._processes)), signal.SIGINT)  # at once: Ctrl-C is the command's to act on
    helper.call(int)
    print(next(iter(helper._helper._processes)), flush=True)
    os.kill(next(iter(helper._helper._processes)), signal.SIGINT)
    time.sleep(1)
    assert helper.call(int) == 0
    print("alive", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no clean-up at all
    """
)


def test_the_helper_ignores_ctrl_c_and_ends_with_its_command_even_killed(tmp_path):
    done = subprocess.run([sys.executable, "-c", ENDS_WITH_ITS_COMMAND], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    pid, said = done.stdout.split()
    assert said == "alive" and "KeyboardInterrupt" not in done.stderr, done.stderr[-3000:]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"the helper {pid} outlived its command")
