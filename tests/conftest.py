"""Shared fixtures. Prefect runs against a real (ephemeral) server in a per-session home folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_PREFECT_HOME = tempfile.mkdtemp(prefix="huunghi-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.pop("PREFECT_API_URL", None)

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.txt")) if SAMPLES.is_dir() else []


needs_samples = pytest.mark.skipif(
    not sample_files(), reason=f"real sample pages not found at {SAMPLES} (they live outside the repository)"
)


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    """One real Prefect API server (a uvicorn subprocess on 127.0.0.1) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    from huunghi.corpus import generate

    return generate(tmp_path_factory.mktemp("corpus"), 400, seed=11)
