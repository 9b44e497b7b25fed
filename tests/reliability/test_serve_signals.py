"""`huunghi serve` stops on SIGTERM and SIGINT within 10 s (issue 25), also after its Prefect server went away
(its client then retries, and the runner's own shutdown waits on it)."""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import ExitStack, suppress

import pytest

from tests.prefect_server import BIN, _env, background, deployment, free_port, wait_for

pytestmark = pytest.mark.e2e


def stopped_within(serve: subprocess.Popen, signum: int) -> float:
    serve.send_signal(signum)
    sent = time.monotonic()
    with suppress(subprocess.TimeoutExpired):
        serve.wait(timeout=60)
    return time.monotonic() - sent


def test_serve_stops_on_signals(tmp_path):
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    home = tmp_path / "prefect"
    home.mkdir()
    with ExitStack() as stack:
        command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        server = stack.enter_context(background(command, _env(home, None), home / "server.log"))
        wait_for(lambda: httpx.get(f"{base}/api/health", timeout=2).status_code == 200, 180, "prefect server")
        env = _env(home, f"{base}/api")
        serves = [stack.enter_context(background([str(BIN / "huunghi"), "serve", "--warehouse", str(tmp_path / "wh")],
                                                 env, tmp_path / f"serve{i}.log")) for i in range(3)]  # fmt: skip
        deployment(base, "on-demand")
        logs = [tmp_path / f"serve{i}.log" for i in range(3)]
        wait_for(lambda: all("being served" in log.read_text() for log in logs), 180, "the three serving")
        assert all(s.poll() is None for s in serves)

        assert stopped_within(serves[0], signal.SIGTERM) < 10, (tmp_path / "serve0.log").read_text()[-2000:]
        assert serves[0].returncode in (143, -signal.SIGTERM)  # a shell shows both as 143
        server.kill()  # the server goes away under the two others
        server.wait()
        time.sleep(2)  # their clients now fail and retry (the state the issue found them in)
        for serve, signum, log in ((serves[1], signal.SIGTERM, "serve1.log"), (serves[2], signal.SIGINT, "serve2.log")):
            assert stopped_within(serve, signum) < 10, (tmp_path / log).read_text()[-2000:]
            assert serve.returncode in (128 + signum, -signum)
