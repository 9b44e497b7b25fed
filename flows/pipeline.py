"""The daily pipeline as one Prefect flow: ingest → clean → dedup → enrich → load.

Each stage works on batches and ends at a Great Expectations gate; a failed gate stops the run before
load, so the warehouse stays at its previous snapshot.
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from flows.runners import task_runner
from flows.settings import RunSettings
from huunghi import parallel, progress
from huunghi.corpus import bundled_corpus
from huunghi.crawl import sources as web
from huunghi.records import CleanResult, Quarantined, RawPage
from tasks.clean import Knowledge, clean_pages, second_pass
from tasks.dedup import article_id, dedup_articles
from tasks.enrich import EnrichResult, enrich_articles
from tasks.fetch import crawl_source, replay_source
from tasks.gates import GateFailed, GateOutcome, Quality, gate
from tasks.ingest import IngestResult, discover, ingest_pages
from tasks.load import RunInfo, RunTables, headline_counts, load_knowledge, load_known, load_run, processed_pages
from tasks.report import RunReport, publish_report
from tasks.reprocess import quarantined_inputs
from warehouse import search, store
from warehouse.tables import build


@dataclass
class RunSummary:
    run_id: str
    warehouse: str
    pages: int
    counts: dict[str, int]
    stage_seconds: dict[str, float] = field(default_factory=dict)


class _Stopwatch:
    """Seconds per stage; time spent in a nested span (the gates) is not counted twice."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list] = []

    @contextmanager
    def __call__(self, stage: str):
        self._stack.append([stage, time.perf_counter(), 0.0])
        try:
            yield
        finally:
            name, t0, nested = self._stack.pop()
            spent = time.perf_counter() - t0
            self.seconds[name] = self.seconds.get(name, 0.0) + spent - nested
            if self._stack:
                self._stack[-1][2] += spent


def _odd_share(text: str) -> float:
    """Share of characters that are not text: U+FFFD (undecodable bytes) and control characters."""
    if not text:
        return 0.0
    odd = text.count("\ufffd") + sum(text.count(c) for c in _CONTROL_CHARS)
    return odd / len(text)


_CONTROL_CHARS = [chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\x7f"]


def shipped(value):
    """A batch argument for `.submit`: quoted (Prefect does not walk it) on this machine's thread pool; as is
    on Dask, whose graph would unpack the quote (a named tuple) into a plain tuple."""
    context = FlowRunContext.get()
    on_dask = context is not None and type(context.task_runner).__name__ == "DaskTaskRunner"
    return value if on_dask else quote(value)


def _raw_table(pages: list[RawPage]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "source_uri": p.source_uri,
                "sha256": p.sha256,
                "format": p.format,
                "size": p.size,
                "odd_char_share": _odd_share(p.text),
            }
            for p in pages
        ],
        schema=pa.schema(
            [
                ("source_uri", pa.string()),
                ("sha256", pa.string()),
                ("format", pa.string()),
                ("size", pa.int64()),
                ("odd_char_share", pa.float64()),
            ]
        ),
    )


def _cleaned_table(records: list[dict]) -> pa.Table:
    """One row per cleaned page, complete or not: what the `cleaned` gate judges."""
    return pa.Table.from_pylist(
        [
            {
                "source_uri": r["source_uri"],
                "title": r["title"],
                "published_at": r["published_at"],
                "lead": r["lead"],
                "body": "\n".join(text for kind, text in r["paragraphs"] if kind == "body"),
                "body_paragraphs": sum(1 for kind, _ in r["paragraphs"] if kind == "body"),
                "extractor": r["extractor"],
            }
            for r in records
        ],
        schema=pa.schema(
            [
                ("source_uri", pa.string()),
                ("title", pa.string()),
                ("published_at", pa.timestamp("us", tz="UTC")),
                ("lead", pa.string()),
                ("body", pa.string()),
                ("body_paragraphs", pa.int32()),
                ("extractor", pa.string()),
            ]
        ),
    )


def set_aside(outcome: GateOutcome, pages: dict[str, RawPage], stage: str) -> list[Quarantined]:
    """The pages whose rows failed a row-level expectation, as quarantine entries with the gate's reason."""
    return [
        Quarantined.of(pages[uri], stage, reason, f"gate '{outcome.suite}': {details}")
        for uri, (reason, details) in sorted(outcome.flagged.items())
    ]


