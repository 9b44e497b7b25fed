"""`huunghi doctor`: is the warehouse whole, and what did interrupted writes leave behind?

A warehouse with the old DuckDB-file catalog has it migrated to SQLite first (store.migrate_catalog). The
catalog must open and pass its checks (DuckDB's checksums, SQLite's quick_check); every data file it
references must be there, at its recorded size, ending in Parquet's magic bytes (on S3: listed at its
recorded size); the warehouse rules of audit.sql must hold, over the whole warehouse (a run's load audits only
the rows it wrote and those that refer to them); files in the data path that no snapshot
references (orphans: a run killed while writing, a full disk) are removed — never a referenced one. Runs also
remove orphans before they write (warehouse/write.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from huunghi.settings import DEFAULT_LOCK_WAIT_SECONDS, environment
from huunghi.warehouse import search, store

SHARED_CATALOG_MIN_AGE_HOURS = 24.0  # another machine may be writing a shared catalog's files right now
_SHOWN = 5


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # "ok", "fixed", "note" or "problem"
    detail: str


def examine(root: Path, *, repair: bool = True, lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS) -> list[Finding]:
    """Every check's finding, in order; with `repair`, orphans are removed (holding the run lock)."""
    findings = []
    with store.run_lock(root, lock_wait, say=lambda m: print(f"huunghi: {m}")):
        try:
            if not environment().catalog and (migrated := store.prepare_catalog(root)):
                findings.append(Finding("catalog format", "fixed", migrated))
            con = store.connect(root, read_only=False)  # DuckLake lists orphans only on a writable catalog
        except store.CatalogDamaged as exc:
            return [*findings, Finding("catalog", "problem", str(exc))]
        try:
            snapshot = con.execute(f"SELECT max(snapshot_id) FROM {store.ALIAS}.snapshots()").fetchone()[0]
            findings.append(_catalog(root, snapshot))
            findings.append(_data_files(con, store.data_path(root)))
            findings.append(_audit(con))
            findings.append(_orphans(con, repair))
        finally:
            con.close()
    index = search.state(root)
    findings.append(Finding("search index", "note" if index.behind else "ok", index.line()))
    return findings


def _catalog(root: Path, snapshot: int) -> Finding:
    """What store.connect checked before it opened the catalog (it raises CatalogDamaged otherwise)."""
    checks = (
        "SQLite's quick_check passes" if store.catalog_url(root).startswith("ducklake:sqlite:") else "checksums pass"
    )
    return Finding("catalog", "ok", f"opens, {checks}; snapshot {snapshot}")


def _data_files(con, data_path: str) -> Finding:
    missing, wrong = [], []
    count = 0
    remote = _remote_sizes(con, data_path) if "://" in data_path else {}
    for table in store.table_names(con):
        rows = con.execute(
            "SELECT data_file, data_file_size_bytes, delete_file, delete_file_size_bytes "
            f"FROM ducklake_list_files('{store.ALIAS}', ?)",
            [table],
        ).fetchall()
        for data, data_size, delete, delete_size in rows:
            for path, size in ((data, data_size), (delete, delete_size)):
                if path is None:
                    continue
                count += 1
                if "://" in path:  # an object store (S3): its listing's sizes; Parquet's footer is read by queries
                    if path not in remote:
                        missing.append(path)
                    elif remote[path] != size:
                        wrong.append(f"{path} ({remote[path]} bytes, catalog says {size})")
                    continue
                file = Path(path)
                if not file.is_file():
                    missing.append(path)
                elif file.stat().st_size != size or not _ends_like_parquet(file):
                    wrong.append(f"{path} ({file.stat().st_size} bytes, catalog says {size})")
    if missing or wrong:
        shown = "; ".join([*(f"missing {p}" for p in missing), *(f"damaged {w}" for w in wrong)][:_SHOWN])
        return Finding("data files", "problem", f"{len(missing)} missing, {len(wrong)} damaged of {count}: {shown}")
    return Finding("data files", "ok", f"{count} referenced files present, sizes as recorded")


def _remote_sizes(con, data_path: str) -> dict[str, int]:
    """Every file under an object-store data path and its size, from one listing (read_blob reads no content
    when only names and sizes are asked for)."""
    try:
        return dict(con.execute("SELECT filename, size FROM read_blob(?)", [data_path + "**"]).fetchall())
    except duckdb.IOException as exc:
        if "no files found" in str(exc).lower():
            return {}
        raise


def _ends_like_parquet(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-4, 2)
        return f.read(4) == b"PAR1"


def _audit(con) -> Finding:
    """The rules of audit.sql over the whole warehouse (a run's load audits only its own rows)."""
    rules = store.audit_queries("warehouse")
    try:
        broken = {name: n for name, query in rules if (n := con.execute(query).fetchone()[0])}
    except duckdb.Error as exc:
        return Finding("warehouse rules", "problem", f"cannot be read: {str(exc).splitlines()[0]}")
    if broken:
        return Finding("warehouse rules", "problem", ", ".join(f"{name}: {n} rows" for name, n in broken.items()))
    return Finding("warehouse rules", "ok", f"{len(rules)} rules of audit.sql hold")


def _orphans(con, repair: bool) -> Finding:
    age = SHARED_CATALOG_MIN_AGE_HOURS if environment().catalog else 0.0
    found = store.orphan_files(con, remove=repair, min_age_hours=age)
    if not found:
        return Finding("orphan files", "ok", "none")
    shown = ", ".join(Path(p).name for p in found[:_SHOWN]) + (" …" if len(found) > _SHOWN else "")
    if repair:
        return Finding("orphan files", "fixed", f"removed {len(found)} unreferenced data file(s): {shown}")
    return Finding("orphan files", "problem", f"{len(found)} unreferenced data file(s) (--dry-run kept them): {shown}")
