"""Killing only the command (kill -9, as an OOM killer or a lost session does) leaves no process behind:
not its temporary Prefect server, not the worker pool (forkserver, workers, resource tracker)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from huunghi.corpus import generate
from tests.reliability import HUUNGHI, environment


def children() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def pool(pid: int) -> set[int]:
    """The descendants of `pid` that are its worker pool: the forkserver and the workers forked from it (not the
    Prefect server, the resource tracker or the Great Expectations helper, which start before any page is read)."""
    found = set()
    for child in descendants(pid):
        try:
            if b"multiprocessing.forkserver" in (Path("/proc") / str(child) / "cmdline").read_bytes():
                found.add(child)
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killed_command_leaves_no_process(tmp_path):
    corpus = generate(tmp_path / "c", 600, seed=41, formats=("html",))  # enough pages for the worker pool
    env = environment(tmp_path / "prefect")
    command = subprocess.Popen(
        [str(HUUNGHI), "run", "-q", "--source", str(corpus), "--warehouse", str(tmp_path / "wh")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    spawned: set[int] = set()
    while time.monotonic() < deadline and command.poll() is None:
        spawned = descendants(command.pid)
        if len(pool(command.pid)) >= 2:  # the forkserver and a worker (or more)
            break
        time.sleep(0.2)
    assert command.poll() is None and len(pool(command.pid)) >= 2, f"the run ended or spawned too little: {spawned}"
    time.sleep(1)  # the workers busy with a batch
    spawned = descendants(command.pid)
    command.send_signal(signal.SIGKILL)
    command.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(p) for p in spawned):
        time.sleep(0.2)
    left = [p for p in spawned if alive(p)]
    assert not left, [Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in left]
