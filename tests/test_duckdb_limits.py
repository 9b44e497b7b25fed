"""A run's DuckDB connections are bounded (issue 26): DuckDB's default takes 80 % of the machine and spills to
`.tmp` in the working directory; a run's reads and load share the machine with its worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from huunghi.flows import history
from huunghi.settings import environment, machine_memory
from huunghi.warehouse import search, store


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("limits") / "wh"
    history.build(root, 20)
    return root


def _settings(root: Path) -> tuple[int, str]:
    con = store.connect(root, read_only=True)
    try:
        return con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    finally:
        con.close()


def _bytes(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]


def test_a_runs_connection_takes_a_fixed_size_and_spills_to_a_private_folder(warehouse, monkeypatch):
    monkeypatch.delenv("HUUNGHI_DUCKDB_MEMORY", raising=False)
    memory, temp = _settings(warehouse)
    assert _bytes(memory) == pytest.approx(512 * 10**6, rel=0.03)  # shown as "488.2 MiB", whatever the machine
    assert Path(temp).is_absolute() and Path(temp).name.startswith("huunghi-duckdb-")


def test_the_memory_is_a_setting_and_a_wrong_value_is_refused_by_name(warehouse, monkeypatch):
    monkeypatch.setenv("HUUNGHI_DUCKDB_MEMORY", "25%")
    assert _bytes(_settings(warehouse)[0]) == pytest.approx(machine_memory() / 4, rel=0.03)
    monkeypatch.setenv("HUUNGHI_DUCKDB_MEMORY", "lots")
    with pytest.raises(ValidationError, match="duckdb_memory"):
        environment()


def test_the_search_index_connection_is_bounded_too(warehouse, monkeypatch):
    monkeypatch.setenv("HUUNGHI_DUCKDB_MEMORY", "2GB")
    search.build_index(warehouse)
    con = search.connect(search.index_path(warehouse), read_only=True)
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert _bytes(limit) == pytest.approx(2 * 10**9, rel=0.05)  # shown as "1.8 GiB"
    finally:
        con.close()


def test_a_first_search_index_is_built_in_a_bounded_connection(warehouse, monkeypatch):
    monkeypatch.setenv("HUUNGHI_DUCKDB_MEMORY", "2GB")
    opened: list[tuple[str, dict]] = []
    real = search.duckdb.connect

    def spy(database=":memory:", *args, **kwargs):
        opened.append((str(database), kwargs.get("config") or {}))
        return real(database, *args, **kwargs)

    monkeypatch.setattr(search.duckdb, "connect", spy)
    search.build_index(warehouse)
    index_files = [config for name, config in opened if search.INDEX_FILE in name]
    assert store.memory_limit() == "2000000000B"
    # the writer within UPDATE_MEMORY (less than the run's 2 GB): its written postings stay within it
    assert index_files and all(config.get("memory_limit") == f"{search.UPDATE_MEMORY}B" for config in index_files)
    monkeypatch.setenv("HUUNGHI_DUCKDB_MEMORY", "100MB")  # a smaller run limit holds for the writer too
    opened.clear()
    search.build_index(warehouse)
    assert all(c.get("memory_limit") == "100000000B" for name, c in opened if search.INDEX_FILE in name)
