"""Installed as a user installs it: the wheel (not editable) in a fresh virtual environment, run from another
folder. Everything it needs ships inside the `huunghi` namespace (expectations, SQL, data files), nothing
lands in the install location, and state goes to the user's folders.

The fresh environment gets the project alone; its dependencies are borrowed from the test environment
(a path entry, not a copy), so the test proves the package, not the registry's speed; the wheel is built the
standard way (pip, an isolated build with setuptools from the registry).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e  # builds, installs and runs the pipeline with its own ephemeral Prefect API


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("wheel")
    dist, source = work / "dist", work / "source"  # built from a copy: the build writes build/ and *.egg-info
    skip = shutil.ignore_patterns(".venv", "var", ".git", "build", "*.egg-info", "__pycache__", ".*_cache")
    shutil.copytree(REPO, source, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), "."],
        cwd=source, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("huunghi-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())  # fmt: skip
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return {"wheel": wheel, "venv": venv, "site": site, "work": work}


def test_the_wheel_carries_the_namespace_and_its_data(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for needed in (
        "huunghi/flows/pipeline.py",
        "huunghi/tasks/clean.py",
        "huunghi/warehouse/schema.sql",
        "huunghi/warehouse/audit.sql",
        "huunghi/expectations/cleaned.json",
        "huunghi/data/provinces.csv",
    ):
        assert needed in names, needed
    assert not {n for n in names if n.split("/")[0] in ("flows", "tasks", "warehouse", "expectations")}


def test_installed_huunghi_runs_from_another_folder(installed, tmp_path):
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUUNGHI_", "XDG_", "PREFECT_", "PYTHON"))} | {
        "HOME": str(home),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    package = installed["site"] / "huunghi"
    before = _files(package)
    huunghi = installed["venv"] / "bin" / "huunghi"

    done = subprocess.run([huunghi, "run", "-q"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    warehouse = home / ".local" / "share" / "huunghi" / "warehouse"
    assert (warehouse / "catalog.sqlite").is_file(), "the warehouse lives in the user's data folder"
    assert (home / ".cache" / "huunghi" / "corpus").is_dir(), "the bundled corpus is generated in the cache"
    query = subprocess.run(
        [huunghi, "sql", "--format", "csv", "SELECT count(*) AS n FROM articles"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert query.returncode == 0, query.stderr
    assert int(query.stdout.split()[-1]) > 200
    after = _files(package)
    written = {k for k in after if before.get(k) != after[k] and "__pycache__" not in k}
    assert written == set(), f"written into the install location: {sorted(written)[:5]}"
    assert list(elsewhere.iterdir()) == [], "nothing written into the working folder"
