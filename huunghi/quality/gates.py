"""Quality gates: each stage's output proves itself against a Great Expectations suite (expectations/).

Two kinds of failure, told apart by each expectation's `meta.on_fail`:

- "quarantine" (row level): the rows that break it are handed back with the expectation's `meta.reason`;
  the flow quarantines their pages and goes on. The expectation's `mostly` is the batch bound: when a
  larger share of rows breaks it, the run stops — a layout change or a parser bug, not a bad page.
- "stop" (the default): any failure stops the run before anything is published.

A rate (`mostly` < 1, or a statistic of the whole batch marked `meta.rate`) says little about a handful of
rows: on fewer than the suite's `min_rows_for_rates` rows, a broken rate stops the run only on strong
evidence — when a failure share within the bound would give that many failing rows less than once in a
thousand (a binomial tail: 12 of 12 pages without a title stop, 2 of 5 error pages do not); otherwise it
is a warning, and only the rows are quarantined.

Within a run, validation results are stored in a Great Expectations project in the warehouse
(`<warehouse>/quality/gx`) and rendered as Data Docs there, stopped runs included.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import importlib.util
import json
import logging
import math
import shutil
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from huunghi.memory import bounded_duckdb
from huunghi.quality import helper
from huunghi.quality.docs_offline import make_offline

SITE_START = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(days=1)
DEFAULT_MIN_ROWS_FOR_RATES = 20
# Below that many rows, a broken rate stops the run only on strong evidence: when a failure share within
# the expectation's bound would give this many failures less often than once in a thousand runs.
SMALL_BATCH_ALPHA = 0.001
QUALITY_DIR = "quality"  # the Great Expectations project inside a warehouse
# Runs whose validation results stay in the GX store (and so in the Data Docs index). GX lists and parses
# every stored result several times per Data Docs build: with all of them kept, each run's build grew with
# the history (0.4 s after 16 runs, 2.0 s after 316). Older results move, whole, to quality/archive/.
DOCS_RUNS = 40
# Layout drift (the `cleaned` suite): a run stops when its share of doubtful pages is clearly above the
# site's usual share, as the warehouse's articles show it; without enough history, a fixed bound.
DRIFT_HISTORY_MIN = 200  # stored articles before their doubtful share counts as the site's usual rate
DRIFT_DEFAULT_BOUND = 0.25
DRIFT_FLOOR, DRIFT_MARGIN, DRIFT_CEILING = 0.15, 0.15, 0.5
# A larger table is validated in slices (a gate's memory stays that of one slice: pandas and Great Expectations
# hold several copies of it) of at most this many bytes of Arrow data and rows; the expectations about a whole
# column are checked once, on the columns they name. Pandas and GX take ~6 times a text table's Arrow size (articles,
# paragraphs of 20,000 pages: 57 MB, +360 MB in one validation; +150 MB in 32 MB slices, 0.8 s more for articles).
# 8 MB: the paragraphs of 20,000 bench pages (51 MB) peaked 110 MB lower than in 32 MB slices, in the same 3.1 s.
BYTES_PER_VALIDATION = 8 * 2**20
ROWS_PER_VALIDATION = 1_000_000
UNIQUENESS = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
# DuckDB's limit while it finds a large table's repeated keys (it spills beyond). The story appearances of 200,000
# bench pages (4.3 M rows, ten copies of 20,000 pages'): the gate's peak +290 MB instead of +434 MB with the whole key
# columns in pandas, in 8 s instead of 4 s; at 20,000 pages the same peak (its slices' validations set it).
UNIQUENESS_MEMORY = "256MB"
WHOLE_COLUMN = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
                          "expect_column_proportion_of_unique_values_to_be_between",
                          "expect_column_mean_to_be_between"})  # fmt: skip


def drift_bound(doubtful: int, stored: int) -> float:
    """The largest share of doubtful pages a run may have: twice the usual share or 15 points above it
    (whichever is larger), at least 15%, at most half; 25% while the warehouse holds too few articles."""
    if stored < DRIFT_HISTORY_MIN:
        return DRIFT_DEFAULT_BOUND
    usual = doubtful / stored
    return round(min(DRIFT_CEILING, max(DRIFT_FLOOR, usual + DRIFT_MARGIN, 2 * usual)), 4)


_SHOWN_ROWS = 5
_LOCK = threading.Lock()  # Great Expectations contexts are not thread-safe


class GateFailed(RuntimeError):
    """A stage's output broke its expectation suite; the run must not publish."""

    def __init__(self, message: str, outcome: GateOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass
class GateOutcome:
    """What one gate found: stopping failures, rate warnings, and the rows to quarantine (id → reason)."""

    suite: str
    rows: int
    expectations: int
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    flagged: dict[str, tuple[str, str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class StagedRows:
    """Staged Parquet files minus the rows whose `column` is in `excluded`, as a gate's input: any process
    can open it (a filtered pyarrow dataset cannot be pickled, so it could not be sent to the helper)."""

    files: tuple[str, ...]
    schema: pa.Schema
    column: str
    excluded: tuple[str, ...] = ()

    def dataset(self) -> ds.Dataset:
        rows = ds.dataset(list(self.files), schema=self.schema, format="parquet")
        if not self.excluded:
            return rows
        return rows.filter(~ds.field(self.column).isin(pa.array(self.excluded, pa.string())))


def _rows(table: pa.Table | ds.Dataset | StagedRows) -> int:
    if isinstance(table, StagedRows):
        table = table.dataset()
    return table.num_rows if isinstance(table, pa.Table) else table.count_rows()


def _slices(source: ds.Dataset, rows: int) -> Iterator[pa.Table]:
    """The dataset's rows in order, as tables of `rows` rows (the last one shorter): a dataset's batches end with
    each of its files, and a run stages a batch in many small files (one validation costs ~0.1 s). Read file by file
    on one thread: pyarrow's threaded scan reads the files ahead of a slow consumer whatever its readahead settings
    (the articles of 200,000 bench pages: the whole table decoded in memory before the second slice, the gate at
    1.3 GB), and even on one thread a dataset's scan sometimes ran some files ahead (30 MB in the test's 50)."""
    held: list[pa.RecordBatch] = []
    count = 0
    batches = (batch for fragment in source.get_fragments()
               for batch in fragment.to_batches(schema=source.schema, batch_size=rows, use_threads=False,
                                                batch_readahead=0, fragment_readahead=0))  # fmt: skip
    for batch in batches:
        while batch.num_rows:
            take = batch.slice(0, rows - count)
            held.append(take)
            count += take.num_rows
            batch = batch.slice(take.num_rows)
            if count == rows:
                yield pa.Table.from_batches(held)
                held, count = [], 0
    if count:
        yield pa.Table.from_batches(held)


def load_suite_file(name: str) -> dict[str, Any]:
    """expectations/<name>.json, shipped in the package as huunghi.expectations."""
    return json.loads(resources.files("huunghi.expectations").joinpath(f"{name}.json").read_text("utf-8"))


# Great Expectations imports these at its own import, for expectations and renderers no suite uses (KL
# divergence, KS tests, their charts): a third of its import time (scipy.stats, altair). A stand-in module is
# registered first, so the real one loads only if something uses it.
LAZY_FOR_GX = ("scipy.stats", "altair")
_LAZY_LOCK = threading.Lock()


class _Deferred(types.ModuleType):
    """A module imported on the first use of one of its attributes. (importlib's LazyLoader does not do:
    before Python 3.12 the import statement itself touches the module and loads it.)"""

    def __getattr__(self, attribute: str) -> Any:
        with _LAZY_LOCK:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            module = importlib.import_module(self.__name__)
        return getattr(module, attribute)


def _defer(name: str) -> None:
    """Stand a _Deferred module in for `name` unless it is imported already (or not installed)."""
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return
    sys.modules[name] = _Deferred(name)


# Optional dependencies Great Expectations imports at its own import when they are installed, for data sources and
# stores no run uses: SQL databases (sqlalchemy, which Prefect's server needs) and S3 (boto3, botocore, which the dev
# tools bring). Hidden while GX imports, as in an install without them (a configuration GX supports): it then runs
# on pandas as before, without their ~1 s of imports; anything else imports them as usual afterwards.
ABSENT_FOR_GX = ("sqlalchemy", "boto3", "botocore")


@contextmanager
def _hidden(names: tuple[str, ...]) -> Iterator[None]:
    """`import name` raises ImportError meanwhile, for the names not imported yet."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not importable"
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _quiet_gx() -> Any:
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="great_expectations")
    if "great_expectations" not in sys.modules:
        for name in LAZY_FOR_GX:
            _defer(name)
        with _hidden(ABSENT_FOR_GX):
            import great_expectations  # noqa: F401  (first imported here, without them)
    import great_expectations as gx

    return gx


def preload() -> None:
    """Import Great Expectations now (about 2 s), e.g. while a Prefect server boots, not at the first gate."""
    _quiet_gx()


@cache
def _context(project_dir: str | None) -> Any:
    """A file-backed Great Expectations project (results kept for Data Docs), or an ephemeral one."""
    gx = _quiet_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if project_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        context = gx.get_context(mode="file", project_root_dir=project_dir)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


_DIGEST = "huunghi_spec_sha256"  # in a stored suite's meta: the spec it was made from


def _definition(context: Any, name: str, spec: dict[str, Any] | None = None) -> Any:
    """The suite from expectations/<name>.json (the repository is the source of truth; or `spec`, a part of
    one) and its validation definition over a pandas frame, created or updated in the context."""
    gx = _quiet_gx()
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    try:
        source = context.data_sources.get("huunghi")
    except KeyError:
        source = context.data_sources.add_pandas("huunghi")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        batch = asset.get_batch_definition("whole")
    except KeyError:
        batch = asset.add_batch_definition_whole_dataframe("whole")
    spec = spec or load_suite_file(name)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    with contextlib.suppress(Exception):  # stored by an earlier run from the same spec: read, not written again
        stored = context.validation_definitions.get(name)
        if stored.suite.meta.get(_DIGEST) == digest and stored.batch_definition.name == batch.name:
            return stored
    expectations = [
        ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})).to_domain_obj()
        for e in spec["expectations"]
    ]
    suite = context.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations,
                                                             meta={_DIGEST: digest}))  # fmt: skip
    return context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))


_definitions: dict[tuple[int, str], Any] = {}


def _validation(context: Any, name: str, spec: dict[str, Any] | None = None) -> Any:
    key = (id(context), name)
    if key not in _definitions:
        _definitions[key] = _definition(context, name, spec)
    return _definitions[key]


def _label(config: Any) -> str:
    column = config.kwargs.get("column") or config.kwargs.get("column_list")
    if column is None and "column_A" in config.kwargs:
        column = f"{config.kwargs['column_A']}, {config.kwargs['column_B']}"
    return f"{config.type}({column})"


def _value(item: dict, column: Any) -> Any:
    value = item.get(column) if isinstance(column, str) else None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _describe(result: Any, id_column: str) -> str:
    detail = result.result or {}
    column = result.expectation_config.kwargs.get("column")
    indexes = detail.get("unexpected_index_list") or []
    if indexes:
        shown = "; ".join(
            f"{id_column}={item.get(id_column)} value={str(_value(item, column))[:80]!r}"
            for item in indexes[:_SHOWN_ROWS]
        )
        share = detail.get("unexpected_percent")
        rate = f" ({share:.1f}% of {detail.get('element_count')})" if share is not None else ""
        rows = f"{detail.get('unexpected_count', len(indexes))} offending row(s){rate}: {shown}"
    elif "observed_value" in detail:
        rows = f"observed {detail['observed_value']!r}"
    else:
        rows = "no row detail"
    return f"{_label(result.expectation_config)} — {rows}"


@cache
def _entity_ids() -> tuple[str, ...]:
    """The known entities (the gazetteer's): every mention, person's body and province must be one."""
    from huunghi.enrich.gazetteer import load_gazetteer

    return tuple(sorted(load_gazetteer().entities))


class Quality:
    """The gates of one run: each validation is stored under the run's name, outcomes kept for the summary.

    Without a warehouse (unit tests, `huunghi eval`) results live in memory and no Data Docs are built.
    """

    def __init__(
        self,
        root: Path | None = None,
        run_id: str = "adhoc",
        started_at: datetime | None = None,
        *,
        enforce_rates: bool = True,
    ) -> None:
        self.project_dir = None if root is None else root / QUALITY_DIR
        self.enforce_rates = enforce_rates  # False: gate strictness "lenient", rate bounds only warn
        self.run_id = run_id
        self.started_at = started_at or datetime.now(UTC)
        self.outcomes: list[GateOutcome] = []
        self.drift_max_share = DRIFT_DEFAULT_BOUND  # set from the warehouse's history before `cleaned` runs
        self.in_helper = False  # whether a gate of the run was validated in the helper

    def _sent(self) -> Quality:
        """This Quality as sent to the helper: its settings, not the outcomes so far."""
        sent = copy.copy(self)
        sent.outcomes = []
        return sent

    def validate(self, name: str, table: pa.Table | ds.Dataset | StagedRows) -> GateOutcome:
        """Validate a stage output against expectations/<name>.json; raise GateFailed when the run must stop.
        An empty table passes without Great Expectations: every suite finds nothing in one (tested). A table
        (or a staged dataset) larger than BYTES_PER_VALIDATION or ROWS_PER_VALIDATION is validated in slices (see
        `validate_in_slices`), so a gate's memory does not grow with the run. Within a command that started
        the Great Expectations helper (huunghi/quality/helper.py), a gate with rows is validated there."""
        started = time.perf_counter()
        rows = _rows(table)
        if rows and self.project_dir is not None and helper.running():
            self.in_helper = True
            outcome = helper.call(Quality.outcome, self._sent(), name, table, rows)
        else:
            outcome = self.outcome(name, table, rows)
        outcome.seconds = time.perf_counter() - started
        self.outcomes.append(outcome)
        if outcome.failed:
            raise GateFailed(f"gate '{name}' failed: " + " | ".join(outcome.failed), outcome)
        return outcome

    def outcome(self, name: str, table: pa.Table | ds.Dataset | StagedRows, rows: int) -> GateOutcome:
        """What the gate finds in this process (`validate` says what happens next)."""
        spec = load_suite_file(name)
        if isinstance(table, StagedRows):
            table = table.dataset()
        if rows == 0:
            return GateOutcome(name, 0, len(spec["expectations"]))
        if rows > (per_slice := _rows_per_slice(table, rows)):
            return self.validate_in_slices(name, spec, table, rows, per_slice)
        return self.validate_with_gx(name, spec, table if isinstance(table, pa.Table) else table.to_table())

    def validate_with_gx(self, name: str, spec: dict[str, Any], table: pa.Table) -> GateOutcome:
        """Great Expectations' results on the table, stored under the run's name, judged (see `judge`)."""
        return judge(name, spec, table.num_rows, self._results(name, spec, table), self.enforce_rates)

    def _results(self, name: str, spec: dict[str, Any], table: pa.Table, slice_: int = 0) -> list[Any]:
        """Great Expectations' results on a table, stored under the run's name (slice n of a large table: n µs
        after the run's start, so each slice's results are kept)."""
        from great_expectations.core.run_identifier import RunIdentifier

        frame = table.to_pandas()
        with _LOCK:
            if self.project_dir is not None:
                self.project_dir.mkdir(parents=True, exist_ok=True)
            context = _context(None if self.project_dir is None else str(self.project_dir))
            result = _validation(context, name, spec).run(
                batch_parameters={"dataframe": frame},
                expectation_parameters={
                    "now": datetime.now(UTC) + MAX_CLOCK_SKEW,
                    "site_start": SITE_START,
                    "entity_ids": list(_entity_ids()),
                    "drift_max_share": self.drift_max_share,
                },
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [spec["id_column"]]},
                run_id=RunIdentifier(run_name=self.run_id, run_time=self.started_at + timedelta(microseconds=slice_)),
            )
        return list(result.results)

    def validate_in_slices(
        self, name: str, spec: dict[str, Any], table: pa.Table | ds.Dataset, rows: int, per_slice: int
    ) -> GateOutcome:
        """A large table's gate: the row-level expectations on slices of at most `per_slice` rows, their
        counts summed (a rate is judged on the whole table); the expectations about the whole column (unique
        values, a mean) once, on the columns they name. The same verdict as one validation of the whole table,
        in memory bounded by the slice."""
        per_row = [e for e in spec["expectations"] if e["type"] not in WHOLE_COLUMN]
        whole = [e for e in spec["expectations"] if e["type"] in WHOLE_COLUMN]
        source = table if isinstance(table, ds.Dataset) else ds.dataset(table)
        sliced: list[list[Any]] = []
        row_spec = {**spec, "expectations": per_row}
        for i, slice_ in enumerate(_slices(source, per_slice), 1):
            sliced.append(self._results(f"{name}.rows", row_spec, slice_, i))
        results = [_summed([part[k] for part in sliced]) for k in range(len(per_row))] if sliced else []
        statistics = [e for e in whole if e["type"] not in UNIQUENESS]
        if statistics:
            columns = sorted({spec["id_column"], *(c for e in statistics for c in _columns_of(e["kwargs"]))})
            narrow = source.to_table(columns=columns)
            results += self._results(f"{name}.columns", {**spec, "expectations": statistics}, narrow)
        for i, expectation in enumerate(e for e in whole if e["type"] in UNIQUENESS):
            results.append(self._unique(f"{name}.unique{i}", spec, expectation, source, rows))
        return judge(name, spec, rows, results, self.enforce_rates)

    def _unique(self, name: str, spec: dict[str, Any], expectation: dict[str, Any], source: ds.Dataset,
                rows: int) -> _Summed:  # fmt: skip
        """A uniqueness expectation over a large table: Great Expectations judges the rows whose key occurs more
        than once (found in DuckDB, which spills: a table's keys need not fit in memory), with the counts of the
        whole table. A row is unexpected on those rows exactly when it is on the whole table: all copies of a
        repeated key are among them, and every other row's key is unique."""
        keys = _columns_of(expectation["kwargs"])
        columns = list(dict.fromkeys([spec["id_column"], *keys]))
        repeated, missing = _repeated_keys(source, keys, columns)
        [result] = self._results(name, {**spec, "expectations": [expectation]}, repeated)
        detail = dict(result.result or {})
        failed = detail.get("unexpected_count") or 0
        checked = rows - missing
        detail.update(element_count=rows, missing_count=missing, unexpected_percent=100 * failed / checked if checked
                      else 0.0)  # fmt: skip
        return _Summed(result.success, detail, result.expectation_config)

    def build_docs(self) -> Path | None:
        """Render this run's validation results (and the site index) as Data Docs; the index's path. In the
        helper, when it validated the run's gates."""
        if self.project_dir is None or not any(outcome.rows for outcome in self.outcomes):
            return None  # no gate had a row: GX ran nothing, stored nothing
        if helper.running():
            return helper.call(Quality.docs, self._sent(), deadline=helper.DOCS_SECONDS)
        if self.in_helper:  # it was ended (a call given up on: an interrupted run): no GX import here now
            return None
        return self.docs()

    def docs(self) -> Path | None:
        """`build_docs` in this process."""
        if self.project_dir is None or not (self.project_dir / "gx").exists():
            return None
        with _LOCK:
            archive_old_results(self.project_dir, DOCS_RUNS)
            context = _context(str(self.project_dir))
            keys = [k for k in context.validation_results_store.list_keys() if k.run_id.run_name == self.run_id]
            if not keys:  # no gate ran (an empty list would have GX rebuild every page)
                return None
            started = time.time() - 1  # file times are coarser than the clock on some file systems
            context.build_data_docs(resource_identifiers=keys)
        site = self.project_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
        make_offline(site, since=started)  # the pages load their styles and scripts from the site itself
        return site / "index.html"


def archive_old_results(project_dir: Path, keep: int) -> list[str]:
    """Move the validation results of all but the latest `keep` runs from the GX store to
    quality/archive/validations/<suite>/<run>/ (nothing is deleted); the runs moved."""
    store = project_dir / "gx" / "uncommitted" / "validations"
    suites = [d for d in store.iterdir() if d.is_dir()] if store.is_dir() else []
    started: dict[str, str] = {}  # run name → its latest run-time folder (sortable: 20261125T033428.215956Z)
    for suite in suites:
        for run in (d for d in suite.iterdir() if d.is_dir()):
            started[run.name] = max([started.get(run.name, ""), *(t.name for t in run.iterdir())])
    old = sorted(started, key=lambda name: (started[name], name))[: max(0, len(started) - keep)]
    for name in old:
        for suite in suites:
            if (suite / name).exists():
                target = project_dir / "archive" / "validations" / suite.name / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(suite / name, target)
    return old


def judge(name: str, spec: dict[str, Any], rows: int, results: list[Any], enforce_rates: bool = True) -> GateOutcome:
    """Sort each expectation's result into stop, warning or rows to quarantine (see the module doc)."""
    id_column = spec["id_column"]
    min_rows = spec.get("min_rows_for_rates", DEFAULT_MIN_ROWS_FOR_RATES)
    outcome = GateOutcome(name, rows, len(results))
    for result in results:
        meta = result.expectation_config.meta or {}
        is_rate = result.expectation_config.kwargs.get("mostly", 1) < 1 or bool(meta.get("rate"))
        if meta.get("on_fail") == "quarantine":
            for item in (result.result or {}).get("unexpected_index_list") or []:
                key = item.get(id_column)
                if key is not None and key not in outcome.flagged:
                    value = _value(item, result.expectation_config.kwargs.get("column"))
                    detail = f"{_label(result.expectation_config)}: {meta.get('why', '')} (value {str(value)[:120]!r})"
                    outcome.flagged[key] = (meta["reason"], detail)
        if result.success:
            continue
        described = _describe(result, id_column)
        if is_rate and rows < min_rows:
            evidence = small_batch_evidence(result)
            if evidence is not None and evidence[0] < SMALL_BATCH_ALPHA and enforce_rates:
                p, bound = evidence
                outcome.failed.append(f"{described} [{rows} rows: a failure share within {bound:.0%} gives "
                                      f"this many failures with probability {p:.1e}]")  # fmt: skip
            else:
                outcome.warnings.append(f"{described} [rate not enforced on {rows} rows < {min_rows}]")
        elif is_rate and not enforce_rates:
            outcome.warnings.append(f"{described} [rate not enforced: gate strictness lenient]")
        else:
            outcome.failed.append(described)
    return outcome


def _rows_per_slice(table: pa.Table | ds.Dataset, rows: int) -> int:
    """Rows of a slice of the table: within BYTES_PER_VALIDATION (by the size of its first rows) and
    ROWS_PER_VALIDATION."""
    sample = table.slice(0, 1000) if isinstance(table, pa.Table) else table.head(1000)
    per_row = max(1.0, sample.nbytes / max(1, sample.num_rows))
    return max(1, min(ROWS_PER_VALIDATION, int(BYTES_PER_VALIDATION / per_row), rows))


def _repeated_keys(source: ds.Dataset, keys: list[str], columns: list[str]) -> tuple[pa.Table, int]:
    """The `columns` of the rows whose `keys` occur more than once (nulls equal, as pandas counts copies), in
    table order; and the rows whose keys are all null (what Great Expectations counts as missing)."""
    with bounded_duckdb(UNIQUENESS_MEMORY) as con:
        con.register("source", source)
        key_list = ", ".join(_quoted(k) for k in keys)
        same = " AND ".join(f"s.{_quoted(k)} IS NOT DISTINCT FROM d.{_quoted(k)}" for k in keys)
        repeated = con.execute(
            f"SELECT {', '.join('s.' + _quoted(c) for c in columns)} FROM "
            f"(SELECT *, row_number() OVER () AS huunghi_row FROM source) s SEMI JOIN "
            f"(SELECT {key_list} FROM source GROUP BY ALL HAVING count(*) > 1) d ON {same} ORDER BY s.huunghi_row"
        ).to_arrow_table()
        nulls = " AND ".join(f"{_quoted(k)} IS NULL" for k in keys)
        missing = con.execute(f"SELECT count(*) FROM source WHERE {nulls}").fetchone()[0]
    return repeated, missing


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _columns_of(kwargs: dict[str, Any]) -> list[str]:
    """The columns an expectation names."""
    named = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *(kwargs.get("column_list") or [])]
    return [c for c in named if c]


@dataclass
class _Summed:
    """One row-level expectation's results on every slice of a table, as one result (what `judge` reads)."""

    success: bool
    result: dict[str, Any]
    expectation_config: Any


def _summed(results: list[Any]) -> _Summed:
    """The slices' counts added up and the expectation judged on the sums, as Great Expectations judges a
    whole table: the share of failing rows among those checked (null rows are left out but by not_be_null)."""
    config = results[0].expectation_config
    details = [r.result or {} for r in results]
    total = sum(d.get("element_count") or 0 for d in details)
    missing = sum(d.get("missing_count") or 0 for d in details)
    failed = sum(d.get("unexpected_count") or 0 for d in details)
    checked = total if "not_be_null" in config.type else total - missing
    mostly = config.kwargs.get("mostly", 1)
    success = (
        all(r.success for r in results) if mostly >= 1 else (checked == 0 or (checked - failed) / checked >= mostly)
    )
    result = {
        "element_count": total,
        "missing_count": missing,
        "unexpected_count": failed,
        "unexpected_percent": 100 * failed / checked if checked else 0.0,
        "unexpected_index_list": [item for d in details for item in d.get("unexpected_index_list") or []],
    }
    return _Summed(success, result, config)


def binomial_tail(failed: int, n: int, share: float) -> float:
    """P(at least `failed` failures in `n` rows) when each row fails with probability `share`."""
    return min(1.0, sum(math.comb(n, k) * share**k * (1 - share) ** (n - k) for k in range(failed, n + 1)))


def small_batch_evidence(result: Any) -> tuple[float, float] | None:
    """For a row-level rate broken on a small batch: (how likely this many failures would be if the true
    failure share were within the expectation's bound, that bound). A small daily run where every page
    lost its title is evidence of a layout change; two error pages of five are not. None for statistics
    of the whole batch (no rows to count)."""
    mostly = result.expectation_config.kwargs.get("mostly")
    detail = result.result or {}
    failed, total = detail.get("unexpected_count"), detail.get("element_count")
    if mostly is None or mostly >= 1 or failed is None or not total:
        return None
    nulls_count = "not_be_null" in result.expectation_config.type  # elsewhere GX leaves null rows out
    checked = total if nulls_count else total - (detail.get("missing_count") or 0)
    bound = 1 - mostly
    return binomial_tail(failed, max(checked, failed), bound), bound


def validate(name: str, table: pa.Table) -> GateOutcome:
    """Validate without a run (tests, tools): results in memory, no Data Docs."""
    return Quality().validate(name, table)
