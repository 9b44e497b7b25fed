"""Opening the warehouse: a DuckLake catalog (a SQLite file in WAL mode) plus Parquet data files, offline.

DuckDB cannot download extensions here, nor can offline users: the ducklake, sqlite, postgres and httpfs (S3)
extensions come from the PyPI packages pinned with duckdb and are installed from their files.

Why SQLite: a DuckDB-file catalog serves one process at a time, so a notebook or `huunghi sql` that kept
it open made a run's load wait, then fail. In WAL mode a reader's open transaction keeps its snapshot
while a run commits, and never delays it. A warehouse made before (`catalog.ducklake`) is migrated by its
first writer, history and all (`migrate_catalog`).
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import duckdb
import duckdb_extensions

from huunghi.settings import default_warehouse, environment, parse_memory
from huunghi.warehouse.schema import SORTED_BY, sql_text

CATALOG_FILE = "catalog.sqlite"  # the embedded catalog: SQLite in WAL mode (readers never block a run)
LEGACY_CATALOG_FILE = "catalog.ducklake"  # the DuckDB-file catalog of older versions, migrated by the first writer
MIGRATED_SUFFIX = ".migrated"  # catalog.ducklake.migrated: the old catalog, kept as it was after its migration
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
    """What ATTACH opens: HUUNGHI_CATALOG, else the SQLite catalog in the warehouse folder (or, until a writer
    migrated it, the old DuckDB-file catalog)."""
    shared = _setting(CATALOG_VARIABLE)
    if shared:
        return f"ducklake:{shared}"
    if not (root / CATALOG_FILE).exists() and (root / LEGACY_CATALOG_FILE).exists():
        return f"ducklake:{root / LEGACY_CATALOG_FILE}"
    return f"ducklake:sqlite:{root / CATALOG_FILE}"


def data_path(root: Path) -> str:
    path = _setting(DATA_PATH_VARIABLE) or str(root / DATA_DIR)
    return path if path.endswith("/") else path + "/"


def has_catalog(root: Path) -> bool:
    """Whether the warehouse exists: its catalog file, or a DuckLake in the PostgreSQL database."""
    url = environment().catalog
    if not url:
        return (root / CATALOG_FILE).exists() or (root / LEGACY_CATALOG_FILE).exists()
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


# DuckDB's words for a catalog file that cannot be read as one: checksums (a DuckDB file), SQLite's own words,
# and DuckLake's when the catalog's tables do not hold together.
_DAMAGE = ("corrupt database file", "checksum", "file is not a database", "malformed", "failed to load ducklake")


def _damaged(exc: duckdb.Error) -> bool:
    message = str(exc).lower()
    return any(words in message for words in _DAMAGE)


# Waits for the old DuckDB-file catalog only (one process at a time): the SQLite catalog never makes anyone wait.
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
    s3_reader: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the warehouse attached as `wh` and selected as default; with `snapshot`,
    the warehouse as it was at that snapshot (read-only). `data_url` and `filesystem` (an fsspec
    filesystem registered first) reach the data files another way, and `s3_reader` reaches S3 with the
    read-only key: huunghi.warehouse.sandbox."""
    root = root.resolve()  # the catalog records its data path as given at creation: always absolute
    writer = not read_only and snapshot is None
    if writer and not _setting(CATALOG_VARIABLE):
        prepare_catalog(root)  # a new warehouse's SQLite catalog, or the old DuckDB-file one migrated
    con = _duckdb_with_extensions(filesystem, s3_reader=s3_reader)
    # ATTACH takes no prepared parameters; check_location() and _setting() refused quotes.
    # OVERRIDE_DATA_PATH: a warehouse folder moved or copied whole (a backup restored) reads its own data/.
    options = [f"DATA_PATH '{data_url or data_path(root)}'", "OVERRIDE_DATA_PATH TRUE", "DATA_INLINING_ROW_LIMIT 0"]
    if not writer:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    deadline = time.monotonic() + (READER_WAIT_SECONDS if read_only else WRITER_WAIT_SECONDS)
    said = False
    while True:
        target = catalog_url(root)  # again each time: a writer may have migrated the old catalog meanwhile
        try:
            if target.startswith("ducklake:sqlite:"):
                _check_sqlite(con, Path(target.removeprefix("ducklake:sqlite:")))
            con.execute(f"ATTACH '{target}' AS {ALIAS} ({', '.join(options)})")
            break
        except CatalogDamaged:
            con.close()
            raise
        except duckdb.Error as exc:
            if target != catalog_url(root):  # the old catalog was migrated (and renamed) just now
                continue
            if _damaged(exc):
                con.close()
                raise CatalogDamaged(f"the warehouse catalog {target.removeprefix('ducklake:')} is damaged "
                                     f"({str(exc).splitlines()[0]}): restore it from a backup") from exc  # fmt: skip
            # DuckDB lets one process at a time write a DuckDB-file catalog, and none read it meanwhile.
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


