"""DuckDB checks an extension's signature (a hash of its whole file) at every LOAD: a run's connections check the
pinned extensions once per process, a sandboxed reader's connection always."""

from __future__ import annotations

from pathlib import Path

import pytest

from huunghi.warehouse import store
from huunghi.warehouse.sandbox import ReadOnlyFiles


def _unchecked(con) -> bool:
    try:
        return con.execute("SELECT current_setting('allow_unsigned_extensions')").fetchone()[0] is True
    finally:
        con.close()


def test_a_run_checks_its_extensions_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_VERIFIED", set())
    assert not _unchecked(store._duckdb_with_extensions())  # the first connection of the process checks
    assert _unchecked(store._duckdb_with_extensions())  # later ones load the same files unchecked
    assert _unchecked(store._duckdb_with_extensions())


def test_a_sandboxed_reader_always_checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(store, "_VERIFIED", set())
    store._duckdb_with_extensions().close()
    assert not _unchecked(store._duckdb_with_extensions(s3_reader=True))
    assert not _unchecked(store._duckdb_with_extensions(filesystem=ReadOnlyFiles(tmp_path)))


def test_a_new_extension_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection that needs an extension this process has not checked yet (postgres) checks them all."""
    monkeypatch.setattr(store, "_VERIFIED", {"ducklake", "sqlite"})
    monkeypatch.setenv(store.CATALOG_VARIABLE, "postgres:dbname=none host=127.0.0.1")
    con = store._duckdb_with_extensions()
    assert not _unchecked(con)
    assert "postgres" in store._VERIFIED
