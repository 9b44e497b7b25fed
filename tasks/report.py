"""Publishing the run summary: the flow run's markdown artifact and the JSON file beside the warehouse."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from huunghi.crawl.sources import SourceConfigError, is_url, load
from huunghi.quality.report import RunReport, save_report
from huunghi.settings import RunSettings

ARTIFACT_KEY = "huunghi-run-summary"
QUARANTINE_KEY = "huunghi-quarantine"
DATA_DOCS_KEY = "huunghi-data-docs"
SHOWN_QUARANTINE_ROWS = 1000  # the artifact is for reading; `huunghi quarantine` lists them all


@task(name="publish run summary", task_run_name="publish run summary", timeout_seconds=600)
def publish_report(report: RunReport) -> Path:
    """The summary as a flow-run artifact (the UI's Artifacts tab) and as a JSON file; the file's path."""
    create_markdown_artifact(
        key=ARTIFACT_KEY, markdown=report.markdown(), description=f"huunghi run {report.run_id}: {report.status}"
    )
    if report.quarantined:
        rows = [{"source": s, "stage": st, "reason": r} for s, st, r in report.quarantined[:SHOWN_QUARANTINE_ROWS]]
        more = len(report.quarantined) - len(rows)
        also = f" (the first {len(rows)}; all: `huunghi quarantine --run {report.run_id}`)" if more else ""
        create_table_artifact(key=QUARANTINE_KEY, table=rows, description=f"inputs this run quarantined{also}")
    if report.data_docs:
        what = "Great Expectations' report of every gate (a file on the machine that ran the flow)"
        create_link_artifact(
            key=DATA_DOCS_KEY, link=report.data_docs.as_uri(), link_text="Data Docs of this run", description=what
        )
    return save_report(report)


def run_tags(settings: RunSettings) -> list[str]:
    """What a run is, at a glance in the UI's run list: its kinds of source, gate strictness, dry run."""
    kinds = {"web" if is_url(s) else "files" for s in settings.sources} | _file_kinds(settings.sources_file)
    if not kinds and settings.reprocess is None:  # what plan_sources reads when nothing is named
        kinds = {"bundled corpus"}
    tags = ["huunghi", *sorted(f"source:{k}" for k in kinds), f"gates:{settings.gate_strictness}"]
    if settings.sources_file:
        tags.append("source:sources-file")
    if settings.dry_run:
        tags.append("dry-run")
    if settings.reprocess is not None:
        tags.append("reprocess")
    return tags


def _file_kinds(sources_file: str | None) -> set[str]:
    """The kinds of source a sources file names: web (URLs) and files (paths)."""
    if not sources_file:
        return set()
    try:
        sources = load(Path(sources_file))
    except SourceConfigError:  # the run itself says what is wrong with it
        return set()
    return {kind for s in sources for kind, has in (("web", s.web_urls), ("files", s.paths)) if has}


def tag_flow_run(tags: list[str]) -> None:
    """Add tags to the current flow run, however it was started (CLI, deployment, UI)."""
    from prefect.client.orchestration import get_client

    if flow_run.id is None:
        return
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(flow_run.id).tags
        client.update_flow_run(flow_run.id, tags=sorted(set(current) | set(tags)))
