"""The `huunghi` command: run the pipeline, query the warehouse, generate a corpus."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import csv
import json
import logging
import os
import signal
import stat
import sys
import threading
import traceback
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from huunghi.settings import DAILY_CRON, DEFAULT_BATCH_SIZE, DEFAULT_LOCK_WAIT_SECONDS, TIMEZONE

if TYPE_CHECKING:
    from pydantic import ValidationError

EXAMPLE_QUERY = "SELECT title, published_at FROM articles ORDER BY published_at DESC LIMIT 5"


def _fail(message: str, code: int = 2) -> int:
    if not _signalled():  # an interrupted command says one line, the interruption's
        print(f"huunghi: error: {message}", file=sys.stderr)
    return code


def _signalled() -> bool:
    return _watch is not None and _watch.signum is not None


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


STARTUP_TIMEOUT_SECONDS = "120"  # the first start of a Prefect database migrates it


def _prefect_environment():
    """Quiet defaults for a local run (Prefect needs its home folder for its database); starts the temporary
    Prefect server unless one is named, so that it boots while the command imports (huunghi.flows.api)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_TIMEOUT_SECONDS)
    if home := os.environ.get("PREFECT_HOME"):
        Path(home).expanduser().mkdir(parents=True, exist_ok=True)
    from huunghi.flows.api import start_local_server

    return start_local_server()


def _ready(server) -> None:
    """Before the flow: the server up (Great Expectations is imported meanwhile, in its helper: _interruptible)."""
    if server is not None:
        server.hand_to_prefect(float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))


class _TerminalFilter(logging.Filter):
    """What the terminal is spared (the run's record on the server keeps all of it): the engine's tracebacks
    and 'Finished in state Failed' lines — the command ends with one line that says what failed (--verbose
    shows them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (record.exc_info or message.startswith("Finished in state Failed"))


def quiet_terminal(level: int) -> None:
    """Terminal verbosity on Prefect's console handlers only: the loggers keep their level, so the server
    the run reports to still receives its INFO logs (the run page in the UI shows them)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in logging.root.manager.loggerDict)]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(level)
                if not any(isinstance(f, _TerminalFilter) for f in handler.filters):
                    handler.addFilter(_TerminalFilter())


INTERRUPT_GRACE_SECONDS = 3.5  # a signal ends `huunghi run` within this, whatever its threads are doing
_watch = None  # the command's huunghi.interrupts.Watch: script() ends an interrupted command at once


class _RunProgress:
    """What the flow reports of its progress: drawn (unless -q), and what an interrupted run's line needs —
    the flow run (the load's commit message names it) and whether the run reached the load."""

    def __init__(self) -> None:
        self.draw = None
        self.run_id: str | None = None
        self.loading = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.run_id is None:  # called in the flow's own thread: its context names the run
            from prefect.context import FlowRunContext

            context = FlowRunContext.get()
            self.run_id = str(context.flow_run.id) if context and context.flow_run else None
        self.loading = self.loading or stage == "load"
        if self.draw is not None:
            self.draw(stage, done, total)


def _hush() -> None:
    """After a signal only its one line is said: no log lines, no progress bars."""
    from huunghi import progress

    progress.stop_drawing()
    if "prefect.logging.handlers" in sys.modules:
        quiet_terminal(logging.CRITICAL + 1)


def _catch_signals(fallback, grace: float):
    global _watch
    from huunghi import interrupts

    _watch = interrupts.install(fallback, grace, _hush)
    return _watch


def _interrupted(args: argparse.Namespace, seen: _RunProgress, signum: int, *, look: bool) -> str:
    """The one line of an interrupted run: whether it published (looked up in the warehouse when `look`)."""
    said = f"huunghi: interrupted ({signal.Signals(signum).name})"
    when = " during the load, before its commit" if seen.loading else " before the load"
    when = " (a dry run)" if args.dry_run else when
    snapshot = _snapshot_of(args.warehouse, seen.run_id) if look and not args.dry_run else None
    if snapshot is None and (look or args.dry_run or not seen.loading):
        return f"{said}{when}: nothing published, the warehouse is as it was"
    if snapshot is None:
        return f"{said} during the load: the warehouse holds all of the run or nothing of it (see its `runs` table)"
    return (f"{said} after the load: the run is published (snapshot {snapshot}); the search index and the run "
            "summary may lag, the next run or `huunghi search` catches up")  # fmt: skip


