"""The command's local Prefect server: started before anything else so that it boots meanwhile, and kept up
for the next commands of the same PREFECT_HOME until it has been idle a while.

Without PREFECT_API_URL, Prefect starts a temporary ("ephemeral") server on 127.0.0.1 only when the flow
first needs it, and stops it with the process: every `huunghi run` waited ~5 s for its boot (importing
Prefect's server takes most of it), whatever its pages. Here the same server (Prefect's own app and settings,
the same PREFECT_HOME database) is started detached the first time, recorded in PREFECT_HOME/huunghi-server.json,
and found there by the next commands: a rerun pays no boot. It stops by itself once no command has used it
for HUUNGHI_PREFECT_SERVER_IDLE seconds (default 600) and none holds it (a shared lock each command keeps
while it runs, released by the OS even when the command is killed). HUUNGHI_PREFECT_SERVER_IDLE=0 gives the
old behaviour: a server of the command's own, stopped with it (and dying with a killed command).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from huunghi.settings import TEMPORARY_SERVER_VARIABLE

IDLE_VARIABLE = "HUUNGHI_PREFECT_SERVER_IDLE"
DEFAULT_IDLE_SECONDS = 600.0  # a user's next command within 10 minutes finds the server up
STATE_FILE = "huunghi-server.json"  # pid, url and versions of the home's shared server
START_LOCK_FILE = "huunghi-server.lock"  # one command at a time looks for (or starts) the server
USERS_FILE = "huunghi-server.users"  # shared-locked by each command using the server; the server stops only
# when it can lock it exclusively
LOCK_WAIT_SECONDS = 60.0  # for the start lock, and for a stopping server to be gone

_PR_SET_PDEATHSIG = 1
_ADDRESS_IN_USE = 3  # uvicorn's exit status when it cannot bind (Prefect retries on another port too)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):  # no libc.so.6: the server still stops at exit, only not after a kill -9
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_environment() -> dict[str, str]:
    """The command's environment for a local server, as Prefect's own temporary server sets it."""
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    return env


class _Server:
    """What the command does with its local server, whoever started it: warm it up, wait, hand it to Prefect."""

    url: str
    started: bool  # booting now: the command imports meanwhile

    def _start_warm_up(self) -> None:
        self.warmed = threading.Event()  # the server has answered its first API request
        threading.Thread(target=self._warm_up, name="warm-up-prefect-server", daemon=True).start()

    def _gone(self) -> bool:
        raise NotImplementedError

    def wait(self, timeout: float) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

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
        ~0.7 s (its routes' first use), paid here while the command imports, not by the flow's first call."""
        deadline = time.monotonic() + timeout
        while not _answers(f"{self.url}/health"):
            if time.monotonic() > deadline or self._gone():
                return  # gone (stopped, or failed: `wait` says why)
            time.sleep(0.05)
        if _answers(f"{self.url}/admin/version", timeout=30):
            self.warmed.set()


