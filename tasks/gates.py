"""Quality gates: each stage's output is validated by a Great Expectations suite kept in expectations/.

A failed expectation stops the run before anything is loaded. The error names the suite, the
expectation and the offending rows (by their identifying column), so the fix can start from it.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import task

SUITES_DIR = Path(__file__).resolve().parent.parent / "expectations"
SITE_START = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(days=1)
_SHOWN_ROWS = 5


class GateFailed(RuntimeError):
    """A stage's output broke its expectation suite; the run must not publish."""


@dataclass
class GateOutcome:
    suite: str
    rows: int
    expectations: int
    failed: list[str]


def load_suite_file(name: str) -> dict[str, Any]:
    return json.loads((SUITES_DIR / f"{name}.json").read_text("utf-8"))


@cache
def _validator() -> Any:
    """One ephemeral GX context and pandas batch definition per process (GX imports slowly)."""
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="great_expectations")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("huunghi")
        .add_dataframe_asset("stage_output")
        .add_batch_definition_whole_dataframe("whole")
    )
    return gx, context, batch_definition


@cache
def _suite(name: str) -> Any:
    gx, context, _ = _validator()
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = load_suite_file(name)
    expectations = [
        ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})).to_domain_obj()
        for e in spec["expectations"]
    ]
    return context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))


def _describe(result: Any, frame: Any, id_column: str) -> str:
    cfg = result.expectation_config
    column = cfg.kwargs.get("column") or cfg.kwargs.get("column_list")
    detail = result.result or {}
    indexes = detail.get("unexpected_index_list") or []
    if indexes and id_column in frame.columns:
        shown = []
        for index in indexes[:_SHOWN_ROWS]:
            row = frame.loc[index if not isinstance(index, dict) else index.get("index", index)]
            value = row[column] if isinstance(column, str) and column in frame.columns else None
            shown.append(f"{id_column}={row[id_column]} value={str(value)[:80]!r}")
        rows = f"{detail.get('unexpected_count', len(indexes))} offending row(s): " + "; ".join(shown)
    elif "observed_value" in detail:
        rows = f"observed {detail['observed_value']!r}"
    else:
        rows = "no row detail"
    return f"{cfg.type}({column}) — {rows}"


def _entity_ids() -> list[str]:
    """The known entities (the gazetteer's): every mention, person's body and province must be one."""
    from huunghi.gazetteer import load_gazetteer

    return sorted(load_gazetteer().entities)


def validate(name: str, table: pa.Table) -> GateOutcome:
    """Validate one stage output against expectations/<name>.json; raise GateFailed when it breaks."""
    _, _, batch_definition = _validator()
    spec = load_suite_file(name)
    suite = _suite(name)
    frame = table.to_pandas()
    now = datetime.now(UTC) + MAX_CLOCK_SKEW
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite,
        result_format="COMPLETE",
        expectation_parameters={"now": now, "site_start": SITE_START, "entity_ids": _entity_ids()},
    )
    failed = [_describe(r, frame, spec["id_column"]) for r in result.results if not r.success]
    outcome = GateOutcome(name, len(frame), len(result.results), failed)
    if failed:
        raise GateFailed(f"gate '{name}' failed: " + " | ".join(failed))
    return outcome


@task(name="quality gate")
def gate(name: str, table: pa.Table) -> GateOutcome:
    """The Great Expectations gate at the end of a stage."""
    return validate(name, table)