def _snapshot_of(warehouse: str | None, run_id: str | None) -> int | None:
    """The snapshot the run committed, if it did (its commit message names it: warehouse/write.py)."""
    from huunghi.warehouse import store

    if run_id is None:
        return None
    root = store.check_location(warehouse, create=True)
    if not store.has_catalog(root):
        return None
    con = store.connect(root, read_only=True)
    try:
        return con.execute(f"SELECT max(snapshot_id) FROM {store.ALIAS}.snapshots() WHERE commit_message = ?",
                           [f"run {run_id}"]).fetchone()[0]  # fmt: skip
    finally:
        con.close()


def cmd_run(args: argparse.Namespace) -> int:
    return _interruptible(args, _run_once)


def _interruptible(args: argparse.Namespace, body) -> int:
    """A command that runs the flow: SIGINT or SIGTERM at any point ends it within seconds, with one line
    that says whether the run was published, and exit 130 or 143."""
    from huunghi import progress
    from huunghi.quality import helper

    helper.start()  # Great Expectations is imported there meanwhile, on the other core (its gates run there)
    seen = _RunProgress()
    watch = _catch_signals(lambda signum: _interrupted(args, seen, signum, look=False), INTERRUPT_GRACE_SECONDS)
    try:
        code = body(args, seen)
    except BaseException:
        progress.listen(None)
        if watch.signum is None:
            watch.uninstall()
            raise
        code = 0
    finally:
        helper.stop()
    if watch.signum is not None:  # whatever the flow made of it (a crash, a task's error, a warning, success)
        return watch.finish(_interrupted(args, seen, watch.signum, look=True))
    progress.listen(None)
    watch.uninstall()
    return code


# httpcore (under httpx, Prefect's client and the crawler) imports trio at its own import when it is installed (the
# dev tools bring it), for clients run under trio's event loop, which a run never has: it loads on first use instead.
UNUSED_AT_IMPORT = ("trio",)


def _defer_unused() -> None:
    from huunghi.quality.gates import _defer

    for name in UNUSED_AT_IMPORT:
        _defer(name)


def _run_once(args: argparse.Namespace, seen: _RunProgress) -> int:
    server = _prefect_environment()
    _defer_unused()
    from pydantic import ValidationError

    try:
        return _run(args, server, seen)
    except ValidationError as exc:  # a setting out of its range: say which and why, on one line
        return _fail(_invalid(exc))
    except Exception as exc:  # anything unforeseen: one clear line; the traceback on request
        if args.verbose:
            traceback.print_exc()
        return _fail(f"{type(exc).__name__}: {exc}" + ("" if args.verbose else " (--verbose shows the traceback)"), 1)


def _run(args: argparse.Namespace, server, seen: _RunProgress) -> int:
    from huunghi import progress
    from huunghi.crawl import sources as web
    from huunghi.crawl.fetcher import refusal_reason
    from huunghi.flows.pipeline import NothingRead, pipeline
    from huunghi.progress import Bars
    from huunghi.quality.gates import GateFailed
    from huunghi.readers import SourceError
    from huunghi.warehouse import store

    # Before starting Prefect: a typo should cost a second, not a server start.
    missing = [s for s in args.source or [] if not web.is_url(s) and not Path(s).expanduser().exists()]
    if missing:
        return _fail(f"source not found: {missing[0]}")
    try:
        for url in filter(web.is_url, args.source or []):
            source = web.from_url(url, args.allow_private)
            host = next(iter(source.allowed_hosts))
            if why := refusal_reason(host, args.allow_private):
                return _fail(why + ("" if args.allow_private else "; --allow-private lets a URL source reach it"))
        if args.sources_file:
            web.load(Path(args.sources_file))
        store.check_location(args.warehouse, create=True)
        _ready(server)
        if not args.verbose:  # progress bars (or, with -q, nothing) instead of log lines
            quiet_terminal(logging.CRITICAL + 1 if args.quiet else logging.WARNING)
        with Bars() if not args.quiet else contextlib.nullcontext() as bars:
            seen.draw = bars
            progress.listen(seen)
            summary = pipeline(
                sources=args.source or [],
                warehouse=args.warehouse,
                batch_size=args.batch_size,
                sources_file=args.sources_file,
                allow_private=args.allow_private,
                offline=args.offline,
                lock_wait_seconds=args.lock_wait,
                since=args.since,
                dry_run=args.dry_run,
                gate_strictness=args.gate_strictness,
                dask=args.dask,
            )
    except GateFailed as exc:
        return _stopped(exc, args.warehouse)
    except NothingRead as exc:  # published what it learned, but read nothing: not a success
        return _fail(str(exc), 1)
    except (SourceError, store.WarehouseError, web.SourceConfigError) as exc:
        return _fail(str(exc))
    if not args.quiet:
        _print_summary(summary)
        if summary.nothing_new:
            print(summary.nothing_new)
        print(f'Try:  huunghi sql "{EXAMPLE_QUERY}"')
    for warning in [] if _signalled() else summary.warnings:  # published, but something after it failed: said
        print(f"huunghi: warning: {warning}", file=sys.stderr)  # even with -q (an interruption says its line)
    return 0