_QUICK_CHECK = "PRAGMA quick_check"


def _check_sqlite(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """SQLite keeps no checksums, and DuckLake reading a damaged catalog may end the process (SIGABRT): SQLite's
    quick_check (every page, milliseconds for a catalog of years of runs) says so first, as CatalogDamaged."""
    con.execute(f"ATTACH '{path}' AS huunghi_catalog_check (TYPE sqlite, READ_ONLY)")
    try:
        found = [r[0] for r in con.execute(f"FROM sqlite_query('huunghi_catalog_check', '{_QUICK_CHECK}')").fetchall()]
    except (duckdb.Error, UnicodeDecodeError) as exc:  # what it reports may be damaged bytes itself
        found = [str(exc).splitlines()[0]]
    finally:
        con.execute("DETACH huunghi_catalog_check")
    if found != ["ok"]:
        raise CatalogDamaged(f"the warehouse catalog {path} is damaged (SQLite's quick_check: "
                             f"{found[0].splitlines()[-1][:200]}): restore it from a backup")  # fmt: skip


def memory_limit(at_most: int | None = None) -> str:
    """DuckDB's memory_limit in a run's own connections (HUUNGHI_DUCKDB_MEMORY, or `at_most` bytes if less), as
    DuckDB reads it."""
    limit = parse_memory(environment().duckdb_memory)
    return f"{limit if at_most is None else min(limit, at_most)}B"


# Extensions whose signature DuckDB checked in this process. DuckDB checks it at every LOAD, in every new connection:
# a SHA-256 of the whole file (ducklake and sqlite: 70 MB), 0.2-0.5 s per connection, and a run opens several.
_VERIFIED: set[str] = set()


def _duckdb_with_extensions(filesystem: Any | None = None, *, s3_reader: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the extensions every catalog needs, loaded from the pinned PyPI packages; on S3,
    httpfs and the credentials (`s3_reader`: the read-only key). Extensions this process already loaded with their
    signature checked load again unchecked (the same pinned files; only the run's own SQL uses such a connection);
    a sandboxed reader's connection (`filesystem` or `s3_reader`: huunghi sql) always checks."""
    extensions = ["ducklake", "sqlite"]
    if (_setting(CATALOG_VARIABLE) or "").startswith("postgres:"):
        extensions.append("postgres")
    on_s3 = on_object_store()
    if on_s3:
        extensions.append("httpfs")
    checked = filesystem is None and not s3_reader and _VERIFIED.issuperset(extensions)
    config = {"threads": max(1, os.cpu_count() or 1), **({"allow_unsigned_extensions": "true"} if checked else {})}
    con = duckdb.connect(config=config)
    # Bounded buffers, spilling to a private temp folder (DuckDB's default: 80 % of the machine, and `.tmp` in the
    # working directory): a run's reads and load share the machine with its worker processes.
    con.execute(f"SET memory_limit = '{memory_limit()}'")
    con.execute("SET temp_directory = ?", [str(Path(tempfile.gettempdir()) / f"huunghi-duckdb-{os.getpid()}")])
    if filesystem is not None:
        con.register_filesystem(filesystem)
    for name in extensions:
        duckdb_extensions.import_extension(name, con=con)
        con.execute(f"LOAD {name}")
    if not checked:
        _VERIFIED.update(extensions)
    if on_s3:
        try:
            _create_s3_secret(con, reader=s3_reader)
        except BaseException:
            con.close()
            raise
    return con


S3_SCHEMES = ("s3://", "s3a://", "s3n://")  # what DuckDB's httpfs reads as S3
S3_SECRET = "huunghi_s3"


def on_object_store() -> bool:
    """Whether HUUNGHI_DATA_PATH puts the data files on S3-compatible storage (reached through httpfs)."""
    return (_setting(DATA_PATH_VARIABLE) or "").startswith(S3_SCHEMES)


class ReadOnlyKeyMissing(WarehouseError):
    """User SQL on S3 without a read-only key: with the writing key, a query could write to the bucket."""


def _create_s3_secret(con: duckdb.DuckDBPyConnection, *, reader: bool = False) -> None:
    """The credentials and endpoint of the data path as a DuckDB secret of this connection only (TEMPORARY: never
    written to ~/.duckdb), scoped to the data path. CREATE SECRET takes no prepared parameters: values with
    quotes or control characters are refused, and an error never repeats the statement (it holds the secret).
    `reader`: the read-only key (HUUNGHI_S3_READ_*), for user SQL, whose connection DuckDB would let write to
    the data path with the writing key; none set is refused rather than falling back to the writing key."""
    env = environment()
    key_id, secret, token = env.s3_key_id, env.s3_secret, env.s3_session_token
    if reader:
        if not (env.s3_read_key_id and env.s3_read_secret):
            raise ReadOnlyKeyMissing(
                "the data files are on S3: `huunghi sql` and `huunghi search` read them with a key that can only "
                "read (HUUNGHI_S3_READ_KEY_ID and HUUNGHI_S3_READ_SECRET), never with the writing key"
            )
        key_id, secret, token = env.s3_read_key_id, env.s3_read_secret, None
    scope = _setting(DATA_PATH_VARIABLE) or ""
    options = {"TYPE": "s3", "SCOPE": scope if scope.endswith("/") else scope + "/"}  # not s3://bucket/prefix-other
    if env.s3_endpoint:
        endpoint = urlsplit(env.s3_endpoint if "://" in env.s3_endpoint else f"https://{env.s3_endpoint}")
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc or endpoint.path.strip("/"):
            raise WarehouseError("the S3 endpoint must be a URL like http://host:9000 (HUUNGHI_S3_ENDPOINT)")
        options |= {"ENDPOINT": endpoint.netloc, "USE_SSL": endpoint.scheme == "https"}
    options["URL_STYLE"] = env.s3_url_style or ("path" if env.s3_endpoint else "vhost")
    for name, value in (("REGION", env.s3_region), ("KEY_ID", key_id)):
        if value:
            options[name] = value
    for name, hidden in (("SECRET", secret), ("SESSION_TOKEN", token)):
        if hidden is not None and hidden.get_secret_value():
            options[name] = hidden.get_secret_value()
    for name, value in options.items():
        if isinstance(value, str) and any(ch in value for ch in "'\"\n\r\x00\\"):
            raise WarehouseError(f"the S3 setting {name} contains quotes or control characters")
    listed = ", ".join(f"{k} {_sql_value(v)}" for k, v in options.items())
    try:
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET {S3_SECRET} ({listed})")
    except duckdb.Error as exc:  # DuckDB's message names the problem, not the values; said without them anyway
        message = str(exc).splitlines()[0]
        for value in (options.get("SECRET"), options.get("SESSION_TOKEN")):
            message = message.replace(value, "***") if value else message
        raise WarehouseError(f"the S3 settings are refused by DuckDB: {message}") from None


def _sql_value(value: str | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else f"'{value}'"


def prepare_catalog(root: Path) -> str | None:
    """Before a writer attaches the embedded catalog: a new warehouse gets its SQLite catalog, in WAL mode (set
    once, it stays in the file), and the old DuckDB-file catalog is migrated. Call it holding the run lock, as
    every writer does. What it did, or None."""
    root = root.resolve()
    if (root / CATALOG_FILE).exists():
        return None
    if (root / LEGACY_CATALOG_FILE).exists():
        return migrate_catalog(root)
    _install(root, lambda tmp: _create_sqlite_catalog(tmp, data_path(root)))
    return f"created {root / CATALOG_FILE}"


def _create_sqlite_catalog(path: Path, data: str) -> None:
    """An empty DuckLake catalog in a new SQLite file in WAL mode, so that readers never block its writer."""
    with _sqlite(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
    con = _duckdb_with_extensions()
    try:
        con.execute(f"ATTACH 'ducklake:sqlite:{path}' AS fresh (DATA_PATH '{data}', DATA_INLINING_ROW_LIMIT 0)")
    finally:
        con.close()


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """Python's own SQLite on a catalog file, only while no DuckDB connection of this process has it open:
    two SQLite libraries in one process do not see each other's locks."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


def _install(root: Path, build: Callable[[Path], object]) -> None:
    """Build the SQLite catalog under a temporary name, then rename it into place: a crash before the rename
    leaves the warehouse as it was (the next writer starts again), never a half-made catalog. One name: writers
    hold the run lock, and the next one removes what a killed one left."""
    tmp = root / f".{CATALOG_FILE}.tmp"
    _remove_sqlite(tmp)
    try:
        build(tmp)
        with _sqlite(tmp) as db:  # everything into the main file: the WAL and index files stay behind
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy or db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                raise WarehouseError(f"could not complete the new catalog {tmp}")
        _remove_sqlite(tmp, main=False)
        _fsync(tmp)
        os.replace(tmp, root / CATALOG_FILE)
        _fsync(root)
    except BaseException:
        _remove_sqlite(tmp)
        raise


def _remove_sqlite(path: Path, *, main: bool = True) -> None:
    for file in ([path] if main else []) + [path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]:
        file.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def migrate_catalog(root: Path) -> str | None:
    """Move the old DuckDB-file catalog (catalog.ducklake) into a SQLite one with its whole history: every row
    of every DuckLake metadata table is copied as it is (DuckLake's backup recipe, COPY FROM DATABASE of the
    metadata database, done table by table into the tables DuckLake itself created in SQLite), so every
    snapshot, time travel and the same data files stay. Checked (row counts per table) before the new catalog
    is renamed into place; the old file is kept beside it as catalog.ducklake.migrated. Hold the run lock."""
    root = root.resolve()
    legacy, target = root / LEGACY_CATALOG_FILE, root / CATALOG_FILE
    if target.exists() or not legacy.exists():
        return None
    _install(root, lambda tmp: _copy_catalog(legacy, tmp, data_path(root)))
    for name in (LEGACY_CATALOG_FILE, LEGACY_CATALOG_FILE + ".wal"):  # readers that have it open keep reading it
        if (root / name).exists():
            os.replace(root / name, root / (name.replace(LEGACY_CATALOG_FILE, LEGACY_CATALOG_FILE + MIGRATED_SUFFIX)))
    return f"migrated {legacy.name} to {target.name} (the old file is kept as {legacy.name}{MIGRATED_SUFFIX})"


def _copy_catalog(legacy: Path, tmp: Path, data: str) -> None:
    _create_sqlite_catalog(tmp, data)  # DuckLake's own tables, with the column types it uses in SQLite
    con = _duckdb_with_extensions()
    try:
        try:
            con.execute(f"ATTACH '{legacy}' AS old (READ_ONLY)")  # read-only: the readers it has now keep reading
        except duckdb.Error as exc:
            if _damaged(exc):
                raise CatalogDamaged(f"the warehouse catalog {legacy} is damaged ({str(exc).splitlines()[0]}): "
                                     "restore it from a backup") from exc  # fmt: skip
            raise
        con.execute(f"ATTACH '{tmp}' AS new (TYPE sqlite)")
        old, new = _metadata_columns(con, "old"), _metadata_columns(con, "new")
        if old != new:
            differ = ", ".join(sorted(t for t in old.keys() | new.keys() if old.get(t) != new.get(t)))
            raise WarehouseError(f"cannot migrate {legacy}: its DuckLake tables differ from this version's: {differ}")
        con.execute("BEGIN TRANSACTION")
        for table, columns in old.items():
            names = ", ".join(f'"{c}"' for c in columns)  # names from the catalogs themselves
            con.execute(f'DELETE FROM new."{table}"')  # the rows of the empty catalog: snapshot 0, its metadata
            con.execute(f'INSERT INTO new."{table}" ({names}) SELECT {names} FROM old."{table}"')
        con.execute("COMMIT")
        for table in old:
            counts = [con.execute(f'SELECT count(*) FROM {db}."{table}"').fetchone()[0] for db in ("old", "new")]
            if counts[0] != counts[1]:
                raise WarehouseError(f"migrating {legacy}: {table} has {counts[1]} rows, not {counts[0]}")
    finally:
        con.close()


def _metadata_columns(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_name LIKE 'ducklake%' ORDER BY table_name, ordinal_position",
        [database],
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


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


def ensure_schema(con: duckdb.DuckDBPyConnection, *, in_transaction: bool = False) -> None:
    """The tables of schema.sql (idempotent: CREATE … IF NOT EXISTS, ADD COLUMN IF NOT EXISTS), in one
    transaction, so one snapshot: statement by statement, a new warehouse's ~20 tables were ~20 commits to the
    catalog (~3 s, paid by every new warehouse; ~0.3 s in one). `in_transaction`: in the caller's, open."""
    if in_transaction:
        con.execute(sql_text("schema.sql"))
        _bound_row_groups(con)
        _sort_tables(con)
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(sql_text("schema.sql"))
        _bound_row_groups(con)
        _sort_tables(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# DuckDB writes a Parquet row group of 122,880 rows by default and holds each whole, per thread, until it is written:
# one INSERT of 200,000 articles of ~5 KB ran out of the run's 1 GB memory_limit (the 200,000-page bench's load).
# Row groups of 10,240 rows keep a text table's write buffers at tens of MB; DuckLake persists the option.
ROW_GROUP_ROWS = 10_240


def _bound_row_groups(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse's Parquet row group size, set once (set again, it would change the catalog every run)."""
    (value,) = con.execute(
        f"SELECT any_value(value) FROM {ALIAS}.options() WHERE option_name = 'parquet_row_group_size' "
        "AND scope = 'GLOBAL'"
    ).fetchone()
    if value != str(ROW_GROUP_ROWS):
        con.execute(f"CALL {ALIAS}.set_option('parquet_row_group_size', {ROW_GROUP_ROWS})")


def _sort_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Each table's sort order (schema.py `SORTED_BY`), set once (set again, it would change the catalog every
    run). A warehouse made before keeps its files as they are; its new files, and its compactions, are sorted."""
    meta = f"__ducklake_metadata_{ALIAS}"
    current = dict(
        con.execute(f"""
        SELECT t.table_name, string_agg(e.expression, ', ' ORDER BY e.sort_key_index)
        FROM {meta}.ducklake_sort_info i JOIN {meta}.ducklake_sort_expression e USING (sort_id, table_id)
        JOIN {meta}.ducklake_table t ON t.table_id = i.table_id AND t.end_snapshot IS NULL
        WHERE i.end_snapshot IS NULL GROUP BY t.table_name""").fetchall()
    )
    for table, column in SORTED_BY.items():
        if current.get(table) != column:  # names from schema.py, never from user input
            con.execute(f'ALTER TABLE "{table}" SET SORTED BY ("{column}" ASC)')


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


def audit_queries(scope: str = "warehouse") -> list[tuple[str, str]]:
    """(name, query) of audit.sql: each counts the rows that break one rule. `scope` "warehouse": over the
    warehouse as a whole (doctor); "run": over one run's keys (the load's audit, see audit.sql's header)."""
    marker = {"warehouse": "name", "run": "run"}[scope]
    parts = re.split(r"^-- (name|run): (\w+)\s*$", sql_text("audit.sql"), flags=re.MULTILINE)
    rules = zip(parts[1::3], parts[2::3], parts[3::3], strict=True)
    return [(name, body.strip().rstrip(";")) for kind, name, body in rules if kind == marker]
