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

Data files on S3 (HUUNGHI_DATA_PATH=s3://…) are read by DuckDB's httpfs, only under the data path, and
DuckDB would write there too (COPY … TO the prefix works in this connection with a writing key): so the
connection gets the read-only key (HUUNGHI_S3_READ_KEY_ID and HUUNGHI_S3_READ_SECRET) and, without one, no
connection at all (`store.ReadOnlyKeyMissing`, one clear line) rather than the writing key.

One gap the construction leaves: the sqlite extension (the catalog is a SQLite file) opens SQLite files by
itself, whatever `enable_external_access` says, so `ATTACH … (TYPE sqlite)` and `sqlite_scan(…)` work in
this connection. Only `check_query` stops those (no ATTACH; `sqlite_*`/`postgres_*` functions refused).

`check_query` then refuses, with a clear message, what the construction would refuse less clearly or
what crashes DuckDB itself or gets past it: more than one statement, anything but a query, and DuckLake's maintenance
functions in any spelling (`ducklake_set_option('wh', …)`, `wh.set_option(…)`, inside `query('…')`:
`set_option` on a read-only catalog ends the process in DuckDB 1.5.5), checkpoints, and SQL it cannot
read (`json_execute_serialized_sql`, `query()` of anything but one string constant, which DuckDB's own
parser decodes for the screen).

`run` executes the query in a child process (see below): a crash the screen missed is one error line,
a statement time limit and a memory limit hold, Ctrl-C stops it at once, and DuckDB's temp folder (which
DuckDB lets queries read) is a fresh private folder instead of the caller's `<cwd>/.tmp/`.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import math
import os
import pickle
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from fsspec.implementations.local import LocalFileSystem

from huunghi.settings import (
    DEFAULT_QUERY_MEMORY_SHARE,
    DEFAULT_QUERY_SECONDS,
    environment,
    machine_memory,
    parse_memory,
)
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


def connect(
    root: Path, snapshot: int | None = None, *, temp_directory: Path | None = None, memory_limit: int | None = None
) -> duckdb.DuckDBPyConnection:
    """The warehouse (at `snapshot`, else now) as `wh`, the search index as `search` (now only), nothing
    else, and no way to write either. A data path that is a URL (HUUNGHI_DATA_PATH=s3://…) is reached by
    DuckDB itself, allowed only under that prefix, with the read-only key (HUUNGHI_S3_READ_*, required):
    there, the key is what keeps it read-only (DuckDB would COPY TO the prefix with a writing one).

    DuckDB spills to its temp folder and lets queries read it: by default `<cwd>/.tmp/`, the caller's own
    files. Here it is `temp_directory` (a private folder, which the caller removes), else none (no spilling).
    `memory_limit` (bytes) bounds DuckDB's buffers; its default is 80 % of the machine's memory."""
    folder = store.data_path(root)
    local = "://" not in folder
    files = ReadOnlyFiles(Path(folder)) if local else None
    con = store.connect(root, read_only=True, snapshot=snapshot, data_url=data_url(root) if local else None,
                        filesystem=files, s3_reader=not local)  # fmt: skip
    try:
        if snapshot is None:
            search.attach(con, root)  # FROM search.search_articles('…')
        allowed = data_url(root) if local else folder
        con.execute("SET TimeZone = ?", [environment().timezone])  # instants stay instants; shown in local time
        con.execute("SET temp_directory = ?", [str(temp_directory) if temp_directory else ""])
        con.execute("SET enable_progress_bar = false")  # it would write to stdout, among the rows
        if memory_limit is not None:
            con.execute(f"SET memory_limit = '{int(memory_limit)}B'")
        con.execute("SET allowed_directories = [?]", [allowed])
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


_REFUSALS = ("read-only", "read only", "readonly", "disabled by configuration", "configuration has been locked")


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
    _screen(con, query, _writing_names(con))


def _writing_names(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """DuckLake's functions that write, in both spellings: `ducklake_set_option('wh', …)` and the
    catalog's own `wh.set_option(…)` (also bare, `wh` being the default catalog)."""
    rows = con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name LIKE 'ducklake\\_%' ESCAPE '\\'"
    ).fetchall()
    writing = {name for (name,) in rows} - READING_DUCKLAKE_FUNCTIONS
    return frozenset(writing | {name.removeprefix("ducklake_") for name in writing})