def _print_summary(summary) -> None:
    """The run's summary as tables: stages (pages, seconds, rate), gates, quarantine, rows per table."""
    from rich.console import Console
    from rich.table import Table

    from huunghi.quality.report import report_path
    from huunghi.warehouse import store

    report = json.loads(report_path(Path(summary.warehouse), summary.run_id).read_text("utf-8"))
    con = store.connect(Path(summary.warehouse), read_only=True)
    try:
        counts = store.row_counts(con)
    finally:
        con.close()
    console = Console(width=max(100, os.get_terminal_size(0).columns if sys.stdout.isatty() else 120))
    stages = Table("stage", "pages", "seconds", "pages/s", "counts", title=f"Run {summary.run_id}: {report['status']}")
    for stage, seconds in summary.stage_seconds.items():
        done = report["counts"].get(stage, {})
        pages = done.get("pages", done.get("articles", done.get("pages_in", summary.pages)))
        rate = f"{pages / seconds:,.0f}" if seconds > 0 and stage != "gates" else ""
        shown = ", ".join(f"{k} {v}" for k, v in done.items())
        stages.add_row(stage, str(pages), f"{seconds:.2f}", rate, shown)
    console.print(stages)
    if report["gates"]:  # a run with nothing new passes no gate
        gates = Table("gate", "rows", "outcome", "quarantined", "seconds")
        for g in report["gates"]:
            outcome = "passed" if g["passed"] else "failed"
            gates.add_row(g["suite"], str(g["rows"]), outcome + (" (warnings)" if g["warnings"] else ""),
                          str(g["quarantined"]), f"{g['seconds']:.2f}")  # fmt: skip
        console.print(gates)
    if report["quarantine"]:
        reasons = Table("stage/reason", "inputs", title="Quarantined in this run")
        for key, n in report["quarantine"].items():
            reasons.add_row(key, str(n))
        console.print(reasons)
    rows = Table("table", "rows", title=f"Warehouse {summary.warehouse}")
    for table, n in counts.items():
        rows.add_row(table, str(n))
    console.print(rows)
    print(f"Run summary: {report_path(Path(summary.warehouse), summary.run_id)}")
    if report.get("data_docs"):
        print(f"Data Docs:   {report['data_docs']}")


def _stopped(exc: Exception, warehouse: str | None) -> int:
    """A stopped run: one error line, then where its summary and Data Docs are."""
    code = _fail(str(exc))
    if getattr(exc, "outcome", None) is not None:
        from huunghi.quality.gates import QUALITY_DIR
        from huunghi.warehouse import store

        root = store.check_location(warehouse, create=True)  # the run created it, perhaps without a catalog
        print(f"Run summaries and Data Docs: {root / QUALITY_DIR}", file=sys.stderr)
    return code


def cmd_sql(args: argparse.Namespace) -> int:
    """The query runs in a sandboxed child process (huunghi.warehouse.sandbox): it cannot write, a DuckDB crash
    is one line, the time and memory limits hold, and Ctrl-C stops it (exit 130)."""
    try:
        import duckdb

        from huunghi.warehouse import sandbox, store

        limits = sandbox.limits_of(args.timeout, args.memory_limit)
        root = store.check_location(args.warehouse, create=False)
        snapshot = store.snapshot_of_run(root, args.at_run) if args.at_run else args.snapshot
        answer = sandbox.run(root, args.query, snapshot=snapshot, limits=limits)
    except KeyboardInterrupt:
        return _fail("interrupted: the query was stopped", 130)
    except (ValueError, sandbox.QueryFailed) as exc:  # WarehouseError is a ValueError
        return _fail(str(exc))
    except duckdb.Error as exc:
        return _fail(str(exc).splitlines()[0])
    _print_rows(answer.columns, answer.rows, args.format)
    return 0


