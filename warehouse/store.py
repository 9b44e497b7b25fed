"""Opening the warehouse: a DuckLake catalog (a DuckDB file) plus Parquet data files, offline.

DuckDB cannot download extensions here, nor can offline users: the ducklake extension comes from the
PyPI package pinned with duckdb and is installed from its file.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import duckdb
import duckdb_extensions

from huunghi.settings import default_warehouse, environment
from huunghi.warehouse.schema import sql_text

CATALOG_FILE = "catalog.ducklake"
DATA_DIR = "data"
ALIAS = "wh"
# Shared storage for many writers: the DuckLake catalog in PostgreSQL (a libpq connection string after
# `postgres:`) and the data files under a shared path (an object-store URL, or a shared folder).
CATALOG_VARIABLE = "HUUNGHI_CATALOG"  # e.g. postgres:dbname=huunghi host=db.internal user=huunghi
DATA_PATH_VARIABLE = "HUUNGHI_DATA_PATH"  # e.g. s3://bucket/huunghi/ ; default <warehouse>/data/


class WarehouseError(ValueError):
    """The warehouse location is unusable, or the warehouse does not exist yet."""


def default_location() -> Path:
    """HUUNGHI_WAREHOUSE, else var/warehouse of a checkout, else the user's data folder (huunghi.settings)."""
    return default_warehouse()


def check_location(path: str | Path | None, *, create: bool) -> Path:
    """Resolve a user-given warehouse folder; refuse files, odd characters and missing folders."""
    root = Path(path).expanduser() if path else default_location()
    root = root.resolve()
    if any(ch in str(root) for ch in "'\"\n\r\x00"):
        raise WarehouseError(f"warehouse path contains quotes or control characters: {root!s}")
    if root.exists() and not root.is_dir():
        raise WarehouseError(f"warehouse path is not a folder: {root}")
    if not has_catalog(root) and not create:
        raise WarehouseError(f"no warehouse at {root}: run `huunghi run` first")
    if create:
        root.mkdir(parents=True, exist_ok=True)  # the local home: run lock, raw zone, quality, search index
    if not environment().data_path:
        (root / DATA_DIR).mkdir(parents=True, exist_ok=True)
    return root


def _setting(name: str) -> str | None:
    """HUUNGHI_CATALOG or HUUNGHI_DATA_PATH, refused when it could break out of the ATTACH string."""
    value = getattr(environment(), name.removeprefix("HUUNGHI_").lower()) or None
    if value and any(ch in value for ch in "'\"\n\r\x00"):
        raise WarehouseError(f"{name} contains quotes or control characters")
    return value


def catalog_url(root: Path) -> str:
    """What ATTACH opens: the DuckDB catalog file in the warehouse folder, or HUUNGHI_CATALOG."""
    return f"ducklake:{_setting(CATALOG_VARIABLE) or root / CATALOG_FILE}"


def data_path(root: Path) -> str:
    path = _setting(DATA_PATH_VARIABLE) or str(root / DATA_DIR)
    return path if path.endswith("/") else path + "/"


def has_catalog(root: Path) -> bool:
    """Whether the warehouse exists: its catalog file, or a DuckLake in the PostgreSQL database."""
    url = environment().catalog
    if not url:
        return (root / CATALOG_FILE).exists()
    if url in _KNOWN_CATALOGS:
        return True
    try:
        connect(root, read_only=True).close()
    except duckdb.InvalidInputException as exc:
        if "does not exist" in str(exc):
            return False
        raise
    _KNOWN_CATALOGS.add(url)
    return True


_KNOWN_CATALOGS: set[str] = set()  # PostgreSQL catalogs seen to exist (they are never removed by huunghi)


class CatalogDamaged(WarehouseError):
    """The catalog file fails DuckDB's checksums (a disk error, a copy cut short): no run or query can use it."""


# DuckDB's words when another process holds the catalog file (not "lock" alone: "block" has it too).
_LOCK_CONFLICT = re.compile(r"could not set lock on file|conflicting lock", re.IGNORECASE)


def _damaged(exc: duckdb.Error) -> bool:
    message = str(exc).lower()
    return "corrupt database file" in message or "checksum" in message


READER_WAIT_SECONDS = 120.0  # a reader arriving during a run's commit waits for it
WRITER_WAIT_SECONDS = 600.0  # a commit waits for the readers that have the catalog open

RUN_SNAPSHOTS = """
    SELECT r.run_id, r.flow_run_id, s.snapshot_id, s.snapshot_time, r.articles_new, r.pages_in
    FROM runs r JOIN wh.snapshots() s ON json_extract_string(s.commit_extra_info, '$.run_id') = r.run_id
    ORDER BY s.snapshot_id"""