MAX_NESTING = 8  # query('… query(''…'') …') within query(): deeper is refused rather than screened
# Checkpoints write (on a DuckLake catalog: its maintenance); json_execute_serialized_sql runs SQL given as a
# tree, which the screen does not read.
_MAINTAINING = frozenset({"checkpoint", "force_checkpoint"})
_UNCHECKED = frozenset({"json_execute_serialized_sql"})
# The catalog's database extensions read any database file or server they are pointed at (sqlite_scan of
# Prefect's own database, postgres_query of another server), whatever enable_external_access says.
_OTHER_DATABASES = ("sqlite_", "postgres_")


def _screen(con: duckdb.DuckDBPyConnection, query: str, writing: frozenset[str], depth: int = 0) -> None:
    """Refuse any call of a writing DuckLake function, however spelled (any case, quoted, catalog- or
    schema-qualified), also inside the SQL strings that `query()` and `query_table()` run. A name that
    is built at run time (`query('…' || '…')`) cannot be seen: `query()` takes one plain string here."""
    if depth > MAX_NESTING:
        raise ReadOnlyQuery("queries nested this deep in query() are refused")
    tokens = _tokens(query)
    for i, (_, kind, word) in enumerate(tokens):
        if kind == duckdb.token_type.string_const:
            continue
        name = word.strip('"').lower()
        called = i + 1 < len(tokens) and tokens[i + 1][2] == "("
        if (name.startswith("ducklake_") and name not in READING_DUCKLAKE_FUNCTIONS) or (
            called and (name in writing or name in _MAINTAINING)
        ):
            raise ReadOnlyQuery(f"{name} maintains the warehouse; it is refused here")
        if called and name.startswith(_OTHER_DATABASES):
            raise ReadOnlyQuery(f"{name} reads other databases than the warehouse; it is refused here")
        if called and name in _UNCHECKED:
            raise ReadOnlyQuery(f"{name} runs SQL that cannot be checked; it is refused here")
        if called and name in ("query", "query_table"):
            for text in _string_arguments(con, query, tokens, i + 2, single=name == "query"):
                _screen(con, text, writing, depth + 1)


def _string_arguments(
    con: duckdb.DuckDBPyConnection, query: str, tokens: list[tuple[int, Any, str]], start: int, *, single: bool
) -> list[str]:
    """The text of the string constants among a call's arguments (tokens from `start` to the closing
    parenthesis); with `single`, the arguments must be exactly one string constant."""
    texts, depth, count = [], 0, 0
    for j in range(start, len(tokens)):
        offset, kind, word = tokens[j]
        if kind == duckdb.token_type.operator and word in ("(", ")"):
            depth += 1 if word == "(" else -1
            if depth < 0:
                break
        count += 1
        if kind == duckdb.token_type.string_const:
            end = tokens[j + 1][0] if j + 1 < len(tokens) else len(query)
            texts.append(_string_value(con, query[offset:end]))
    if single and (count != 1 or len(texts) != 1):
        raise ReadOnlyQuery("query() takes one plain string here")
    return texts


def _string_value(con: duckdb.DuckDBPyConnection, token: str) -> str:
    """The value of one string constant as DuckDB's parser reads it (E'' escapes, $$ quotes, literals joined
    across a newline, comments after it), parsed, never run; a token that does not parse as exactly one
    string constant is refused: what cannot be read cannot be checked."""
    (tree,) = con.execute("SELECT json_serialize_sql(?)", [f"SELECT {token}\n"]).fetchone()  # type: ignore[misc]
    parsed = json.loads(tree)
    try:
        (statement,) = parsed["statements"]
        node = statement["node"]
        (item,) = node["select_list"]
        value = item["value"]
        plain = (node["type"] == "SELECT_NODE" and node["from_table"]["type"] == "EMPTY" and item["class"] == "CONSTANT"
                 and value["type"]["id"] == "VARCHAR" and not value["is_null"])  # fmt: skip
    except (KeyError, TypeError, ValueError):
        plain = False
    if parsed.get("error") or not plain:
        raise ReadOnlyQuery(f"a string that cannot be checked: {token.strip()[:60]}")
    return value["value"]


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


# ---- Running user SQL in a child process --------------------------------------------------------------
# What the construction above cannot prevent is DuckDB itself failing: a crash (a segmentation fault in an
# extension), a query that runs for hours or takes the machine's memory. So `huunghi sql` runs the query in
# a child process: a crash ends the child, not the command (one line, nothing written: the child could not
# write); the parent stops the child when the time limit passes or on Ctrl-C (the child is in its own
# process group, so the terminal's Ctrl-C reaches only the parent). The child ends by itself when the parent
# dies (its stdin closes). DuckDB's temp folder is a fresh private folder, removed afterwards.