def _print_rows(columns: list[str], rows: list[tuple], fmt: str) -> None:
    """`huunghi sql … | head` ends quietly: SIGPIPE's default only while printing (a crawl in the same
    process must get EPIPE on a closed socket, not die)."""
    previous = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        _print_rows_now(columns, rows, fmt)
    finally:
        signal.signal(signal.SIGPIPE, previous)


def _print_rows_now(columns: list[str], rows: list[tuple], fmt: str) -> None:
    if fmt == "json":
        print(
            json.dumps(
                [{c: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows],
                ensure_ascii=False,
                indent=1,
            )
        )
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_jsonable(v) for v in row] for row in rows])
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, show_lines=False)
        for row in rows:
            table.add_row(*["" if v is None else str(_jsonable(v)) for v in row])
        Console(width=max(120, os.get_terminal_size(0).columns if sys.stdout.isatty() else 160)).print(table)
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


SERVE_GRACE_SECONDS = 8.0  # a signal ends `huunghi serve` within this, even when its server went away


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT: Prefect's runner stops its polling loops and flow runs; when it cannot
    (its server gone, its client retrying), the command still ends SERVE_GRACE_SECONDS after the signal."""
    said = "huunghi: serve stopped ({})"
    watch = _catch_signals(lambda signum: said.format(signal.Signals(signum).name), SERVE_GRACE_SECONDS)
    try:
        code = _serve(args)
    except BaseException:
        if watch.signum is None:
            watch.uninstall()
            raise
        code = 0
    if watch.signum is not None:
        return watch.finish(said.format(signal.Signals(watch.signum).name))
    watch.uninstall()
    return code


def _serve(args: argparse.Namespace) -> int:
    """Serve the deployments to the Prefect server in PREFECT_API_URL (a real server: its UI runs them)."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    from huunghi.settings import RunSettings
    from huunghi.warehouse import store

    if not PREFECT_API_URL.value():
        return _fail(
            "PREFECT_API_URL is not set: start a server (`prefect server start`) and "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api` (see the README)"
        )
    try:
        root = store.check_location(args.warehouse, create=True)
        from huunghi.crawl import sources as web

        settings = RunSettings(  # paths made absolute: flow runs start in their own process
            sources=[s if web.is_url(s) else str(Path(s).expanduser().resolve()) for s in args.source or []],
            sources_file=str(Path(args.sources_file).resolve()) if args.sources_file else None,
            warehouse=str(root),
            allow_private=args.allow_private,
        )
    except store.WarehouseError as exc:
        return _fail(str(exc))
    from huunghi.flows.deployments import serve_deployments

    api = PREFECT_API_URL.value()
    try:  # as Prefect's client will reach it (httpx, the environment's proxy settings)
        httpx.get(f"{api}/health", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        return _fail(f"no Prefect server answers at PREFECT_API_URL={api} ({exc}): "
                     "start one (`prefect server start`) or correct the URL")  # fmt: skip
    serve_deployments(settings, args.cron, args.timezone)
    return 0


def _selection(args: argparse.Namespace):
    from huunghi.settings import Selection

    return Selection(reason=args.reason, stage=args.stage, run_id=args.run, source_contains=args.source_contains)


def cmd_quarantine(args: argparse.Namespace) -> int:
    from huunghi.warehouse import store
    from huunghi.warehouse.reads import read_quarantined

    if args.save_raw is not None and not args.save_raw.strip():
        return _fail("--save-raw needs a folder")
    try:
        root = store.check_location(args.warehouse, create=False)
        rows = read_quarantined(root, _selection(args))
        if args.save_raw is not None:
            saved = _save_raw(rows, Path(args.save_raw))
    except (store.WarehouseError, OSError) as exc:
        return _fail(str(exc))
    if args.summary:
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            counts[row["stage"], row["reason"]] = counts.get((row["stage"], row["reason"]), 0) + 1
        _print_rows(["stage", "reason", "inputs"], [(*k, n) for k, n in sorted(counts.items())], args.format)
    else:
        width = None if args.format != "table" else 100
        shown = [
            (r["source_uri"], r["stage"], r["reason"], (r["details"] or "")[:width], len(r["raw"] or b""), r["run_id"])
            for r in rows
        ]
        _print_rows(["source_uri", "stage", "reason", "details", "raw_bytes", "run_id"], shown, args.format)
    if args.save_raw is not None:
        print(f"{saved} raw cop{'y' if saved == 1 else 'ies'} written to {args.save_raw}", file=sys.stderr)
    return 0


def _save_raw(rows: list[dict], folder: Path) -> int:
    """Each kept raw copy as a file named by its source's hash, for a look with other tools."""
    import hashlib

    if folder.exists() and not folder.is_dir():
        raise OSError(f"not a folder: {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    saved = 0
    for row in rows:
        if row["raw"] is None:
            continue
        name = hashlib.sha256(row["source_uri"].encode()).hexdigest()[:16] + (".txt" if row["format"] else ".raw")
        _write_new(folder / name, bytes(row["raw"]))
        saved += 1
    return saved


def _write_new(path: Path, data: bytes) -> None:
    """Write `path` as a regular file, never through what is planted at its name: a symbolic link is not
    followed (O_NOFOLLOW), a FIFO or device is not opened for good (O_NONBLOCK, then the file's type)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if path.is_symlink() or not path.is_file():
            raise OSError(f"refusing to write {path}: something that is not a regular file is there") from exc
        raise
    with os.fdopen(fd, "wb") as out:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"refusing to write {path}: something that is not a regular file is there")
        out.truncate()
        out.write(data)


def cmd_reprocess(args: argparse.Namespace) -> int:
    return _interruptible(args, _reprocess)


def _reprocess(args: argparse.Namespace, seen: _RunProgress) -> int:
    from huunghi import progress
    from huunghi.quality.gates import GateFailed
    from huunghi.settings import Selection
    from huunghi.warehouse import store
    from huunghi.warehouse.reads import read_quarantined

    try:
        root = store.check_location(args.warehouse, create=False)
        selection = _selection(args)
        before = read_quarantined(root, selection)
        if not before:
            print("nothing to reprocess: no quarantined input matches")
            return 0
        if args.dry_run:
            _print_rows(["source_uri", "stage", "reason"], [(r["source_uri"], r["stage"], r["reason"]) for r in before],
                        "table")  # fmt: skip
            return 0
        server = _prefect_environment()
        from huunghi.flows.pipeline import pipeline

        _ready(server)
        progress.listen(seen)
        summary = pipeline(warehouse=str(root), reprocess=selection, allow_private=args.allow_private)
    except GateFailed as exc:
        return _stopped(exc, str(args.warehouse) if args.warehouse else None)
    except store.WarehouseError as exc:
        return _fail(str(exc))
    still = {r["source_uri"] for r in read_quarantined(root, Selection())}
    left = sum(1 for r in before if r["source_uri"] in still)
    _print_summary(summary)
    print(f"Reprocessed {len(before)} quarantined input(s): {len(before) - left} left the quarantine, {left} remain.")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from huunghi.corpus import generate

    args.format = args.format or ["text"]
    out = generate(Path(args.out), args.pages, args.seed, tuple(args.format))
    print(f"{args.pages} pages ({', '.join(args.format)}) and truth.jsonl written to {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    server = _prefect_environment() if args.corpus in ("mirror", "both") else None  # only the mirror runs a flow
    from huunghi.flows.evaluate import evaluate, evaluate_adversarial, report

    if args.corpus in ("mirror", "both"):
        _ready(server)
        quiet_terminal(logging.WARNING)
        print(report(evaluate(args.pages, args.seed, args.batch_size, args.format)))
    if args.corpus in ("adversarial", "both"):
        if args.corpus == "both":
            print()
        print(evaluate_adversarial(args.pages, args.seed))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """The index is brought up to date here, then searched in the same sandbox as `huunghi sql`."""
    try:
        import duckdb

        from huunghi.warehouse import sandbox, search, store

        limits = sandbox.limits_of(args.timeout, args.memory_limit)
        root = store.check_location(args.warehouse, create=False)
        index = search.state(root)
        if index.behind:
            print(f"({index.line('updating it…')})", file=sys.stderr)
            search.update_index(root)
        query = f"FROM {search.ALIAS}.search_articles(?) LIMIT ?"
        answer = sandbox.run(root, query, params=[args.query, args.limit], screen=False, limits=limits)
    except KeyboardInterrupt:
        return _fail("interrupted: the search was stopped", 130)
    except (ValueError, sandbox.QueryFailed) as exc:  # WarehouseError is a ValueError
        return _fail(str(exc))
    except duckdb.Error as exc:
        return _fail(str(exc).splitlines()[0])
    _print_rows(["article_id", "title", "published_at", "score", "terms"], answer.rows, args.format)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the warehouse (catalog, data files, rules, orphans, index); exit 1 when something is wrong."""
    from rich.console import Console
    from rich.table import Table

    from huunghi.warehouse import doctor, store

    try:
        root = store.check_location(args.warehouse, create=False)
        findings = doctor.examine(root, repair=not args.dry_run, lock_wait=args.lock_wait)
    except store.WarehouseError as exc:
        return _fail(str(exc))
    table = Table("check", "status", "detail", title=f"Warehouse {root}")
    for f in findings:
        table.add_row(f.check, f.status, f.detail)
    Console(width=max(120, os.get_terminal_size(0).columns if sys.stdout.isatty() else 160)).print(table)
    return 1 if any(f.status == "problem" for f in findings) else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from huunghi.warehouse.docs import schema_text

    print(schema_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huunghi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the pipeline once (a Prefect flow run)")
    run.add_argument(
        "--source",
        action="append",
        metavar="PATH|URL",
        help="page file (.txt, .html, .htm, .warc, maybe .gz), folder (recursive), or URL of a sitemap, feed or "
        "page; repeatable; default: the bundled corpus",
    )
    run.add_argument("--sources-file", metavar="TOML", help="sources to read, e.g. sources.toml (see the README)")
    run.add_argument(
        "--allow-private", action="store_true", help="let --source URLs reach private/loopback addresses (tests)"
    )
    run.add_argument("--offline", action="store_true", help="read web sources from the raw zone, fetch nothing")
    run.add_argument(
        "--lock-wait",
        type=float,
        default=DEFAULT_LOCK_WAIT_SECONDS,
        metavar="S",
        help=f"wait for a run on the same warehouse (default {DEFAULT_LOCK_WAIT_SECONDS:.0f} s)",
    )
    run.add_argument(
        "--warehouse", metavar="DIR", help="warehouse folder (default: $HUUNGHI_WAREHOUSE or var/warehouse)"
    )
    run.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"pages per batch (default {DEFAULT_BATCH_SIZE})"
    )
    run.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="only files modified since")
    run.add_argument("--dry-run", action="store_true", help="run every stage and gate, publish nothing")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary: errors only (cron)")
    run.add_argument("-v", "--verbose", action="store_true", help="Prefect's log lines, and tracebacks")
    run.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the batches on Dask: `local` (a local cluster) or a scheduler address (tcp://host:8786); "
        "default: $HUUNGHI_DASK_ADDRESS, else threads and processes on this machine",
    )
    run.add_argument(
        "--gate-strictness",
        choices=["strict", "lenient"],
        default="strict",
        help="lenient: the suites' rate bounds only warn (bad rows are still quarantined)",
    )
    run.set_defaults(func=cmd_run)

    sql = sub.add_parser("sql", help="run a read-only SQL query on the warehouse")
    sql.add_argument("--warehouse", metavar="DIR")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    when = sql.add_mutually_exclusive_group()
    when.add_argument("--snapshot", type=int, metavar="N", help="query the warehouse as it was at snapshot N")
    when.add_argument("--at-run", metavar="RUN_ID", help="query the warehouse as it was right after that run")
    sql.add_argument("query")
    sql.set_defaults(func=cmd_sql)

    find = sub.add_parser("search", help="full-text search of titles and bodies (accents optional, BM25-ranked)")
    find.add_argument("--warehouse", metavar="DIR")
    find.add_argument("--limit", type=int, default=10)
    find.add_argument("--format", choices=["table", "csv", "json"], default="table")
    find.add_argument("query")
    find.set_defaults(func=cmd_search)
    for command in (sql, find):
        command.add_argument("--timeout", type=float, metavar="S",
                             help="stop the query after S seconds (default: 300)")  # fmt: skip
        command.add_argument("--memory-limit", metavar="SIZE",
                             help="memory for the query, e.g. 4GB, 512MiB or 25%% of this machine's "
                                  "(default: half of it); beyond it the query stops")  # fmt: skip

    srv = sub.add_parser("serve", help="serve the daily and on-demand deployments to the Prefect server")
    srv.add_argument("--source", action="append", metavar="PATH|URL", help="default sources of both deployments")
    srv.add_argument("--sources-file", metavar="TOML", help="default sources file of both deployments")
    srv.add_argument("--warehouse", metavar="DIR")
    srv.add_argument("--cron", default=DAILY_CRON, help=f"the daily run's schedule (default {DAILY_CRON!r})")
    srv.add_argument("--timezone", default=TIMEZONE, help=f"the schedule's time zone (default {TIMEZONE})")
    srv.add_argument("--allow-private", action="store_true", help="let URL sources reach private addresses")
    srv.set_defaults(func=cmd_serve)

    quarantine = sub.add_parser("quarantine", help="list what is quarantined and why")
    reprocess = sub.add_parser("reprocess", help="read quarantined inputs again (after a fix) in a new run")
    for command in (quarantine, reprocess):
        command.add_argument("--warehouse", metavar="DIR")
        command.add_argument("--reason", help="only this reason (no_title, http_500, …)")
        command.add_argument("--stage", help="only this stage (ingest, discover, fetch, clean)")
        command.add_argument("--run", metavar="RUN_ID", help="only what this run quarantined")
        command.add_argument("--source-contains", metavar="TEXT", help="only sources whose URI contains TEXT")
    quarantine.add_argument("--summary", action="store_true", help="counts by stage and reason")
    quarantine.add_argument("--format", choices=["table", "csv", "json"], default="table")
    quarantine.add_argument("--save-raw", metavar="DIR", help="write each kept raw copy to a file in DIR")
    quarantine.set_defaults(func=cmd_quarantine)
    reprocess.add_argument("--dry-run", action="store_true", help="list what would be read again, run nothing")
    reprocess.add_argument("--allow-private", action="store_true", help="let URL sources reach private addresses")
    reprocess.set_defaults(func=cmd_reprocess)

    doc = sub.add_parser("doctor", help="check the warehouse's catalog and files; remove orphan data files")
    doc.add_argument("--warehouse", metavar="DIR")
    doc.add_argument("--dry-run", action="store_true", help="report orphan data files, remove nothing")
    doc.add_argument("--lock-wait", type=float, default=DEFAULT_LOCK_WAIT_SECONDS, metavar="S",
                     help="wait for a run on the same warehouse")  # fmt: skip
    doc.set_defaults(func=cmd_doctor)

    schema = sub.add_parser(
        "schema", help="every table and view with its columns and their meaning (= warehouse/SCHEMA.md)"
    )
    schema.set_defaults(func=cmd_schema)

    ev = sub.add_parser("eval", help="score boilerplate removal and dedup on a generated corpus of mixed layouts")
    ev.add_argument("--pages", type=int, default=5000)
    ev.add_argument("--seed", type=int, default=2026)
    ev.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ev.add_argument("--format", choices=["text", "html.gz"], default="text", help="pages as saved text or as HTML")
    ev.add_argument(
        "--corpus",
        choices=["both", "mirror", "adversarial"],
        default="both",
        help="mirror: the run on pages written as the parser reads them; adversarial: the parser on furniture "
        "composed independently, with the share of errors its confidence flags (default: both)",
    )
    ev.set_defaults(func=cmd_eval)

    gen = sub.add_parser("generate", help="write a generated corpus with its ground truth")
    gen.add_argument("--pages", type=int, default=1000)
    gen.add_argument("--seed", type=int, default=2022)
    gen.add_argument("--out", required=True, metavar="DIR")
    gen.add_argument("--format", action="append", choices=["text", "html", "html.gz"], help="repeatable; default: text")
    gen.set_defaults(func=cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    try:
        return args.func(args)
    except ValidationError as exc:  # a HUUNGHI_* setting out of its range: say which and why, on one line
        return _fail(_invalid(exc))


def _invalid(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def script() -> None:
    """The `huunghi` command. After the command, the run's threads are joined and every exit hook has run
    (Prefect flushes its logs and events, the temporary server stops); the process then leaves at once,
    without the ~1 s the interpreter spends freeing every module of Prefect, GX and DuckDB."""
    code = main()
    if _signalled():  # interrupted: busy threads are not waited for
        atexit._run_exitfuncs()  # (the watch ends the process if these take too long)
        sys.stdout.flush()
        os._exit(code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    script()
