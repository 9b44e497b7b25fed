"""The run summary: counts per stage, each gate's outcome, quarantine by reason, new stories, Data Docs.

Written for every run, stopped ones included, as a Prefect artifact on the flow run (the UI's Artifacts
tab; tasks/report.py) and as `<warehouse>/quality/runs/<run_id>.json` for scripts and cron users.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from huunghi.quality.gates import QUALITY_DIR, GateOutcome

_SHOWN_STORIES = 20


@dataclass
class RunReport:
    run_id: str
    warehouse: str
    started_at: datetime
    status: str = "running"  # completed | stopped (a gate) | failed (an error) | read nothing (web sources gave none)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # what went wrong after the data was published
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    gates: list[GateOutcome] = field(default_factory=list)
    quarantine: dict[str, int] = field(default_factory=dict)
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)  # (source, stage, reason) of each input
    new_stories: list[str] = field(default_factory=list)
    to_review: list[tuple[float, str, list[str]]] = field(default_factory=list)  # (confidence, source, doubts)
    snapshot: int | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_spans: list[tuple[str, float, float]] = field(default_factory=list)  # (stage, start, end), epoch seconds
    data_docs: Path | None = None
    frontier: dict[str, int] = field(default_factory=dict)  # page URLs the web listings named, by state

    def frontier_line(self) -> str:
        """The crawl frontier in one line: "9,000 listed URLs wait for the next runs (10,000 listed, …)"."""
        f = self.frontier
        return (f"{f.get('waiting', 0):,} listed URLs wait for the next runs ({f.get('listed', 0):,} listed: "
                f"{f.get('fetched', 0):,} fetched, {f.get('refused', 0):,} refused)")  # fmt: skip

    def count(self, stage: str, **counts: int) -> None:
        self.counts[stage] = {**self.counts.get(stage, {}), **counts}

    def as_json(self) -> dict:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = datetime.now(UTC).isoformat()
        out["data_docs"] = str(self.data_docs) if self.data_docs else None
        out["gates"] = [
            {"suite": g.suite, "rows": g.rows, "expectations": g.expectations, "passed": g.passed,
             "failed": g.failed, "warnings": g.warnings, "quarantined": len(g.flagged), "seconds": round(g.seconds, 3)}
            for g in self.gates
        ]  # fmt: skip
        return out

    def markdown(self) -> str:
        lines = [f"# huunghi run `{self.run_id}`: **{self.status}**", ""]
        if self.error:
            lines += ["```", self.error[:4000], "```", ""]
        lines += [f"> Warning: {w}" for w in self.warnings] + ([""] if self.warnings else [])
        lines += ["## Counts per stage", "", "| stage | counts | seconds |", "| --- | --- | ---: |"]
        for stage, counts in self.counts.items():
            shown = ", ".join(f"{k} {v}" for k, v in counts.items())
            lines.append(f"| {stage} | {shown} | {self.stage_seconds.get(stage, 0.0):.1f} |")
        lines += ["", "## Gates", "", "| suite | rows | expectations | outcome | rows quarantined |",
                  "| --- | ---: | ---: | --- | ---: |"]  # fmt: skip
        for g in self.gates:
            verdict = "passed" if g.passed else "**failed**: " + "; ".join(g.failed)[:600]
            if g.warnings:
                verdict += " (warning: " + "; ".join(g.warnings)[:300] + ")"
            lines.append(
                f"| {g.suite} | {g.rows} | {g.expectations} | {verdict.replace('|', '/')} | {len(g.flagged)} |"
            )
        if self.frontier:
            lines += ["", "## Crawl frontier", "", self.frontier_line()]
        lines += ["", "## Quarantine of this run by stage/reason", ""]
        lines += [f"- {key}: {n}" for key, n in self.quarantine.items()] or ["- none"]
        lines += ["", f"## New stories ({len(self.new_stories)})", ""]
        lines += [f"- {title}" for title in self.new_stories[:_SHOWN_STORIES]] or ["- none"]
        if len(self.new_stories) > _SHOWN_STORIES:
            lines.append(f"- … and {len(self.new_stories) - _SHOWN_STORIES} more")
        lines += ["", f"## Pages to review ({len(self.to_review)}: parse confidence below 0.7)", ""]
        lines += [f"- {c:.2f} `{uri}`: {', '.join(doubts)}" for c, uri, doubts in self.to_review[:_SHOWN_STORIES]] or [
            "- none"
        ]
        if len(self.to_review) > _SHOWN_STORIES:
            lines.append(f"- … and {len(self.to_review) - _SHOWN_STORIES} more (view `articles_to_review`)")
        lines += ["", "## Data Docs", "", f"`{self.data_docs}`" if self.data_docs else "not built", ""]
        if self.snapshot is not None:
            lines.append(f"Warehouse snapshot {self.snapshot} at `{self.warehouse}`.")
        else:
            lines.append(f"Nothing published: `{self.warehouse}` stays at its previous snapshot.")
        return "\n".join(lines)


def staleness(last_new: datetime | None, first_run: datetime | None, days: int, now: datetime) -> str | None:
    """The warning of a warehouse that got no new or changed article for `days` days, though it has been run
    for at least that long (a fresh warehouse is not stale); None when articles keep arriving."""
    if first_run is None or now - first_run < timedelta(days=days):
        return None
    if last_new is not None and now - last_new < timedelta(days=days):
        return None
    if last_new is not None:
        since = f"the last on {last_new.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    else:
        since = f"none since the first run, {first_run.astimezone(UTC):%Y-%m-%d}"
    return (f"no new article for {days} day(s) or more ({since}): is the site publishing, and are its pages "
            "still read? (setting stale_after_days)")  # fmt: skip


def report_path(warehouse: Path, run_id: str) -> Path:
    return warehouse / QUALITY_DIR / "runs" / f"{run_id}.json"


def save_report(report: RunReport) -> Path:
    """`<warehouse>/quality/runs/<run_id>.json` (temp file + rename: never half-written)."""
    target = report_path(Path(report.warehouse), report.run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(report.as_json(), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, target)
    return target