DEFAULT_TIMEOUT_SECONDS = DEFAULT_QUERY_SECONDS
DEFAULT_MEMORY_SHARE = DEFAULT_QUERY_MEMORY_SHARE


def default_memory_limit() -> int:
    return int(machine_memory() * DEFAULT_MEMORY_SHARE)


def _size_text(size: int) -> str:
    return f"{size / 10**9:.3g} GB" if size >= 10**9 else f"{size / 10**6:.3g} MB"


@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT_SECONDS  # seconds the statement may run (not counting the connection)
    memory: int | None = None  # bytes for DuckDB; None: default_memory_limit()


def limits_of(timeout: float | None, memory: str | None) -> Limits:
    """The limits of `--timeout` and `--memory-limit` (None: the default); ValueError saying which is wrong."""
    timeout = DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"--timeout must be a positive number of seconds, not {timeout:g}")
    try:
        return Limits(timeout=timeout, memory=parse_memory(memory) if memory else None)
    except ValueError as exc:
        raise ValueError(f"--memory-limit: {exc}") from None


class QueryFailed(Exception):
    """A user query that gave no rows: its one-line reason, and the command's exit code."""

    code = 2


class QueryRefused(QueryFailed):
    """The sandbox said no: the query would write, or reach outside the warehouse."""


class QueryTimedOut(QueryFailed):
    pass


class QueryOutOfMemory(QueryFailed):
    pass


class QueryCrashed(QueryFailed):
    pass


@dataclass(frozen=True)
class Answer:
    columns: list[str]
    rows: list[tuple]


def run(
    root: Path,
    query: str,
    *,
    snapshot: int | None = None,
    params: list[Any] | None = None,
    screen: bool = True,
    limits: Limits = Limits(),
) -> Answer:
    """The query's columns and rows, computed in a sandboxed connection in a child process; QueryFailed
    (or a subclass) with a one-line reason otherwise. `screen`: check_query first (user SQL); queries of
    our own (search) pass their values as `params`. KeyboardInterrupt stops the child and propagates."""
    memory = limits.memory or default_memory_limit()
    folder = Path(tempfile.mkdtemp(prefix="huunghi-sql-"))  # private (0700): DuckDB's spill files
    try:
        request = {"root": str(root), "query": query, "snapshot": snapshot, "params": params, "screen": screen,
                   "memory": memory, "temp": str(folder / "spill")}  # fmt: skip
        # -P: nothing is imported from the current folder. stderr is shared: "waiting for the warehouse
        # catalog…" reaches the user as it happens.
        child = subprocess.Popen(
            [sys.executable, "-P", "-c", "from huunghi.warehouse.sandbox import child; child()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"},
        )  # fmt: skip
        try:
            return _answer(child, request, limits.timeout, memory)
        finally:
            if child.poll() is None:
                child.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):  # killed: it ends unless the kernel holds it
                child.wait(timeout=KILL_WAIT_SECONDS)
            # stdout only once the child has ended: the reading thread holds it until its end
            for stream in (child.stdin, child.stdout) if child.returncode is not None else (child.stdin,):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _answer(child: subprocess.Popen, request: dict, timeout: float, memory: int) -> Answer:
    """Send the request, wait for the child's messages: ("ready",) once connected and the query accepted,
    then ("rows", columns, rows) or ("failed", kind, message)."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(request).encode() + b"\n")
    child.stdin.flush()  # stdin stays open: its end tells the child that the parent is gone
    messages: queue.Queue = queue.Queue()
    threading.Thread(target=_read_messages, args=(child.stdout, messages), daemon=True).start()
    try:
        message = _next(messages, CONNECT_SECONDS)
    except queue.Empty:
        raise QueryFailed(f"the query's process did not connect within {CONNECT_SECONDS:g} s") from None
    if message == ("ready",):
        try:
            message = _next(messages, timeout)
        except queue.Empty:
            raise QueryTimedOut(f"the query was stopped at its time limit of {timeout:g} s (--timeout)") from None
    if message is None:  # the child ended without an answer
        try:
            code = child.wait(timeout=KILL_WAIT_SECONDS)  # its output ended: it is ending
        except subprocess.TimeoutExpired:
            raise QueryFailed("the query's process stopped answering") from None
        if code < 0:
            name = signal.Signals(-code).name
            raise QueryCrashed(f"the query crashed DuckDB (signal {-code}, {name}); nothing was written")
        raise QueryFailed(f"the query's process ended without an answer (exit {code})")
    if message[0] == "rows":
        return Answer(message[1], message[2])
    kind, text = message[1], message[2]
    if kind == "memory":
        raise QueryOutOfMemory(f"the query needs more memory than its limit of {_size_text(memory)} "
                               f"(--memory-limit): {text}")  # fmt: skip
    raise (QueryRefused if kind == "refused" else QueryFailed)(text)


# The connection's own wait for a busy catalog (store.READER_WAIT_SECONDS), and a margin for the child's start.
CONNECT_SECONDS = store.READER_WAIT_SECONDS + 120.0
# The main thread never sleeps longer than this at once. A Ctrl-C whose handler runs just before the thread
# blocks (or in another thread) does not wake it; Python acts on it when the thread next wakes. A queue
# waited on whole (minutes: the query's time limit) kept `huunghi sql` running after Ctrl-C, silent.
WAKE_SECONDS = 0.1
KILL_WAIT_SECONDS = 10.0  # a killed child ends at once, unless the kernel holds it (a disk stuck)


def _next(messages: queue.Queue, seconds: float) -> Any:
    """The next message within `seconds` (queue.Empty otherwise), waking every WAKE_SECONDS."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(queue.Empty):
            return messages.get(timeout=min(left, WAKE_SECONDS))
    raise queue.Empty


