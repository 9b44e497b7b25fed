"""A real Prefect server on 127.0.0.1 for the end-to-end tests, and `huunghi serve` beside it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path, api: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if api:
        env["PREFECT_API_URL"] = api
    return env


RETRYABLE = {429, 502, 503}  # as Prefect's own client: 503 is the server's "SQLite was busy, try again"


def api(method: str, url: str, attempts: int = 6, **kwargs) -> httpx.Response:
    """One request to the Prefect API, retried with backoff on the statuses Prefect's client retries."""
    kwargs.setdefault("timeout", 10)
    response = httpx.request(method, url, **kwargs)
    for attempt in range(attempts - 1):
        if response.status_code not in RETRYABLE:
            break
        time.sleep(min(2**attempt * 0.5, 8))
        response = httpx.request(method, url, **kwargs)
    return response


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if got := check():
                return got
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what}: not after {timeout:.0f} s")


@contextmanager
def background(args: list[str], env: dict[str, str], log: Path):
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def prefect_server(home: Path):
    """`prefect server start` on a free port; yields (base URL, environment for clients)."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    env = _env(home, None)
    env["PREFECT_SERVER_UI_API_URL"] = f"{base}/api"  # the UI's pages call the API on this port, not 4200
    with background(args, env, home / "server.log") as proc:
        wait_for(
            lambda: proc.poll() is None and httpx.get(f"{base}/api/health", timeout=2).status_code == 200,
            180,
            f"prefect server on {base} (log: {home / 'server.log'})",
        )
        yield base, _env(home, f"{base}/api")


@contextmanager
def huunghi_serve(env: dict[str, str], log: Path, *args: str):
    with background([str(BIN / "huunghi"), "serve", *args], env, log) as proc:
        yield proc


def deployment(base: str, name: str, timeout: float = 120) -> dict:
    def served() -> dict | None:
        found = api("GET", f"{base}/api/deployments/name/huunghi-pipeline/{name}", timeout=5).json()
        return found if found["id"] else None

    return wait_for(
        served,
        timeout,
        f"deployment huunghi-pipeline/{name}",
    )


def wait_final(base: str, flow_run_id: str, timeout: float = 600) -> dict:
    def final():
        run = api("GET", f"{base}/api/flow_runs/{flow_run_id}", timeout=5).json()
        return run if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

    return wait_for(final, timeout, f"flow run {flow_run_id} to finish")
