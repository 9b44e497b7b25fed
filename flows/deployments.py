"""The pipeline's deployments: a daily run and an on-demand one, served by `huunghi serve` (this module)
or deployed to a process work pool with `prefect deploy` (prefect.yaml at the repository root)."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from huunghi.flows.pipeline import pipeline_flow
from huunghi.settings import DAILY_CRON, TIMEZONE, RunSettings

DAILY = "daily"
ON_DEMAND = "on-demand"
WRITES_PER_DEPLOYMENT = 1  # a second run of the same deployment waits for the first (Prefect's own limit)


def deployments(settings: RunSettings, cron: str = DAILY_CRON, timezone: str = TIMEZONE) -> list:
    """Both deployments with `settings` as their default parameters (each field editable in the UI form)."""
    defaults = {"settings": settings.model_dump(mode="json")}
    daily = pipeline_flow.to_deployment(
        name=DAILY,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=defaults,
        description=f"Every day at {cron} ({timezone}): read the configured sources, load the warehouse. A run "
        f"whose web sources gave no page fails; one after {settings.stale_after_days} day(s) without a new article "
        "ends in the state 'No new articles' with a warning.",
        tags=["huunghi", "daily"],
        concurrency_limit=WRITES_PER_DEPLOYMENT,
    )
    on_demand = pipeline_flow.to_deployment(
        name=ON_DEMAND,
        parameters=defaults,
        description="Run now, from the UI's Run button (Quick run with these defaults, or Custom run).",
        tags=["huunghi"],
        concurrency_limit=WRITES_PER_DEPLOYMENT,
    )
    return [daily, on_demand]


def serve_deployments(settings: RunSettings, cron: str = DAILY_CRON, timezone: str = TIMEZONE) -> None:
    """Register both deployments with the server in PREFECT_API_URL and run their flow runs, until stopped."""
    serve(*deployments(settings, cron, timezone), print_starting_message=True)
