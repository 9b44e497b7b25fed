"""Failures around the warehouse's atomic core, tried for real: a full disk, a search index that cannot be
written after the commit, a busy warehouse under -q, a server that is not there. Each must end with the
warehouse whole, an exit status that matches what was published, and one line that names the cause."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from huunghi.corpus import generate
from huunghi.flows.cli import main
from huunghi.warehouse import search, store
from tests.reliability import HUUNGHI, REPO, environment, snapshot_count


def huunghi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(HUUNGHI), *args], env=env, capture_output=True, text=True, timeout=300, cwd=REPO)


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs. Root can mount one (CI runs as root); elsewhere the test is skipped, saying why."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full-disk test mounts a small tmpfs: needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_publishes_nothing_and_the_next_run_recovers(small_disk, tmp_path):
    env = environment(tmp_path / "prefect")
    root = small_disk / "wh"
    first = huunghi(
        "run", "-q", "--source", str(generate(tmp_path / "a", 8, seed=31)), "--warehouse", str(root), env=env
    )
    assert first.returncode == 0, first.stderr
    before = snapshot_count(root)
    free = shutil.disk_usage(small_disk).free
    filler = small_disk / "filler"
    with filler.open("wb") as f:  # leave 16 KB: the next run's files do not fit
        f.truncate(0)
        f.write(b"\0" * (free - 16 * 1024))
    corpus = generate(tmp_path / "b", 30, seed=32)
    full = huunghi("run", "-q", "--source", str(corpus), "--warehouse", str(root), env=env)
    assert full.returncode != 0
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("huunghi: error:"), full.stderr[-3000:]
    assert "No space left on device" in lines[0]
    filler.unlink()
    assert snapshot_count(root) == before  # nothing half-written
    again = huunghi("run", "-q", "--source", str(corpus), "--warehouse", str(root), env=env)
    assert again.returncode == 0, again.stderr
    assert snapshot_count(root) > before
    doctor = huunghi("doctor", "--warehouse", str(root), "--dry-run", env=env)
    assert doctor.returncode == 0, doctor.stdout  # no orphan left, every referenced file whole


@pytest.mark.usefixtures("prefect_server")
def test_index_failure_after_the_commit_is_a_warning_not_a_failed_run(tmp_path, capsys):
    root = tmp_path / "wh"
    corpus = generate(tmp_path / "c", 6, seed=33)
    # The update writes a copy next to the index: a folder in its place makes it fail, after the commit.
    obstacle = root / f".{search.INDEX_FILE}.{os.getpid()}.tmp"
    obstacle.mkdir(parents=True)
    (obstacle / "keep").write_text("x")
    assert main(["run", "-q", "--source", str(corpus), "--warehouse", str(root)]) == 0
    err = capsys.readouterr().err
    assert "warning: search index not updated" in err and "published" in err
    assert snapshot_count(root) >= 1
    assert search.indexed_snapshot(root) is None  # no index yet: the run said so instead of failing
    shutil.rmtree(obstacle)
    assert main(["run", "-q", "--source", str(corpus), "--warehouse", str(root)]) == 0  # nothing new
    con = store.connect(root, read_only=True)
    current = con.execute("SELECT max(snapshot_id) FROM wh.snapshots()").fetchone()[0]
    con.close()
    assert search.indexed_snapshot(root) == current  # caught up


def test_quiet_run_on_a_busy_warehouse_prints_one_line(tmp_path):
    env = environment(tmp_path / "prefect")
    root = tmp_path / "wh"
    root.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from huunghi.warehouse import store\n"
         f"with store.run_lock(Path({str(root)!r}), 5):\n    print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        corpus = generate(tmp_path / "c", 3, seed=34)
        done = huunghi("run", "-q", "--lock-wait", "1", "--source", str(corpus), "--warehouse", str(root), env=env)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is busy" in lines[0], done.stderr


def test_serve_without_a_server_says_so_in_one_line(tmp_path):
    env = {**environment(tmp_path / "prefect"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    done = huunghi("serve", "--warehouse", str(tmp_path / "wh"), env=env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "no Prefect server answers" in done.stderr