def _pages_table(
    pages: list[RawPage], articles: pa.Table, quarantined: list[Quarantined], run_id: str, unchanged: list[dict]
) -> pa.Table:
    """Where every input ended: article, duplicate or quarantine. Unchanged web pages keep their row as
    loaded (the load's merge leaves it as it is); they count as inputs for the pages gate."""
    ended = {
        row["source_uri"]: ("duplicate" if row["duplicate_of"] else "article", row["article_id"])
        for row in articles.select(["source_uri", "article_id", "duplicate_of"]).to_pylist()
    }
    rows = [
        {
            "source_uri": p.source_uri,
            "sha256": p.sha256,
            "format": p.format,
            "size": p.size,
            "fetched_at": p.fetched_at,
            "url": p.url,
            "outcome": ended.get(p.source_uri, ("quarantine", None))[0],
            "article_id": ended.get(p.source_uri, (None, None))[1],
            "run_id": run_id,
        }
        for p in pages
    ]
    rows += [{**row, "run_id": run_id} for row in unchanged]
    seen = {r["source_uri"] for r in rows}
    rows += [
        {"source_uri": q.source_uri, "sha256": q.sha256, "outcome": "quarantine", "run_id": run_id}
        for q in quarantined
        if q.source_uri not in seen
    ]
    return build("pages", sorted(rows, key=lambda r: r["source_uri"]))


def _quarantine_table(quarantined: list[Quarantined], run_id: str) -> pa.Table:
    rows = [
        {
            "source_uri": q.source_uri,
            "sha256": q.sha256,
            "stage": q.stage,
            "reason": q.reason,
            "details": q.details,
            "raw": q.raw,
            "run_id": run_id,
        }
        for q in sorted(quarantined, key=lambda q: (q.source_uri, q.stage))
    ]
    return build("quarantine", rows)


def reclean_with_knowledge(pages: list[RawPage], cleaned: CleanResult, known: Knowledge, root: Path) -> CleanResult:
    """Second look, with what the whole run learned, at the pages whose parse knowledge could change."""
    ids = [article_id(r["source_uri"]) for r in cleaned.articles]
    keys = sorted({key for r in cleaned.articles for key in r["headline_lines"]})
    stored = headline_counts(root, keys, ids)
    return second_pass(
        pages, cleaned, known, stored, lambda doubtful, learned: clean_pages(quote(doubtful), quote(learned))
    )


def check(watch: _Stopwatch, quality: Quality, **outputs: pa.Table) -> dict[str, GateOutcome]:
    """Run the quality gate of each stage output; a failure that stops the run raises GateFailed."""
    with watch("gates"):
        return {suite: gate(quote(quality), suite, quote(table)) for suite, table in outputs.items()}


@task(name="index for search", retries=1, timeout_seconds=3600)
def index_for_search(root: Path) -> int:
    """Rebuild the full-text index from what the run committed (`huunghi search` rebuilds a stale one)."""
    return search.build_index(root)


@task(name="find sources", timeout_seconds=600)
def find_sources(sources: list[str], since: date | None = None) -> list[Path]:
    """The page files under the sources; with `since`, only those modified on or after that day."""
    found = discover(sources)
    if since is None:
        return found
    start = datetime.combine(since, datetime.min.time()).timestamp()
    return [p for p in found if p.stat().st_mtime >= start]


def plan_sources(
    sources: list[str], sources_file: str | None, allow_private: bool
) -> tuple[list[str], list[web.Source]]:
    """(local paths, web sources) from --source values (paths or URLs) and a sources file."""
    paths = [s for s in sources or [] if not web.is_url(s)]
    sites = [web.from_url(s, allow_private) for s in sources or [] if web.is_url(s)]
    if sources_file:
        for source in web.load(Path(sources_file)):
            paths += list(source.paths)
            if source.web_urls:
                sites.append(source)
    if not paths and not sites:
        paths = [str(bundled_corpus())]
    return paths, sites


def read_web(sites: list[web.Source], zone: Path, run_id: str, offline: bool) -> tuple[list[RawPage], list]:
    """Crawl each web source (Prefect retries the crawl task with backoff), or replay the raw zone."""
    pages: list[RawPage] = []
    quarantined: list[Quarantined] = []
    for site in sites:
        if offline:
            got = replay_source(site, zone)
        else:
            crawl = crawl_source.with_options(
                retries=site.retries,
                retry_delay_seconds=exponential_backoff(site.retry_delay_seconds),
                # every page at its timeout and rate, plus the listings: a hung crawl cannot block the day
                timeout_seconds=max(600.0, (site.max_pages + 50) * (site.timeout_seconds + 1 / site.rate_per_second)),
            )
            got = crawl(quote(site), zone, run_id)
        pages.extend(got.pages)
        quarantined.extend(got.quarantined)
    return pages, quarantined


