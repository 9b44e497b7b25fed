"""The fixed cost of a run: what every run pays whatever its pages (issue 26: a 3-page run, a run with nothing new)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GATE_WITHOUT_SCIPY = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from tests.test_drift import cleaned
    from huunghi.quality.gates import Quality, preload

    heavy = ("scipy.stats._stats_py", "altair.vegalite")
    preload()
    assert not [m for m in heavy if m in sys.modules], "imported with Great Expectations"
    quality = Quality(Path(sys.argv[1]), "run-1")
    assert quality.validate("cleaned", cleaned(30, 3)).passed
    assert quality.build_docs().exists()
    assert not [m for m in heavy if m in sys.modules], "imported by a gate or the Data Docs"

    from scipy import stats  # what Great Expectations holds: the real module, once used
    assert abs(stats.entropy([0.5, 0.5]) - 0.6931) < 1e-3 and "scipy.stats._stats_py" in sys.modules
    import altair
    assert altair.Chart is not None and "altair.vegalite" in sys.modules
    """
)


@pytest.mark.slow
def test_gates_and_data_docs_do_not_import_what_no_suite_uses(tmp_path):
    """Great Expectations imports scipy.stats and altair for expectations no suite has (a third of its import
    time, paid by every run): they load only when used."""
    done = subprocess.run([sys.executable, "-c", GATE_WITHOUT_SCIPY, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).parents[1])  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


GATE_WITHOUT_SQL_OR_S3 = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from tests.test_drift import cleaned
    from huunghi.quality.gates import Quality, preload

    preload()
    quality = Quality(Path(sys.argv[1]), "run-1")
    assert quality.validate("cleaned", cleaned(30, 3)).passed
    assert quality.build_docs().exists()
    assert not [m for m in ("sqlalchemy", "boto3", "botocore") if m in sys.modules], "imported with GX"

    import boto3, sqlalchemy  # installed (Prefect's server, the dev tools): importable as usual afterwards
    assert sqlalchemy.select is not None and boto3.client is not None
    """
)


@pytest.mark.slow
def test_gates_and_data_docs_run_without_sql_or_s3_libraries(tmp_path):
    """Great Expectations imports sqlalchemy, boto3 and botocore when installed, for data sources and stores no
    run uses (~1 s of every run): the gates and the Data Docs work without them, which stay importable."""
    done = subprocess.run([sys.executable, "-c", GATE_WITHOUT_SQL_OR_S3, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).parents[1])  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


CLIENT_WITHOUT_TRIO = textwrap.dedent(
    """
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from huunghi.flows.cli import _defer_unused

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _defer_unused()
    import anyio, httpx, prefect  # what a run imports: Prefect's client, httpx, httpcore, anyio

    url = f"http://127.0.0.1:{server.server_port}/"
    assert httpx.get(url).text == "hello"
    async def fetch():
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).text
    assert anyio.run(fetch) == "hello"
    assert "trio.lowlevel" not in sys.modules, "trio imported"
    import trio  # installed (the dev tools): the real module on first use
    assert trio.lowlevel is not None and "trio.lowlevel" in sys.modules
    """
)


@pytest.mark.slow
def test_a_run_does_not_import_trio(tmp_path):
    """httpcore imports trio when installed, for clients under trio's event loop, which a run never has (0.2-0.5 s
    of every run): the command's clients work, sync and async, without loading it."""
    done = subprocess.run([sys.executable, "-c", CLIENT_WITHOUT_TRIO], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parents[1], env={**os.environ, "NO_PROXY": "127.0.0.1"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