def _read_messages(stream: Any, messages: queue.Queue) -> None:
    """Each pickled message of the child (our own code's output: its rows are values DuckDB returned), then
    None at the end of the stream."""
    try:
        while True:
            messages.put(pickle.load(stream))
    except (EOFError, OSError, pickle.UnpicklingError, ValueError):
        messages.put(None)


def child() -> None:
    """The child's side of run(): one request on stdin, messages on stdout, then a quick exit."""
    faulthandler.disable()  # a crash is reported by the parent, in one line
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it stops the child
    out = os.fdopen(os.dup(1), "wb")  # the messages' own pipe; whatever else writes to stdout goes to stderr
    os.dup2(2, 1)
    request = json.loads(sys.stdin.buffer.readline())
    threading.Thread(target=_exit_with_parent, daemon=True).start()

    def send(message: tuple) -> None:
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)  # whole, or nothing written
        except MemoryError:
            data = pickle.dumps(("failed", "memory", "the result does not fit"))
        out.write(data)
        out.flush()

    send(_run_here(request, send))
    os._exit(0)


def _exit_with_parent() -> None:
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(1)


def _run_here(request: dict, send: Any) -> tuple:
    """Connect, screen, run and fetch in this process: ("rows", columns, rows) or ("failed", kind, text)."""
    refused = "`huunghi sql` only reads the warehouse: "
    temp = Path(request["temp"])
    try:
        con = connect(Path(request["root"]), request["snapshot"], temp_directory=temp, memory_limit=request["memory"])
    except store.WarehouseError as exc:
        return ("failed", "error", str(exc))
    except duckdb.Error as exc:
        return ("failed", "error", _first_line(exc))
    try:
        if request["screen"]:
            check_query(con, request["query"])
        _bound_memory(request["memory"])
        send(("ready",))
        cursor = con.execute(request["query"], request["params"])
        columns = [d[0] for d in cursor.description or []]
        return ("rows", columns, cursor.fetchall() if columns else [])
    except ReadOnlyQuery as exc:
        return ("failed", "refused", refused + str(exc))
    except (duckdb.OutOfMemoryException, MemoryError) as exc:
        return ("failed", "memory", _first_line(exc) or "the result does not fit")
    except duckdb.Error as exc:
        if is_refusal(exc):
            return ("failed", "refused", refused + _first_line(exc))
        return ("failed", "error", _first_line(exc))
    finally:
        con.close()


def _bound_memory(memory: int) -> None:
    """A backstop for what DuckDB's memory limit does not count (the rows as Python values, some operators'
    own allocations): the address space may grow by 1.5 times the limit and 512 MiB, then allocations fail
    (MemoryError, or DuckDB's out-of-memory error) instead of the machine swapping or its OOM killer
    choosing a victim."""
    try:
        with open("/proc/self/status") as f:  # Linux; elsewhere DuckDB's limit alone
            size = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")), None)
    except OSError:
        size = None
    if size is not None:
        resource.setrlimit(resource.RLIMIT_AS, (size + int(memory * 1.5) + 512 * 2**20, resource.RLIM_INFINITY))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
