"""Leftovers and damage: orphan data files are collected (by the next run, or `huunghi doctor`), never a
referenced one; a damaged catalog or data file is named as such, at once."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from huunghi.corpus import generate
from huunghi.flows.cli import main
from huunghi.flows.pipeline import pipeline
from huunghi.warehouse import store

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: warehouses built by real runs


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Two runs: several snapshots, so time travel needs the files of the first one too."""
    root = tmp_path_factory.mktemp("wh-doctor")
    for seed in (21, 22):
        pipeline(sources=[str(generate(tmp_path_factory.mktemp(f"c{seed}"), 10, seed=seed))], warehouse=str(root))
    return root


@pytest.fixture
def warehouse(built, tmp_path) -> Path:
    """A copy per test (a warehouse folder copied whole reads its own data/)."""
    return Path(shutil.copytree(built, tmp_path / "wh"))


def data_files(root: Path) -> set[Path]:
    return {p for p in (root / store.DATA_DIR).rglob("*") if p.is_file()}


def plant_orphans(root: Path) -> list[Path]:
    """What a run killed mid-write leaves: a whole Parquet file nobody references, and a cut one."""
    real = sorted((root / store.DATA_DIR / "main" / "articles").glob("*.parquet"))[0]
    whole = real.with_name("ducklake-killed-run-0001.parquet")
    shutil.copy(real, whole)
    cut = real.with_name("ducklake-killed-run-0002.parquet")
    cut.write_bytes(real.read_bytes()[:100])
    return [whole, cut]


def test_doctor_removes_orphans_and_nothing_else(warehouse, capsys):
    referenced = data_files(warehouse)
    orphans = plant_orphans(warehouse)
    assert main(["doctor", "--warehouse", str(warehouse), "--dry-run"]) == 1
    assert "2 unreferenced data file(s)" in capsys.readouterr().out
    assert all(p.exists() for p in orphans)
    assert main(["doctor", "--warehouse", str(warehouse)]) == 0
    assert "removed 2 unreferenced" in capsys.readouterr().out
    assert data_files(warehouse) == referenced
    # every snapshot still reads, the first run's included
    assert main(["sql", "--warehouse", str(warehouse), "--snapshot", "2", "SELECT count(*) FROM paragraphs"]) == 0
    assert main(["doctor", "--warehouse", str(warehouse)]) == 0
    assert "│ orphan files    │ ok" in capsys.readouterr().out


def test_next_run_collects_orphans_before_it_writes(warehouse, tmp_path):
    plant_orphans(warehouse)
    before = data_files(warehouse)
    summary = pipeline(sources=[str(generate(tmp_path / "more", 3, seed=23))], warehouse=str(warehouse))
    assert summary.counts["orphan_files_removed"] == 2
    after = data_files(warehouse)
    assert not any("killed-run" in p.name for p in after)
    assert before - after == {p for p in before if "killed-run" in p.name}  # only the orphans went


def test_dry_run_leaves_no_files_behind(warehouse, tmp_path):
    before = data_files(warehouse)
    pipeline(sources=[str(generate(tmp_path / "more", 3, seed=24))], warehouse=str(warehouse), dry_run=True)
    assert data_files(warehouse) == before


def test_damaged_data_file_is_named(warehouse, capsys):
    victim = sorted((warehouse / store.DATA_DIR / "main" / "paragraphs").glob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    assert main(["doctor", "--warehouse", str(warehouse), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "1 damaged" in out and victim.name[:20] in out


@pytest.mark.parametrize("offset", [100, 1000, 2000])  # where DuckLake met: wrong rows, a crash, a broken schema
def test_damaged_catalog_is_reported_as_damaged_at_once(warehouse, capsys, offset):
    catalog = warehouse / store.CATALOG_FILE
    assert catalog.is_file()
    db = sqlite3.connect(catalog)  # every page in the file itself, none left in its WAL
    assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    db.close()
    data = bytearray(catalog.read_bytes())
    for page in range(1, len(data) // 4096):  # a few bytes flipped in every page but the first (SQLite's header)
        start = page * 4096 + offset
        data[start : start + 64] = bytes(b ^ 0xFF for b in data[start : start + 64])
    catalog.write_bytes(bytes(data))
    started = time.monotonic()
    assert main(["sql", "--warehouse", str(warehouse), "SELECT count(*) FROM articles"]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - started < 30  # it used to wait 120 s for a "lock" (the word in "block")
    assert "is damaged" in err and "in use by another process" not in err and "crashed" not in err
    assert main(["doctor", "--warehouse", str(warehouse)]) == 1
    assert "damaged" in capsys.readouterr().out