def read_inputs(
    root: Path, run_id: str, paths: list[Path], sites: list[web.Source], batch_size: int, offline: bool
) -> tuple[list[RawPage], list[Quarantined], list[dict]]:
    """Raw pages from files and the web, the inputs that could not be read, and the unchanged web pages."""
    logger = get_run_logger()
    pages: list[RawPage] = []
    quarantined: list[Quarantined] = []
    names = [str(path) for path in paths]  # plain strings travel to any task runner's workers unchanged
    progress.report("ingest", 0, len(names))
    batches = [ingest_pages.submit(shipped(names[i : i + batch_size])) for i in range(0, len(names), batch_size)]
    for batch in (future.result() for future in batches):  # in input order, whatever finished first
        pages.extend(batch.pages)
        quarantined.extend(batch.quarantined)
        progress.report("ingest", len(pages) + len(quarantined), len(names))
    fetched, refused = read_web(sites, root / "raw", run_id, offline)
    quarantined.extend(refused)
    # A web page already in the warehouse with the same bytes is not processed again.
    loaded = processed_pages(root, sorted({p.source_uri for p in fetched}))
    same = {p.source_uri for p in fetched if loaded.get(p.source_uri, {}).get("sha256") == p.sha256}
    pages.extend(p for p in fetched if p.source_uri not in same)
    if same:
        logger.info("%d web page(s) unchanged since they were loaded: not processed again", len(same))
    return pages, quarantined, [loaded[u] for u in sorted(same)]


@flow(name="huunghi-pipeline", log_prints=True, task_runner=task_runner())
def pipeline_flow(settings: RunSettings | None = None) -> RunSummary:
    """Turn news pages into the warehouse: one run, one snapshot (or none: a dry run, a stopped run)."""
    settings = settings or RunSettings()
    logger = get_run_logger()
    started_at = datetime.now(UTC)
    flow_run_id = str(flow_run.id) if flow_run.id else None
    run_id = flow_run_id or str(uuid.uuid4())
    root = store.check_location(settings.warehouse, create=True)
    watch = _Stopwatch()
    quality = Quality(root, run_id, started_at, enforce_rates=settings.gate_strictness == "strict")
    report = RunReport(run_id, str(root), started_at)

    parallel.warm_up()
    with ExitStack() as stack:
        stack.callback(parallel.shutdown)  # worker processes live for one run
        stack.enter_context(store.run_lock(root, settings.lock_wait_seconds, say=logger.warning))  # one at a time
        try:
            summary = _run(watch, quality, report, root, run_id, flow_run_id, started_at, settings)
        except GateFailed as exc:
            report.status, report.error = "stopped", str(exc)
            raise
        except Exception as exc:
            report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            report.gates = quality.outcomes
            report.stage_seconds = watch.seconds
            try:
                report.data_docs = quality.build_docs()
            except Exception as exc:  # the docs must not hide the run's own outcome
                logger.warning("Data Docs not built: %s", exc)
            publish_report(quote(report))
    logger.info("run %s %s: %s", run_id, report.status, summary.counts)
    return summary


def pipeline(*, dask: str | None = None, **settings) -> RunSummary:
    """Run the flow with settings given as keywords (see RunSettings): `pipeline(sources=[...], warehouse=...)`;
    `dask="local"` or a scheduler address runs the batches on Dask (flows/runners.py)."""
    flow_ = pipeline_flow.with_options(task_runner=task_runner(dask)) if dask else pipeline_flow
    return flow_(RunSettings(**settings))


