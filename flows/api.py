"""The temporary Prefect server of a command, started before anything else so that it boots meanwhile.

Without PREFECT_API_URL, Prefect starts a temporary ("ephemeral") server on 127.0.0.1 only when the flow
first needs it, so a run waits ~3 s for it after importing everything. Here the same server (Prefect's own
uvicorn command and settings, the same PREFECT_HOME database) starts first and boots while the command
imports Prefect and Great Expectations; Prefect then reports to it as to any server (PREFECT_API_URL). It
stops with the command, after Prefect's exit hooks flushed the run's logs and events, and dies with a
killed command too (parent-death signal).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from huunghi.settings import TEMPORARY_SERVER_VARIABLE

_PR_SET_PDEATHSIG = 1
_ADDRESS_IN_USE = 3  # uvicorn's exit status when it cannot bind (Prefect retries on another port too)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):  # no libc.so.6: the server still stops at exit, only not after a kill -9
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    """A temporary Prefect server for one command: started at once, waited for only when needed."""

    def __init__(self) -> None:
        self._spawn()
        atexit.register(self.stop)  # registered before Prefect's own exit hooks, so it runs after they flush
        self.warmed = threading.Event()  # the server has answered its first API request
        threading.Thread(target=self._warm_up, name="warm-up-prefect-server", daemon=True).start()

    def _spawn(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",  # what Prefect's own temporary server sets
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app", "--host",
                   "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]  # fmt: skip
        linux = sys.platform == "linux"
        self.process = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent if linux else None)

    def hand_to_prefect(self, timeout: float) -> None:
        """Wait for the server, then point Prefect's settings at it; when they name a server after all (a
        profile's PREFECT_API_URL), or forbid temporary ones, stop it instead."""
        from prefect.context import refresh_global_settings_context
        from prefect.settings import get_current_settings

        settings = get_current_settings()
        if settings.api.url or not settings.server.ephemeral.enabled:
            self.stop()
            return
        self.wait(timeout)
        for name in ("NO_PROXY", "no_proxy"):  # a proxy set for the web must not stand between us and it
            hosts = [host for host in os.environ.get(name, "").split(",") if host]
            if "127.0.0.1" not in hosts:
                os.environ[name] = ",".join([*hosts, "127.0.0.1"])
        os.environ["PREFECT_API_URL"] = os.environ[TEMPORARY_SERVER_VARIABLE] = self.url
        refresh_global_settings_context()  # Prefect's way to take an environment change into account

    def _warm_up(self, timeout: float = 120.0) -> None:
        """Ask the server for its version as soon as it answers its health check: its first API request takes
        ~0.7 s (its routes' first use), paid here while the command imports, not by the flow's first call.
        (Only `wait` starts the server again when its port was taken.)"""
        deadline = time.monotonic() + timeout
        while not _answers(f"{self.url}/health"):
            ended = self.process.poll()
            if time.monotonic() > deadline or (ended is not None and ended != _ADDRESS_IN_USE):
                return  # gone (stopped, or failed: `wait` says why); a taken port is retried by `wait`
            time.sleep(0.05)
        if _answers(f"{self.url}/admin/version", timeout=30):
            self.warmed.set()

    def wait(self, timeout: float) -> None:
        """Return when the server answers its health check; RuntimeError if it died or took too long."""
        deadline = time.monotonic() + timeout
        retried = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if self.process.returncode == _ADDRESS_IN_USE and not retried:  # the port was taken meanwhile
                    self._spawn()
                    retried = True
                    continue
                raise RuntimeError(f"the temporary Prefect server exited with code {self.process.returncode}")
            if _answers(f"{self.url}/health"):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the temporary Prefect server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            _flush_prefect()
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _answers(url: str, timeout: float = 1.0) -> bool:
    """Whether the server answers `url` with 200 (127.0.0.1: never through a proxy)."""
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with no_proxy.open(url, timeout=timeout) as response:
            response.read()
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _flush_prefect(timeout: float = 10.0) -> None:
    """Send what Prefect still holds (log lines, events) while the server is up. Python's logging flushes
    its handlers at exit only after this server has stopped (its exit hook was registered first), so the
    last log batch waited out connection retries (~5 s) and was lost."""
    for module, worker in (("prefect.logging.handlers", "APILogWorker"), ("prefect.events.worker", "EventsWorker")):
        if (loaded := sys.modules.get(module)) is not None:
            getattr(loaded, worker).drain_all(timeout=timeout)


def start_local_server() -> LocalServer | None:
    """Start a temporary server now, unless the environment points at a server or forbids temporary ones."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    if os.environ.get("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "").lower() in ("0", "false"):
        return None
    return LocalServer()
