"""prefect.yaml beside `huunghi serve` (issue 25): `prefect deploy --all` registers deployments of its own instead
of silently taking over the served ones (a deployment is known by flow and name), and says which Prefect it is for."""

from __future__ import annotations

import re

import prefect
import yaml

from huunghi.flows.deployments import DAILY, ON_DEMAND
from tests.conftest import REPO

CONFIG = yaml.safe_load((REPO / "prefect.yaml").read_text("utf-8"))


def test_deployed_names_differ_from_the_served_ones():
    names = [d["name"] for d in CONFIG["deployments"]]
    assert len(set(names)) == 2
    assert not set(names) & {DAILY, ON_DEMAND}, names


def test_prefect_version_is_the_pinned_one():
    pinned = re.search(r'"prefect==([0-9.]+)"', (REPO / "pyproject.toml").read_text("utf-8")).group(1)
    assert str(CONFIG["prefect-version"]) == pinned == prefect.__version__
