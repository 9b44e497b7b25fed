"""Shared fixtures. Two tiers: the fast tier (no Prefect server: the library, pure functions) and the
end-to-end tier (`e2e`: tests that request `prefect_server`, a real Prefect API in a per-session home, or
that run the `huunghi` command, start a run in a subprocess or kill one: marked by their module's
`pytestmark`, or here). Library tests of 3 s or more on a quiet machine are marked `slow`. `make test-fast`
runs the fast tier without them; `make test` runs everything.

Something outside the repository that a test needs (the real sample pages in ../shared, Debian's chromium
or PostgreSQL) skips the test when missing on a developer's machine, and fails it under CI (CI=true):
a green CI must mean the test ran."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_PREFECT_HOME = tempfile.mkdtemp(prefix="huunghi-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.pop("PREFECT_API_URL", None)
# The suite's commands stop their Prefect server with them (tests/test_local_server.py covers the shared one that
# outlives a command), so that no test leaves a server behind.
os.environ.setdefault("HUUNGHI_PREFECT_SERVER_IDLE", "0")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.txt")) if SAMPLES.is_dir() else []


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Something outside the repository is not here: skip on a developer's machine, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required, not skipped)", pytrace=False)
    pytest.skip(reason)


SAMPLES_MISSING = f"real sample pages not found at {SAMPLES} (they live outside the repository)"


@pytest.fixture
def samples() -> list[Path]:
    """The real sample pages (../shared/samples)."""
    if not sample_files():
        missing(SAMPLES_MISSING)
    return sample_files()


needs_samples = pytest.mark.usefixtures("samples")


def runs_processes(item: pytest.Item) -> bool:
    """Whether the test's module runs the installed `huunghi` command (it holds its path,
    tests.reliability.HUUNGHI): such a test starts a temporary Prefect server and a run, or kills one."""
    module = getattr(item, "module", None)
    return getattr(module, "HUUNGHI", None) is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the Prefect server (its module's `pytestmark` or a fixture), or whose module runs
    the `huunghi` command, is end-to-end: `make test-fast` leaves it out."""
    for item in items:
        if "prefect_server" in getattr(item, "fixturenames", ()) or runs_processes(item):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def prefect_server():
    """One real Prefect API server (a uvicorn subprocess on 127.0.0.1) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    from huunghi.corpus import generate

    return generate(tmp_path_factory.mktemp("corpus"), 400, seed=11)


@pytest.fixture
def ctrl_c_as_at_a_terminal():
    """A test that sends Ctrl-C (to this process or to a command it starts) gets it as at a terminal: SIGINT not
    blocked in the main thread (a child inherits the mask) and handled by Python's default handler. A suite started
    in the background by a non-interactive shell (`make test &` in a script) inherits SIGINT ignored, as POSIX asks
    of such jobs, and Python keeps an ignored SIGINT ignored: three such tests then never got their Ctrl-C (seen in
    fresh-clone suites started so; this fixture's warning showed the SIG_IGN). Put right for the test, and said."""
    import signal
    import warnings

    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    if blocked or handler is not signal.default_int_handler:
        warnings.warn(f"SIGINT was {'blocked' if blocked else 'not blocked'} with handler {handler!r} in this test "
                      "process: put right for the test", stacklevel=1)  # fmt: skip
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a library test of 3 s or more (warehouses built, a Python subprocess): `make test` only"
    )
