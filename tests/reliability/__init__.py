"""The experiments of a demanding user, done for real (issue 16). Shared here: running the installed
`huunghi` command in its own Prefect home, and counting a warehouse's snapshots."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from huunghi.warehouse import store

REPO = Path(__file__).resolve().parents[2]
HUUNGHI = Path(sys.executable).with_name("huunghi")


def environment(home: Path) -> dict[str, str]:
    """The environment of a command with its own PREFECT_HOME, reporting to no outside server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def snapshot_count(root: Path) -> int:
    con = store.connect(root, read_only=True)
    try:
        return con.execute("SELECT count(*) FROM wh.snapshots()").fetchone()[0]
    finally:
        con.close()
