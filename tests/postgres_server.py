"""A real PostgreSQL server for the shared-catalog tests (Debian's postgresql package, installed by the test
set-up), started on 127.0.0.1 in a folder of its own: `postgres` yields (catalog setting, bindir, port)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.prefect_server import free_port

INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _can_run() -> str | None:
    if not INITDB:
        return "Debian's postgresql package is not installed (`make test` installs it as root)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "PostgreSQL refuses to run as root and runuser is missing"
    return None


@pytest.fixture(scope="module")
def postgres():
    if why := _can_run():
        missing(why)
    bindir = Path(INITDB[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="huunghi-pg-"))  # not under pytest's root-only folder: postgres owns it
    data, socket_dir = base / "data", base / "socket"
    socket_dir.mkdir()
    if AS_POSTGRES:
        shutil.chown(base, "postgres")
        shutil.chown(socket_dir, "postgres")
    port = free_port()
    run = lambda *args: subprocess.run([*AS_POSTGRES, *args], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(
        str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60",
        "-o", f"-h 127.0.0.1 -p {port} -k {socket_dir}", "start",
    )  # fmt: skip
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "huunghi")
        yield f"postgres:dbname=huunghi host=127.0.0.1 port={port} user=postgres", bindir, port
    finally:
        subprocess.run([*AS_POSTGRES, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)
