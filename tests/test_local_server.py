"""The CLI's local Prefect server (huunghi/flows/api.py): by default shared by the commands of a PREFECT_HOME and
stopped once idle; with HUUNGHI_PREFECT_SERVER_IDLE=0 (the suite's setting, conftest.py) the command's own, used,
stopped, and never left behind."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from huunghi.corpus import generate

pytestmark = pytest.mark.e2e  # starts real Prefect servers


def _environment(prefect_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # no server named: start one
    return {**env, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def _processes_of(prefect_home: Path) -> list[int]:
    """Processes whose environment names this PREFECT_HOME (the server inherits the command's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if f"PREFECT_HOME={prefect_home}\0".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":  # a zombie has ended; only its parent's wait is missing
                return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_the_server_dies_with_a_killed_command(tmp_path):
    script = (
        "from huunghi.flows.api import start_local_server\n"
        "server = start_local_server()\n"
        "print(server.process.pid, flush=True)\n"
        "import time; time.sleep(120)\n"
    )
    command = subprocess.Popen([sys.executable, "-c", script], env=_environment(tmp_path), stdout=subprocess.PIPE)
    server = int(command.stdout.readline())
    os.kill(command.pid, signal.SIGKILL)  # no exit hook runs: only the kernel can tell the server
    command.wait()
    assert _gone(server, within=15), "the temporary Prefect server outlived its killed command"


def test_a_run_reports_to_its_own_server_and_leaves_nothing_running(tmp_path):
    corpus = generate(tmp_path / "corpus", 3, seed=5)
    home = tmp_path / "prefect"
    # A proxy for the web (a dead address) must not stand between the command and its local server.
    env = _environment(home, http_proxy="http://10.255.255.1:9", HTTP_PROXY="http://10.255.255.1:9")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "huunghi"), "run", "-q", "--source", str(corpus),
         "--warehouse", str(tmp_path / "wh")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (home / "prefect.db").exists()  # the run was recorded in this PREFECT_HOME's database
    assert all(_gone(pid, within=10) for pid in _processes_of(home))


def test_the_server_answers_its_first_api_request_before_the_flow_asks(tmp_path, monkeypatch):
    """Its first API request costs ~0.7 s (its routes' first use): asked by a thread as soon as the server is
    up, while the command still imports, not by the flow."""
    from huunghi.flows.api import LocalServer

    for name, value in _environment(tmp_path / "prefect").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    server = LocalServer()
    try:
        assert server.warmed.wait(120), "the temporary server was not asked anything"
        assert server.process.poll() is None
    finally:
        server.stop()
    assert server.process.returncode is not None


def _flow_runs(url: str) -> int:
    request = urllib.request.Request(f"{url}/flow_runs/count", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as response:
        return int(response.read())


@pytest.mark.skipif(sys.platform != "linux", reason="the server's process is recognised through /proc")
def test_the_next_command_finds_the_shared_server_up_and_it_stops_once_idle(tmp_path):
    corpus = generate(tmp_path / "corpus", 3, seed=5)
    home = tmp_path / "prefect"
    home.mkdir()
    env = _environment(home, HUUNGHI_PREFECT_SERVER_IDLE="2")
    command = [str(Path(sys.executable).parent / "huunghi"), "run", "-q", "--source", str(corpus),
               "--warehouse", str(tmp_path / "wh")]  # fmt: skip

    def run() -> dict:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads((home / "huunghi-server.json").read_text())

    with (home / "huunghi-server.users").open("a+") as users:
        fcntl.flock(users, fcntl.LOCK_SH)  # a user of the server, like a running command: it may not stop
        first = run()
        second = run()  # nothing new: the same server answers it, already up
        assert second["pid"] == first["pid"] and not _gone(first["pid"], within=4)  # idle, but held
        assert _flow_runs(first["url"]) == 2  # both runs reported to it
        os.kill(first["pid"], signal.SIGKILL)  # a server that died: its record stays, stale
        assert _gone(first["pid"], within=10)
        third = run()
        assert third["pid"] != first["pid"]  # a new one was started, not the dead one waited for
    assert _gone(third["pid"], within=30), "the shared server did not stop once idle and unheld"
    assert not (home / "huunghi-server.json").exists()  # it forgot itself: the next command starts one