class LocalServer(_Server):
    """A temporary Prefect server for one command: started at once, waited for only when needed
    (HUUNGHI_PREFECT_SERVER_IDLE=0; see SharedServer for the default)."""

    started = True

    def __init__(self) -> None:
        self._spawn()
        atexit.register(self.stop)  # registered before Prefect's own exit hooks, so it runs after they flush
        self._start_warm_up()

    def _spawn(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app", "--host",
                   "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]  # fmt: skip
        linux = sys.platform == "linux"
        self.process = subprocess.Popen(command, env=_server_environment(),
                                        preexec_fn=_die_with_parent if linux else None)  # fmt: skip

    def _gone(self) -> bool:
        """Ended, other than for a taken port (which only `wait` retries)."""
        ended = self.process.poll()
        return ended is not None and ended != _ADDRESS_IN_USE

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


def idle_seconds() -> float:
    """HUUNGHI_PREFECT_SERVER_IDLE: how long the home's server stays up unused (0: it stops with the command)."""
    text = os.environ.get(IDLE_VARIABLE, "").strip()
    try:
        seconds = float(text) if text else DEFAULT_IDLE_SECONDS
    except ValueError:
        raise ValueError(f"{IDLE_VARIABLE}={text!r} is not a number of seconds") from None
    return max(seconds, 0.0)


def prefect_home() -> Path:
    """The Prefect home the server's database lives in (Prefect's own default when PREFECT_HOME is unset)."""
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()


def start_local_server() -> LocalServer | SharedServer | None:
    """The command's server, now (started or found), unless the environment points at a server or forbids
    local ones."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    if os.environ.get("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "").lower() in ("0", "false"):
        return None
    idle = idle_seconds()
    return SharedServer.find_or_start(prefect_home(), idle) if idle > 0 else LocalServer()


def _lock_within(f: IO, mode: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(f, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _version() -> str:
    from importlib.metadata import version

    return version("prefect")


def _read_state(path: Path) -> dict:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _is_our_server(pid: object) -> bool:
    """Whether `pid` is a live shared server process (not a reused pid: its command line says so on Linux)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # not Linux: the pid is alive, trust the state file
        return True
    try:
        arguments = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return arguments[1:4] == [b"-m", __name__.encode(), b"serve"]


class SharedServer(_Server):
    """The home's Prefect server, shared by its commands: found in PREFECT_HOME/huunghi-server.json, or started
    detached (it outlives this command, and stops itself when idle; see `serve`)."""

    def __init__(self, url: str, pid: int, users: IO, started: bool) -> None:
        self.url, self.pid, self.started = url, pid, started
        self._users = users  # held (shared) until this process ends: the server cannot stop under us
        self._start_warm_up()

    @classmethod
    def find_or_start(cls, home: Path, idle: float) -> SharedServer:
        home.mkdir(parents=True, exist_ok=True)
        state_path = home / STATE_FILE
        with (home / START_LOCK_FILE).open("a+") as start_lock:
            if not _lock_within(start_lock, fcntl.LOCK_EX, LOCK_WAIT_SECONDS):
                raise RuntimeError(f"another command held {home / START_LOCK_FILE} for {LOCK_WAIT_SECONDS:.0f} s")
            users = (home / USERS_FILE).open("a+")
            if not _lock_within(users, fcntl.LOCK_SH, LOCK_WAIT_SECONDS):  # a server that is stopping: gone soon
                users.close()
                raise RuntimeError(f"the local Prefect server of {home} did not stop within {LOCK_WAIT_SECONDS:.0f} s")
            state = _read_state(state_path)
            if state.get("prefect") == _version() and state.get("environment") == sys.prefix and _is_our_server(
                state.get("pid")
            ):  # fmt: skip
                return cls(state["url"], state["pid"], users, started=False)
            pid = _spawn_shared(home, idle)
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while (state := _read_state(state_path)).get("pid") != pid:  # it writes its address before booting
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the local Prefect server did not start (see {home / 'huunghi-server.log'})")
                time.sleep(0.02)
            return cls(state["url"], pid, users, started=True)

    def _gone(self) -> bool:
        return not _is_our_server(self.pid)

    def wait(self, timeout: float) -> None:
        """Return when the server answers its health check; RuntimeError if it died or took too long."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(f"{self.url}/health"):
                return
            if self._gone():
                raise RuntimeError(f"the local Prefect server (process {self.pid}) exited; see huunghi-server.log "
                                   "in PREFECT_HOME")  # fmt: skip
            time.sleep(0.05)
        raise RuntimeError(f"the local Prefect server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Nothing to stop: the server outlives the command (it stops itself once idle)."""


def _spawn_shared(home: Path, idle: float) -> int:
    """Start `serve` detached (its own session: a terminal's Ctrl-C or the command's end does not reach it)."""
    with (home / "huunghi-server.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, "serve", str(home), str(idle)],
            env=_server_environment(), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    return process.pid


class _Touched:
    """The app, remembering when it last saw a request (its idle clock)."""

    def __init__(self, app) -> None:
        self.app, self.last = app, time.monotonic()

    async def __call__(self, scope, receive, send) -> None:
        self.last = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.monotonic()


def serve(home: Path, idle: float) -> None:
    """The shared server's process: bind a port, record it, boot Prefect's app, serve until idle for `idle`
    seconds with no command holding it; then forget the record (under the users' lock) and stop."""
    import uvicorn

    state_path = home / STATE_FILE
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    state = {"pid": os.getpid(), "url": url, "prefect": _version(), "environment": sys.prefix, "idle_seconds": idle}
    temporary = state_path.with_name(f".{STATE_FILE}.{os.getpid()}")
    temporary.write_text(json.dumps(state))
    temporary.replace(state_path)

    from prefect.server.api.server import create_app

    app = _Touched(create_app())
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    users = (home / USERS_FILE).open("a+")

    def forget() -> None:
        if _read_state(state_path).get("pid") == os.getpid():
            state_path.unlink(missing_ok=True)

    def watch() -> None:
        while not server.should_exit:
            time.sleep(0.5)
            if time.monotonic() - app.last >= idle and _lock_within(users, fcntl.LOCK_EX, 0):
                forget()  # holding the users' lock: no command can find us from now on
                server.should_exit = True  # the lock is kept until this process ends

    threading.Thread(target=watch, name="idle-watch", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        forget()


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve(Path(sys.argv[2]), float(sys.argv[3]))