def connect(
    root: Path,
    *,
    read_only: bool,
    snapshot: int | None = None,
    data_url: str | None = None,
    filesystem: Any | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the warehouse attached as `wh` and selected as default; with `snapshot`,
    the warehouse as it was at that snapshot (read-only). `data_url` and `filesystem` (an fsspec
    filesystem registered first) reach the data files another way: huunghi.warehouse.sandbox."""
    root = root.resolve()  # the catalog records its data path as given at creation: always absolute
    con = duckdb.connect(config={"threads": max(1, os.cpu_count() or 1)})
    if filesystem is not None:
        con.register_filesystem(filesystem)
    duckdb_extensions.import_extension("ducklake", con=con)
    con.execute("LOAD ducklake")
    target = catalog_url(root)
    if target.startswith("ducklake:postgres:"):
        duckdb_extensions.import_extension("postgres", con=con)
        con.execute("LOAD postgres")
    # ATTACH takes no prepared parameters; check_location() and _setting() refused quotes.
    # OVERRIDE_DATA_PATH: a warehouse folder moved or copied whole (a backup restored) reads its own data/.
    options = [f"DATA_PATH '{data_url or data_path(root)}'", "OVERRIDE_DATA_PATH TRUE", "DATA_INLINING_ROW_LIMIT 0"]
    if read_only or snapshot is not None:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    attach = f"ATTACH '{target}' AS {ALIAS} ({', '.join(options)})"
    deadline = time.monotonic() + (READER_WAIT_SECONDS if read_only else WRITER_WAIT_SECONDS)
    said = False
    while True:
        try:
            con.execute(attach)
            break
        except duckdb.IOException as exc:
            if _damaged(exc):
                con.close()
                raise CatalogDamaged(f"the warehouse catalog {target.removeprefix('ducklake:')} is damaged "
                                     f"({str(exc).splitlines()[0]}): restore it from a backup") from exc  # fmt: skip
            # DuckDB lets one process at a time write the catalog file, and none read it meanwhile.
            if not _LOCK_CONFLICT.search(str(exc)) or time.monotonic() > deadline:
                con.close()
                raise
            if not said:
                print(
                    f"huunghi: waiting for the warehouse catalog, in use by another process ({root})", file=sys.stderr
                )
                said = True
            time.sleep(0.2)
    con.execute(f"USE {ALIAS}")
    return con


def snapshot_of_run(root: Path, run_id: str) -> int:
    """The snapshot a run committed (its commit message carries the run id)."""
    con = connect(root, read_only=True)
    try:
        row = con.execute(f"SELECT snapshot_id FROM ({RUN_SNAPSHOTS}) WHERE run_id = ?", [run_id]).fetchone()
    finally:
        con.close()
    if row is None:
        raise WarehouseError(f'no run {run_id!r} in {root} (see: huunghi sql "SELECT * FROM runs")')
    return row[0]


LOCK_FILE = ".run.lock"


class WarehouseBusy(WarehouseError):
    """Another run holds the warehouse."""


def try_lock(f: IO) -> bool:
    """An exclusive flock on the open file, now or not at all (the OS releases it if the holder dies)."""
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_within(f: IO, wait_seconds: float, waiting: Callable[[], object] = lambda: None) -> bool:
    """An exclusive flock on the open file within `wait_seconds` (`waiting()` is called once, when it must
    wait); False when it stayed held that long."""
    deadline = time.monotonic() + wait_seconds
    if try_lock(f):
        return True
    if time.monotonic() >= deadline:
        return False
    waiting()
    while not try_lock(f):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


@contextmanager
def run_lock(root: Path, wait_seconds: float, say: Callable[[str], object] = print) -> Iterator[None]:
    """One run at a time per warehouse: an exclusive lock on <warehouse>/.run.lock for the whole run.

    A second run says who holds the lock and waits up to `wait_seconds`, then gives up with
    WarehouseBusy. The lock is the operating system's (flock): it is released if the holder dies.
    """
    path = root / LOCK_FILE

    def holder(f: IO) -> str:
        f.seek(0)
        return f.read().strip() or "another run"

    with path.open("a+") as f:
        if not lock_within(f, wait_seconds, lambda: say(f"waiting for the warehouse: {holder(f)} holds it "
                                                         f"(up to {wait_seconds:.0f} s)")):  # fmt: skip
            raise WarehouseBusy(f"{root} is busy: {holder(f)} holds it (waited {wait_seconds:.0f} s)")
        try:
            f.truncate(0)
            f.write(f"run in process {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
            f.flush()
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def orphan_files(con: duckdb.DuckDBPyConnection, *, remove: bool, min_age_hours: float = 0) -> list[str]:
    """Data files in the data path that no snapshot of the catalog references — left by a run killed while
    writing, a full disk, or a rolled-back transaction — removed unless `remove` is False; their paths.
    DuckLake's own function decides (never a file the catalog references). Call it only while no other
    process writes this warehouse (the run lock and the write slot; `min_age_hours` otherwise)."""
    age = "cleanup_all => true" if min_age_hours <= 0 else f"older_than => now() - INTERVAL {float(min_age_hours)} HOUR"
    rows = con.execute(f"SELECT * FROM ducklake_delete_orphaned_files('{ALIAS}', {age}, dry_run => ?)", [not remove])
    return sorted(r[0] for r in rows.fetchall())


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The tables of schema.sql (idempotent: CREATE … IF NOT EXISTS, ADD COLUMN IF NOT EXISTS)."""
    con.execute(sql_text("schema.sql"))


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    """The views of views.sql (CREATE OR REPLACE), so that they always match this version's tables."""
    con.execute(sql_text("views.sql"))


def table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_type = 'BASE TABLE' "
        "ORDER BY table_name",
        [ALIAS],
    ).fetchall()
    return [r[0] for r in rows]


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    # Table names come from the catalog itself, never from user input.
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in table_names(con)}


def audit_queries() -> list[tuple[str, str]]:
    """(name, query) of audit.sql: each counts the rows that break one rule of the warehouse as a whole."""
    text = sql_text("audit.sql")
    parts = re.split(r"^-- name: (\w+)\s*$", text, flags=re.MULTILINE)
    return [(name, body.strip().rstrip(";")) for name, body in zip(parts[1::2], parts[2::2], strict=True)]
