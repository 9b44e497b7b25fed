"""Publishing the run summary: the flow run's markdown artifact and the JSON file beside the warehouse."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact

from huunghi.quality.report import RunReport, save_report

ARTIFACT_KEY = "huunghi-run-summary"


@task(name="publish run summary", timeout_seconds=600)
def publish_report(report: RunReport) -> Path:
    """The summary as a flow-run artifact (the UI's Artifacts tab) and as a JSON file; the file's path."""
    create_markdown_artifact(
        key=ARTIFACT_KEY, markdown=report.markdown(), description=f"huunghi run {report.run_id}: {report.status}"
    )
    return save_report(report)
