"""Many writers, shared storage: the DuckLake catalog in a real PostgreSQL server (Debian's postgresql
package, installed by the test set-up), started by this test on 127.0.0.1 in a folder of its own."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import store
from tests.conftest import missing
from tests.prefect_server import free_port
from tests.test_pipeline import dump, state

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API
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


def test_catalog_in_postgresql(postgres, small_corpus, tmp_path, monkeypatch):
    catalog, bindir, port = postgres
    shared = tmp_path / "shared-data"  # stands for object storage: a path every writer reaches
    monkeypatch.setenv(store.CATALOG_VARIABLE, catalog)
    monkeypatch.setenv(store.DATA_PATH_VARIABLE, str(shared))
    root = tmp_path / "wh"
    pipeline(sources=[str(small_corpus)], warehouse=str(root))
    first, (counts, snapshot) = dump(root), state(root)
    assert counts["articles"] == 400 and not list(root.glob("catalog.*")), "no embedded catalog beside PostgreSQL"
    assert list(shared.rglob("*.parquet")) and not list((root / "data").rglob("*.parquet"))
    tables = subprocess.run(
        [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "huunghi", "-Atc",
         "SELECT count(*) FROM ducklake_snapshot"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert int(tables) == snapshot + 1  # the snapshots live in PostgreSQL
    # A second writer on another machine: another local folder, the same catalog and data.
    other = tmp_path / "other-machine"
    pipeline(sources=[str(small_corpus)], warehouse=str(other))
    assert dump(other) == first and state(other)[0] == {**counts, "runs": counts["runs"] + 1}
