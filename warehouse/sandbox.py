"""A connection for user SQL that cannot write, by construction rather than by statement filtering.

`huunghi sql` hands the user's text to DuckDB. Checking the statement's type is not enough: `EXPLAIN
ANALYZE COPY … TO …` runs the COPY, and DuckLake's table functions (`ducklake_merge_adjacent_files`,
`ducklake_rewrite_data_files`, …) write Parquet files from inside a SELECT. So the connection itself is
made unable to write:

- the catalog (and the search index) are attached READ_ONLY: DuckDB opens those files read-only, so no
  statement can change them;
- the data files are reached only through `ReadOnlyFiles`, a filesystem registered with DuckDB under
  its own protocol that opens files for reading and refuses every write, delete, rename and mkdir, and
  only under the warehouse's data folder;
- every other file access is off (`enable_external_access = false`, the data folder through that
  protocol the only allowed directory): no COPY TO, EXPORT, ATTACH, INSTALL, LOAD or read of the
  user's other files;
- the configuration is locked, so no statement can turn any of this back on.

`check_query` then refuses, with a clear message, what the construction would refuse less clearly or
what crashes DuckDB itself: more than one statement, anything but a query, and DuckLake's maintenance
functions (`ducklake_set_option` on a read-only catalog ends the process in DuckDB 1.5.5).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
from fsspec.implementations.local import LocalFileSystem

from huunghi.settings import environment
from huunghi.warehouse import search, store

PROTOCOL = "huunghi-ro"


class ReadOnlyFiles(LocalFileSystem):
    """Local files under one folder, read-only: DuckDB reads the warehouse's Parquet files through it."""

    protocol = (PROTOCOL,)
    cachable = False  # one instance per folder, never shared through fsspec's instance cache

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder.resolve()

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, str) and path.startswith(f"{PROTOCOL}://"):
            path = path[len(PROTOCOL) + 3 :]
        return super()._strip_protocol(path)

    def _inside(self, path: str) -> str:
        real = Path(self._strip_protocol(path)).resolve()
        if real != self.folder and self.folder not in real.parents:
            raise PermissionError(f"outside the warehouse's data folder: {path}")
        return str(real)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode != "rb":
            raise PermissionError(f"the warehouse is read-only here: {path}")
        return super()._open(self._inside(path), mode, **kwargs)

    def ls(self, path: str, detail: bool = False, **kwargs: Any) -> Any:
        return super().ls(self._inside(path), detail=detail, **kwargs)

    def info(self, path: str, **kwargs: Any) -> Any:
        return super().info(self._inside(path), **kwargs)

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise PermissionError("the warehouse is read-only here")

    rm = rm_file = _rm = rmdir = mkdir = makedirs = mv = cp_file = copy = _refuse
    touch = put_file = pipe_file = link = symlink = _refuse


def data_url(root: Path) -> str:
    """The data folder as DuckDB sees it in a sandboxed connection."""
    return f"{PROTOCOL}://{store.data_path(root)}"


def connect(root: Path, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse (at `snapshot`, else now) as `wh`, the search index as `search` (now only), nothing
    else, and no way to write either. A data path that is a URL (HUUNGHI_DATA_PATH=s3://…) is reached by
    DuckDB itself, allowed only under that prefix: there, read-only credentials are what keeps it read-only."""
    folder = store.data_path(root)
    local = "://" not in folder
    files = ReadOnlyFiles(Path(folder)) if local else None
    con = store.connect(root, read_only=True, snapshot=snapshot, data_url=data_url(root) if local else None,
                        filesystem=files)  # fmt: skip
    try:
        if snapshot is None:
            search.attach(con, root)  # FROM search.search_articles('…')
        allowed = data_url(root) if local else folder
        con.execute("SET TimeZone = ?", [environment().timezone])  # instants stay instants; shown in local time
        con.execute("SET allowed_directories = [?]", [allowed])
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


_REFUSALS = ("read-only", "read only", "disabled by configuration", "configuration has been locked")


def is_refusal(exc: duckdb.Error) -> bool:
    """Whether DuckDB's error is the sandbox saying no (rather than a mistake in the query)."""
    message = str(exc).lower()
    return isinstance(exc, duckdb.PermissionException) or any(r in message for r in _REFUSALS)


class ReadOnlyQuery(ValueError):
    """A user query that is not a single read: `huunghi sql` only reads."""


# DuckLake's functions that only read the catalog; every other `ducklake_*` function maintains or writes it.
READING_DUCKLAKE_FUNCTIONS = frozenset(
    f"ducklake_{name}"
    for name in ("current_snapshot", "last_committed_snapshot", "list_files", "options", "scan", "settings",
                 "snapshots", "table_changes", "table_deletions", "table_info", "table_insertions")
)  # fmt: skip
_EXPLAIN_WORDS = {"explain", "analyze", "analyse"}


def check_query(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Accept one SELECT-like statement (DESCRIBE, SHOW, SUMMARIZE, PRAGMA and FROM-first too), or an
    EXPLAIN [ANALYZE] of one, naming no DuckLake function that writes; raise ReadOnlyQuery otherwise."""
    statements = con.extract_statements(query)
    if len(statements) != 1:
        raise ReadOnlyQuery(f"one statement at a time, not {len(statements)}")
    kind = statements[0].type
    if kind == duckdb.StatementType.EXPLAIN:
        check_query(con, _explained(query))
        return
    if kind != duckdb.StatementType.SELECT:
        raise ReadOnlyQuery(f"{kind.name} statements are refused")
    for _, token_kind, word in _tokens(query):  # any name, wherever it stands (strings are not names)
        name = word.strip('"').lower()
        writes = name.startswith("ducklake_") and name not in READING_DUCKLAKE_FUNCTIONS
        if writes and token_kind != duckdb.token_type.string_const:
            raise ReadOnlyQuery(f"{name} maintains the warehouse; it is refused here")


_WORD = re.compile(r'"(?:[^"]|"")*"|\w+|\S')


def _tokens(query: str) -> list[tuple[int, Any, str]]:
    """DuckDB's own tokens of the query: (offset, type, the token's first word or quoted name)."""
    return [(offset, kind, m.group(0) if (m := _WORD.match(query, offset)) else "")
            for offset, kind in duckdb.tokenize(query)]  # fmt: skip


def _explained(query: str) -> str:
    """The statement an EXPLAIN [ANALYZE] [(options)] statement explains."""
    depth = 0
    for offset, kind, word in _tokens(query):
        if depth == 0 and kind == duckdb.token_type.keyword and word.lower() in _EXPLAIN_WORDS:
            continue
        if kind == duckdb.token_type.operator and word in "()":
            depth += 1 if word == "(" else -1
            continue
        if depth == 0:
            return query[offset:]
    raise ReadOnlyQuery("EXPLAIN of nothing")
