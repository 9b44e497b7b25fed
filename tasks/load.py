"""The load as a Prefect task: one warehouse write at a time, across workers and machines."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi.quality.gates import Quality
from huunghi.settings import DEFAULT_LOCK_WAIT_SECONDS, TEMPORARY_SERVER_VARIABLE
from huunghi.warehouse import store, write
from huunghi.warehouse.write import LoadOutcome, RunInfo, publish

WRITE_LIMIT = "huunghi-warehouse-writes"  # a Prefect global concurrency limit: one warehouse write at a time
# Prefect renews a held slot's lease every 3/4 of this; a server that keeps running (PREFECT_API_URL) frees
# the slot of a holder that died once its lease expires.
LEASE_SECONDS = 60.0
HOLDER_FILE = "huunghi-write-slot.json"  # in PREFECT_HOME: who holds the slot, locked (flock) while held


def _say(message: str) -> None:
    """A warning in the run's log: on the terminal (but with -q) and on the run's page in the UI."""
    from prefect.logging import get_run_logger

    get_run_logger().warning(message)


@contextmanager
def write_slot(wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS, run_id: str = "") -> Iterator[None]:
    """Hold the global concurrency limit on warehouse writes, created with one slot if the server has none
    (an operator may raise it in the UI, e.g. for several warehouses on one server). The file lock in
    store.run_lock serializes runs on one machine; this limit holds across workers and machines that write
    one shared catalog (PostgreSQL).

    A slot outlives a run killed while holding it (kill -9, power loss): Prefect keeps the count in its
    database and the lease in the server's memory. With the local server of this PREFECT_HOME (huunghi.flows.api:
    a command's own dies with it, so nothing would ever free the slot), the holder's lock on
    PREFECT_HOME/huunghi-write-slot.json tells: a slot in use while nobody holds that lock is held by no live run,
    and is freed here. Whether its
    last holder died holding it is read from the holder file, not guessed: a holder that went past Prefect's
    release marks the file `released`, so a count that outlives a release (Prefect kept it, no run died) is
    reset with a message saying that. With a server that stays up, its lease expires LEASE_SECONDS after the
    holder stopped renewing it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import get_current_settings

    path = Path(get_current_settings().home).expanduser() / HOLDER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as holder:
        alone = store.try_lock(holder)  # False: a live process on this machine holds the slot
        with get_client(sync_client=True) as client:
            try:
                limit = client.read_global_concurrency_limit_by_name(WRITE_LIMIT)
            except ObjectNotFound:
                client.upsert_global_concurrency_limit_by_name(WRITE_LIMIT, 1)
                limit = client.read_global_concurrency_limit_by_name(WRITE_LIMIT)
            if alone and limit.active_slots >= limit.limit and _temporary_server():
                client.update_global_concurrency_limit(WRITE_LIMIT, GlobalConcurrencyLimitUpdate(active_slots=0))
                _say(_freed(holder))
            elif limit.active_slots >= limit.limit:
                where = "here" if not alone else f"elsewhere: a dead holder's lease ends {LEASE_SECONDS:.0f} s after"
                _say(f"waiting up to {wait_seconds:.0f} s for the warehouse write slot ({_holder(holder)}, {where})")
        if not alone and not store.lock_within(holder, wait_seconds):  # the live holder here finishes its load
            raise TimeoutError(f"the warehouse write slot stayed held for {wait_seconds:.0f} s ({_holder(holder)})")
        started = time.monotonic()
        held = False
        try:
            with concurrency(WRITE_LIMIT, occupy=1, timeout_seconds=wait_seconds, strict=True,
                             lease_duration=LEASE_SECONDS):  # fmt: skip
                held = True
                _record(holder, {"run": run_id, "process": os.getpid(), "host": socket.gethostname(),
                                 "since": _now(), "waited_seconds": round(time.monotonic() - started, 1)})  # fmt: skip
                yield
        finally:  # past Prefect's release, whatever the load's outcome: a run killed holding the slot never is
            if held:
                _record(holder, {**_seen(holder), "released": _now()})


def _now() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _record(f, fields: dict) -> None:
    """Rewrite the holder file (its lock is held): who holds the slot, and whether it gave it back."""
    f.seek(0)
    f.truncate()
    json.dump(fields, f)
    f.flush()


def _seen(f) -> dict:
    f.seek(0)
    try:
        seen = json.loads(f.read() or "{}")
    except json.JSONDecodeError:
        return {}
    return seen if isinstance(seen, dict) else {}


def _freed(f) -> str:
    """What the freeing of a slot nobody holds says: a run that died holding it, or a count Prefect kept
    after its holder went past the release (then no run died)."""
    if released := _seen(f).get("released"):
        return (f"reset the warehouse write slot: Prefect still counted it in use though its last holder gave it "
                f"back at {released} ({_holder(f)}); no run died")  # fmt: skip
    return f"freed the warehouse write slot held by a run that died ({_holder(f)})"


def _holder(f) -> str:
    seen = _seen(f)
    if not seen:
        return "an unknown run"
    run, process, host, since = (seen.get(k) for k in ("run", "process", "host", "since"))
    return f"last held by run {run or '?'}, process {process} on {host}, {since}"


def _temporary_server() -> bool:
    """Whether Prefect reports to a local server of this PREFECT_HOME: the one the command started or found
    (huunghi.flows.api), or Prefect's ephemeral one (no API URL)."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return url is None or url == os.environ.get(TEMPORARY_SERVER_VARIABLE)


def run_lock_wait() -> float:
    """The running flow's `lock_wait_seconds` (--lock-wait), from its `settings` parameter: the wait for the
    write slot is the run's wait, like the wait for the warehouse's run lock. The default outside a flow run."""
    from prefect.runtime import flow_run

    settings = flow_run.parameters.get("settings") or {}  # RunSettings; a dict when read back from the API
    wait = (settings if isinstance(settings, dict) else settings.model_dump()).get("lock_wait_seconds")
    return DEFAULT_LOCK_WAIT_SECONDS if wait is None else float(wait)


# Never skipped (no cache), never retried (the write is all or nothing; a new run starts over).
@task(name="load warehouse", task_run_name="load warehouse", retries=0, timeout_seconds=3600, cache_policy=NO_CACHE)
def load_run(
    root: Path,
    tables: dict[str, pa.Table],
    run: RunInfo,
    quality: Quality | None = None,
    dry_run: bool = False,
    lock_wait_seconds: float | None = None,
) -> LoadOutcome:
    """Write, audit (the `warehouse` gate) and publish the run's tables as one snapshot, or nothing. The write
    slot is waited for up to `lock_wait_seconds` (None: the flow run's own setting, see run_lock_wait)."""
    wait = run_lock_wait() if lock_wait_seconds is None else lock_wait_seconds
    with write_slot(wait, run_id=run.run_id):
        return publish(root, tables, run, lambda audit: (quality or Quality()).validate("warehouse", audit), dry_run)


@task(name="record run", task_run_name="record run (nothing new)", retries=0, timeout_seconds=600,
      cache_policy=NO_CACHE)  # fmt: skip
def record_run(
    root: Path, run: RunInfo, pages_in: int, dry_run: bool = False, lock_wait_seconds: float | None = None
) -> LoadOutcome:
    """A run that found nothing new: its `runs` row alone, written under the write slot like any load."""
    wait = run_lock_wait() if lock_wait_seconds is None else lock_wait_seconds
    with write_slot(wait, run_id=run.run_id):
        return write.record_run(root, run, pages_in, dry_run)