def _run(
    watch: _Stopwatch,
    quality: Quality,
    report: RunReport,
    root: Path,
    run_id: str,
    flow_run_id: str | None,
    started_at: datetime,
    settings: RunSettings,
) -> RunSummary:
    """The stages, each ending at its gate; rows a gate sets aside join the quarantine."""
    logger = get_run_logger()
    with watch("ingest"):
        batch_size, allow_private = settings.batch_size, settings.allow_private
        if settings.reprocess is not None:
            local, sites, kept = quarantined_inputs(root, settings.reprocess, allow_private)
        else:
            local, sites = plan_sources(settings.sources, settings.sources_file, allow_private)
            kept = IngestResult()
        paths = find_sources(local, settings.since) if local else []
        logger.info("%d page files from %d path(s), %d web source(s)", len(paths), len(local), len(sites))
        pages, quarantined, unchanged = read_inputs(root, run_id, paths, sites, batch_size, settings.offline)
        pages.extend(kept.pages)  # quarantined pages rebuilt from their kept copy (their file is gone)
        quarantined.extend(kept.quarantined)
        report.count("ingest", inputs=len(pages) + len(quarantined) + len(unchanged), unchanged=len(unchanged),
                     pages=len(pages), quarantined=len(quarantined))  # fmt: skip
        read, by_uri = pages, {p.source_uri: p for p in pages}
        raw = check(watch, quality, raw_pages=_raw_table(pages))["raw_pages"]
        quarantined.extend(set_aside(raw, by_uri, "ingest"))
        pages = [p for p in pages if p.source_uri not in raw.flagged]

    with watch("clean"):
        known = load_knowledge(root)
        batches = [
            clean_pages.submit(shipped(pages[i : i + batch_size]), shipped(known))
            for i in range(0, len(pages), batch_size)
        ]
        progress.report("clean", 0, len(pages))
        parts: list[CleanResult] = []
        for future in batches:
            parts.append(future.result())
            progress.report("clean", sum(len(p.articles) + len(p.quarantined) for p in parts), len(pages))
        cleaned = CleanResult.merge(parts)
        cleaned = reclean_with_knowledge(pages, cleaned, known, root)
        quarantined.extend(cleaned.quarantined)
        verdict = check(watch, quality, cleaned=_cleaned_table(cleaned.articles))["cleaned"]
        quarantined.extend(set_aside(verdict, by_uri, "clean"))
        articles = [r for r in cleaned.articles if r["source_uri"] not in verdict.flagged]
        incomplete = [r["source_uri"] for r in articles if r["content_hash"] is None]  # if the suite stops checking
        quarantined.extend(Quarantined.of(by_uri[u], "clean", "incomplete", "no title or no body") for u in incomplete)
        articles = [r for r in articles if r["content_hash"] is not None]
        report.count("clean", pages=len(pages), articles=len(articles),
                     quarantined=len(cleaned.quarantined) + len(verdict.flagged) + len(incomplete))  # fmt: skip

    with watch("dedup"):
        hashes = sorted({r["content_hash"] for r in articles})
        progress.report("dedup", 0, len(articles))
        deduped = dedup_articles(quote(articles), quote(load_known(root, hashes)), run_id)
        progress.report("dedup", len(articles), len(articles))
        check(
            watch,
            quality,
            articles=deduped.articles,
            paragraphs=deduped.paragraphs,
            stories=deduped.stories,
            story_appearances=deduped.appearances,
        )
        report.count("dedup", articles=len(articles), canonical=len(deduped.canonical),
                     duplicates=len(articles) - len(deduped.canonical), stories=deduped.stories.num_rows)  # fmt: skip

    with watch("enrich"):
        canonical = deduped.canonical
        batches = [
            enrich_articles.submit(shipped(canonical[i : i + batch_size])) for i in range(0, len(canonical), batch_size)
        ]
        progress.report("enrich", 0, len(canonical))
        done: list[EnrichResult] = []
        for future in batches:
            done.append(future.result())
            progress.report("enrich", min(len(done) * batch_size, len(canonical)), len(canonical))
        enriched = EnrichResult.merge(done) if done else enrich_articles([])
        check(
            watch,
            quality,
            entities=enriched.entities,
            mentions=enriched.mentions,
            people=enriched.people,
            partnerships=enriched.partnerships,
            amounts=enriched.amounts,
        )
        report.count("enrich", articles=len(deduped.canonical), mentions=enriched.mentions.num_rows,
                     people=enriched.people.num_rows, partnerships=enriched.partnerships.num_rows,
                     amounts=enriched.amounts.num_rows)  # fmt: skip

    with watch("load"):
        tables = RunTables(
            articles=deduped.articles,
            paragraphs=deduped.paragraphs,
            stories=deduped.stories,
            appearances=deduped.appearances,
            story_aliases=deduped.story_aliases,
            headline_lines=deduped.headline_lines,
            signatures=deduped.signatures,
            entities=enriched.entities,
            mentions=enriched.mentions,
            people=enriched.people,
            partnerships=enriched.partnerships,
            amounts=enriched.amounts,
            pages=_pages_table(read, deduped.articles, quarantined, run_id, unchanged),
            quarantine=_quarantine_table(quarantined, run_id),
        )
        report.quarantine = _reasons(quarantined)
        check(watch, quality, pages=tables.pages)
        progress.report("load", 0, tables.pages.num_rows)
        loaded = load_run(
            root, quote(tables), RunInfo(run_id, flow_run_id, started_at), quote(quality), settings.dry_run
        )
        progress.report("load", tables.pages.num_rows, tables.pages.num_rows)
        report.count("load", **loaded.counts)
        report.new_stories = loaded.new_stories
        report.snapshot = loaded.snapshot
        report.status = "dry run" if settings.dry_run else "completed"
    if not settings.dry_run:
        with watch("search index"):
            index_for_search(root)
    counts = {**loaded.counts, "unchanged": len(unchanged)}
    return RunSummary(run_id, str(root), report.counts["ingest"]["inputs"], counts, watch.seconds)


def _reasons(quarantined: list[Quarantined]) -> dict[str, int]:
    """Quarantine entries of this run by stage and reason ("clean/no_title": 3)."""
    counts: dict[str, int] = {}
    for q in quarantined:
        key = f"{q.stage}/{q.reason}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
