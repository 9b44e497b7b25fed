"""The daily pipeline as one Prefect flow: ingest → clean → dedup → enrich → load.

Each stage works on batches (one task per batch, never per page) and ends at a Great Expectations gate;
rows a gate sets aside join the quarantine, and a failed gate stops the run before load, so the
warehouse stays at its previous snapshot. The work itself is in the library (huunghi/); the tasks
(huunghi/tasks/) wrap it with retries, caching and timeouts.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext
from prefect.runtime import flow_run
from prefect.states import Completed
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from huunghi import accounting, memory, parallel, progress, staging
from huunghi.corpus import bundled_corpus
from huunghi.crawl import sources as web
from huunghi.dedup.articles import (
    PART_TABLES,
    DedupKeys,
    StoryForms,
    StoryTables,
    appearances,
    exact_duplicates,
    known_bands,
    near_duplicates,
    settle,
    similar_pairs,
    story_tables,
)
from huunghi.dedup.stories import group_keys
from huunghi.enrich import ENRICHERS, REFERENCE_TABLE, reference_rows
from huunghi.enrich import TABLES as ENRICHED_TABLES
from huunghi.firstpass import Input, PageFile, read_again
from huunghi.flows.runners import task_runner
from huunghi.knowledge import NO_KNOWLEDGE, learn_from
from huunghi.parsing.clean import knowledge_adds
from huunghi.parsing.confidence import REVIEW_BELOW
from huunghi.progress import Stopwatch
from huunghi.quality.gates import QUALITY_DIR, GateFailed, GateOutcome, Quality, StagedRows, drift_bound
from huunghi.quality.report import RunReport, staleness
from huunghi.quality.tables import CLEANED, raw_pages_table
from huunghi.readers import discover
from huunghi.records import IngestResult, Listed, PageRef, PageSummary, Quarantined, RawPage, StagedPass
from huunghi.settings import RunSettings
from huunghi.signatures import article_id
from huunghi.staging import PAGE_KEYS, RUN_BANDS, Stage
from huunghi.tasks.caching import code_version
from huunghi.tasks.clean import clean_again_and_stage, read_clean_and_stage
from huunghi.tasks.dedup import build_batch
from huunghi.tasks.enrich import enrich_batch
from huunghi.tasks.fetch import crawl_source, replay_source
from huunghi.tasks.gates import gate
from huunghi.tasks.load import load_run, record_run
from huunghi.tasks.report import publish_report, run_tags, tag_flow_run
from huunghi.tasks.reprocess import quarantined_inputs
from huunghi.text import title_key
from huunghi.warehouse import backfill, reads, search, store
from huunghi.warehouse.schema import build, schemas
from huunghi.warehouse.write import LoadOutcome, RunInfo

LAST_INPUTS = "last_inputs.json"  # under quality/: the page files of the latest published run (nothing-new check)
# Clean batches submitted at once: enough to keep both cores busy (a batch's chunks are spread over the worker
# processes), few enough that the pages of only those batches are in memory before they are staged.
CLEAN_BATCHES_IN_FLIGHT = 2
STALE_STATE = "No new articles"  # the name of a Completed state that warns: the UI shows it instead of "Completed"


class NothingRead(RuntimeError):
    """The run had web sources and none of them gave a page: not a success, whatever it published."""


@dataclass
class RunSummary:
    run_id: str
    warehouse: str
    pages: int
    counts: dict[str, int]
    stage_seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # after the data was published (e.g. the search index)
    nothing_new: str | None = None  # the line that says the stages were skipped: every input unchanged


@dataclass
class Run:
    """One run's context: where it writes, its gates and report, and every input it set aside so far."""

    settings: RunSettings
    root: Path
    info: RunInfo
    quality: Quality
    report: RunReport
    watch: Stopwatch = field(default_factory=lambda: Stopwatch(after=memory.release))  # stages' peaks take turns
    quarantined: list[Quarantined] = field(default_factory=list)
    read: dict[str, PageRef] = field(default_factory=dict)  # every page read, without its text: the `pages` table
    held: dict[str, RawPage] = field(default_factory=dict)  # the pages the flow holds whole (web, kept, doubtful)
    unchanged: list[dict] = field(default_factory=list)  # web pages loaded before with the same bytes
    frontier: list[Listed] = field(default_factory=list)  # every page URL the web sources' listings named
    web_pages: dict[str, int] | None = None  # pages each web source gave (fetched or unchanged); None: no web source
    stale: str | None = None  # the warning of a warehouse that got no new article for stale_after_days
    fingerprint: str | None = None  # the page files of a run of local files only (see inputs_fingerprint)
    nothing_new: str | None = None  # set when every input is unchanged since the latest run: stages skipped

    @property
    def stage(self) -> Stage:
        """Where the run's stages write what they made, batch by batch (huunghi/staging.py)."""
        return Stage.of_run(self.root, self.info.run_id)

    def page(self, uri: str) -> RawPage | PageRef:
        """A page read by this run, whole when it can be had (held, or read again from its file)."""
        if uri in self.held:
            return self.held[uri]
        return read_again(self.read[uri]) or self.read[uri]

    def check(self, **outputs: pa.Table | ds.Dataset | StagedRows) -> dict[str, GateOutcome]:
        """The quality gate of each stage output; a failure that stops the run raises GateFailed. The worker
        processes are ended first: idle through the gates, they would hold what their pieces grew them to (~290 MB
        each at 20,000 pages, the run's peak beside the gates' helper); the next stage forks new ones from the
        forkserver, its imports done."""
        parallel.shutdown()
        with self.watch("gates"):
            return {suite: named(gate, f"gate {suite}")(quote(self.quality), suite, quote(table))
                    for suite, table in outputs.items()}  # fmt: skip


def named(task_: Any, label: str) -> Any:
    """The task under a name that says what this run of it is (`gate raw_pages`, `clean batch 2/5`): the
    task's name and its run's name in the UI's timeline, without Prefect's random suffix."""
    return task_.with_options(name=label, task_run_name=label)


def shipped(value):
    """A batch argument for `.submit`: quoted (Prefect does not walk it) on this machine's thread pool; as is
    on Dask, whose graph would unpack the quote (a named tuple) into a plain tuple."""
    context = FlowRunContext.get()
    on_dask = context is not None and type(context.task_runner).__name__ == "DaskTaskRunner"
    return value if on_dask else quote(value)


def in_batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@task(name="index for search", task_run_name="index for search", retries=1, timeout_seconds=3600)
def index_for_search(root: Path) -> search.IndexUpdate:
    """Index what the run added or changed, drop what it removed (`huunghi search` updates a stale index)."""
    update = search.update_index(root)
    get_run_logger().info(
        "search index at snapshot %s: %d articles indexed, %d dropped, %d in all",
        update.snapshot_id, update.added, update.removed, update.total,
    )  # fmt: skip
    return update


@task(name="find sources", task_run_name="find sources", timeout_seconds=600)
def find_sources(sources: list[str], since: date | None = None) -> list[Path]:
    """The page files under the sources; with `since`, only those modified on or after that day."""
    found = discover(sources)
    if since is None:
        return found
    start = datetime.combine(since, datetime.min.time()).timestamp()
    return [p for p in found if not p.exists() or p.stat().st_mtime >= start]  # a broken link: quarantined


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


def read_web(sites: list[web.Source], root: Path, run_id: str, offline: bool) -> tuple[IngestResult, dict[str, int]]:
    """Crawl each web source (Prefect retries the crawl task with backoff), or replay the raw zone; what they
    gave, and how many pages each gave (run health: a source that gave none failed). One after the other: a
    URL two sources list is the first's (the raw zone says who settled it in this run)."""
    zone = root / "raw"
    result = IngestResult()
    pages: dict[str, int] = {}
    for site in sites:
        if offline:
            got = replay_source(site, zone)
        else:
            crawl = crawl_source.with_options(
                name=f"crawl {site.name}",
                task_run_name=f"crawl {site.name}",
                retries=site.retries,
                retry_delay_seconds=exponential_backoff(site.retry_delay_seconds),
                # every page at its timeout and rate, plus the listings: a hung crawl cannot block the day
                timeout_seconds=max(600.0, (site.max_pages + 50) * (site.timeout_seconds + 1 / site.rate_per_second)),
            )
            got = crawl(quote(site), zone, run_id, root)
        result.pages.extend(got.pages)
        result.quarantined.extend(got.quarantined)
        result.frontier.extend(got.frontier)
        # URLs an earlier source of the run gave are that source's pages: this one is not silent for them
        given = len(got.pages) + got.stats.get("pages_given_by_other_sources", 0)
        pages[site.name] = pages.get(site.name, 0) + given
    return result, pages


def kept_as_loaded(root: Path, quarantined: list[Quarantined]) -> list[Quarantined]:
    """The crawl's quarantine entries, less the failed refetches of pages the warehouse holds as an article
    or a duplicate: such a page stays as loaded (one place), its failure only in its frontier row (refused,
    with the reason). A page gone for good (404, 410) stays loaded until a policy for it exists."""
    failed = sorted({q.source_uri for q in quarantined if q.stage == "fetch"})
    held = reads.read_loaded_pages(root, failed) if failed else {}
    if held:
        get_run_logger().warning(
            "%d loaded page(s) could not be fetched again; they stay as loaded (the frontier has the reason)",
            len(held),
        )
    return [q for q in quarantined if q.stage != "fetch" or q.source_uri not in held]


def ingest(run: Run) -> list[Input]:
    """Files and web sources (or the quarantined inputs to reprocess) → what to read: page files, and the
    pages fetched from the web that the warehouse does not hold with the same bytes."""
    logger = get_run_logger()
    settings = run.settings
    if settings.reprocess is not None:
        local, sites, kept = quarantined_inputs(run.root, settings.reprocess, settings.allow_private)
    else:
        local, sites = plan_sources(settings.sources, settings.sources_file, settings.allow_private)
        kept = IngestResult()
    paths = find_sources(local, settings.since) if local else []
    logger.info("%d page files from %d path(s), %d web source(s)", len(paths), len(local), len(sites))
    if paths and not sites and settings.reprocess is None:
        run.fingerprint = inputs_fingerprint(paths, settings)
        if (unchanged := unchanged_inputs(run.root, run.fingerprint)) is not None:
            run.unchanged = unchanged
            run.nothing_new = (f"nothing new: the {len(unchanged)} page(s) of the {len(paths)} file(s) are as the "
                               "latest run loaded them; clean, dedup and enrich skipped")  # fmt: skip
            logger.info(run.nothing_new)
            return []
    parallel.warm_up(len(paths) + sum(site.max_pages for site in sites))  # the workers boot meanwhile

    fetched, run.web_pages = read_web(sites, run.root, run.info.run_id, settings.offline)
    run.web_pages = run.web_pages if sites else None
    run.quarantined.extend(kept_as_loaded(run.root, fetched.quarantined) + kept.quarantined)
    run.frontier = fetched.frontier
    if run.frontier:
        listed = accounting.frontier_counts(run.frontier)
        run.report.frontier = listed
        run.report.count("ingest", listed_urls=listed["listed"], waiting_urls=listed["waiting"])
        logger.info(run.report.frontier_line())
    # A web page already in the warehouse with the same bytes is not processed again.
    loaded = reads.read_loaded_pages(run.root, sorted({p.source_uri for p in fetched.pages}))
    same = {p.source_uri for p in fetched.pages if loaded.get(p.source_uri, {}).get("sha256") == p.sha256}
    if same:
        logger.info("%d web page(s) unchanged since they were loaded: not processed again", len(same))
    run.unchanged = [loaded[u] for u in sorted(same)]
    # quarantined pages rebuilt from their kept copy (their file is gone) come last, as they were read
    held = [p for p in fetched.pages if p.source_uri not in same] + kept.pages
    run.held = {p.source_uri: p for p in held}
    return [PageFile.of(path) for path in paths] + held


def inputs_fingerprint(paths: list[Path], settings: RunSettings) -> str:
    """The run's page files as they are on disk (path, size, modification time, as the clean's cache keys
    them), the setting that changes what the gates make of them, and the code and data files (a new version
    runs the stages again)."""
    digest = hashlib.sha256(f"{settings.gate_strictness}\0{code_version()}".encode())
    for page in sorted((PageFile.of(Path(path).absolute()) for path in paths), key=lambda page: page.path):
        digest.update(f"\0{page.path}\0{page.size}\0{page.mtime_ns}".encode())
    return digest.hexdigest()


def _last_inputs(root: Path) -> Path:
    return root / QUALITY_DIR / LAST_INPUTS


def unchanged_inputs(root: Path, fingerprint: str) -> list[dict] | None:
    """The `pages` rows of the run's inputs when it has nothing new: the same page files as the latest
    published run, which loaded every page of them (as an article or a duplicate), and no snapshot since.
    Re-running the same input changes no table but `runs`, so the stages need not run. None otherwise."""
    try:
        last = json.loads(_last_inputs(root).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(last, dict) or last.get("fingerprint") != fingerprint:
        return None
    if reads.read_latest_snapshot(root) != last.get("snapshot"):
        return None  # something was published since: the stages might make something else of the pages
    pages: dict[str, str] = last.get("pages") or {}
    loaded = reads.read_loaded_pages(root, sorted(pages))
    if not pages or any(loaded.get(uri, {}).get("sha256") != sha for uri, sha in pages.items()):
        return None
    return [loaded[uri] for uri in sorted(pages)]


def remember_inputs(run: Run) -> None:
    """After a published run of local files only in which every page was loaded: its page files and the
    snapshot it published, for the next run's nothing-new check (a stale or lost file only costs a full run)."""
    path = _last_inputs(run.root)
    path.unlink(missing_ok=True)
    if run.fingerprint is None or run.quarantined or run.report.snapshot is None or run.info.status != "completed":
        return
    pages = {uri: ref.sha256 for uri, ref in run.read.items()} | {r["source_uri"]: r["sha256"] for r in run.unchanged}
    if not pages or None in pages.values():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"fingerprint": run.fingerprint, "snapshot": run.report.snapshot, "pages": pages}),
                   "utf-8")  # fmt: skip
    os.replace(tmp, path)


@dataclass
class Cleaned:
    """The clean stage's result: the staged batches, a summary of each page that passed (in input order), and
    the pages the batches still hold that no later stage may use (set aside by a gate)."""

    parts: list[str]
    pages: list[PageSummary]
    excluded: set[str]


def clean(run: Run, inputs: list[Input]) -> Cleaned:
    """Inputs → cleaned pages, staged batch by batch, that passed `raw_pages` and `cleaned`. Each batch is read,
    cleaned with what earlier runs learned (huunghi/firstpass.py) and staged where it was cleaned; then the
    doubtful pages are cleaned again with what this whole run learned."""
    stored = reads.stored_knowledge(run.root)  # asked by key in the workers: never loaded whole
    batches = in_batches(inputs, run.settings.batch_size)
    parts = [f"{i:06d}" for i in range(1, len(batches) + 1)]
    progress.report("clean", 0, len(inputs))
    staged: list[StagedPass] = []
    in_flight: list[tuple[list[Input], Any]] = []
    done = 0
    for i, (batch, part) in enumerate(zip(batches, parts, strict=True), 1):
        if len(in_flight) >= CLEAN_BATCHES_IN_FLIGHT:  # a batch's pages are in memory until it is staged
            done += collect(staged, *in_flight.pop(0))
            progress.report("clean", done, len(inputs))
        task_ = named(read_clean_and_stage, f"clean batch {i}/{len(batches)}")
        in_flight.append((batch, task_.submit(shipped(batch), run.stage, part, stored)))
    for batch, future in in_flight:  # in input order, whatever finished first
        done += collect(staged, batch, future)
        progress.report("clean", done, len(inputs))
    refs = [ref for part in staged for ref in part.refs]
    run.read = {ref.source_uri: ref for ref in refs}  # the raw gate stops a run whose sources repeat
    run.quarantined.extend(q for part in staged for q in part.unreadable)
    run.report.count("ingest", inputs=len(refs) + len(run.quarantined) + len(run.unchanged),
                     unchanged=len(run.unchanged), pages=len(refs), quarantined=len(run.quarantined))  # fmt: skip

    verdict = run.check(raw_pages=raw_pages_table(refs))["raw_pages"]
    del refs
    run.quarantined.extend(accounting.set_aside(verdict, run.page, "ingest"))
    flagged = set(verdict.flagged)
    refused = [q for part in staged for q in part.refused if q.source_uri not in flagged]
    pages = {part.part: [p for p in part.pages if p.source_uri not in flagged] for part in staged}
    titles: Counter[str] = Counter()  # story titles the pages that passed show (a page set aside teaches nothing)
    for part in staged:
        gone = flagged & {p.source_uri for p in part.pages}
        titles.update(part.titles - staging.learned_titles(run.stage, part.part, gone))
    del staged
    pages, refused_again = reclean_with_knowledge(run, pages, set(titles), flagged, stored)
    refused += refused_again
    run.quarantined.extend(refused)

    run.quality.drift_max_share = drift_bound(*reads.read_doubtful_share(run.root, REVIEW_BELOW))
    verdict_cleaned = run.check(cleaned=staged_cleaned_table(run.stage, flagged))["cleaned"]
    run.quarantined.extend(accounting.set_aside(verdict_cleaned, run.page, "clean"))
    run.held.clear()  # the pages' texts are not needed past this point
    excluded = flagged | set(verdict_cleaned.flagged)
    articles = [p for part in parts for p in pages[part] if p.source_uri not in excluded]
    run.report.to_review = sorted(
        (r.parse_confidence, r.source_uri, list(r.parse_doubts)) for r in articles if r.parse_confidence < REVIEW_BELOW
    )
    run.report.count("clean", pages=len(run.read) - len(verdict.flagged), articles=len(articles),
                     quarantined=len(refused) + len(verdict_cleaned.flagged))  # fmt: skip
    return Cleaned(parts, articles, excluded)


def collect(staged: list[StagedPass], batch: list[Input], future: Any) -> int:
    """A clean batch's result, once it is staged; the inputs it read."""
    staged.append(future.result())
    return len(batch)


def staged_cleaned_table(stage: Stage, excluded: set[str]) -> StagedRows:
    """The `cleaned` gate's rows (quality/tables.py) of every staged page but those set aside."""
    files = tuple(str(path) for path in stage.parts("cleaned_gate"))
    return StagedRows(files, CLEANED, "source_uri", tuple(sorted(excluded)))


def reclean_with_knowledge(
    run: Run,
    pages: dict[str, list[PageSummary]],
    titles: set[str],
    flagged: set[str],
    stored: reads.StoredKnowledge | None,
) -> tuple[dict[str, list[PageSummary]], list[Quarantined]]:
    """Second look, with what the whole run learned (its pages' story `titles`, their headline lines), at the
    pages whose parse knowledge could change: the staged pieces that hold one are parsed again and staged anew, in
    the workers, two batches at a time (`batch_by_batch`). What earlier runs learned is asked by
    key (`stored`), the run's own knowledge is held whole. The batches' summaries, and the pages refused."""
    summaries = [p for part in pages.values() for p in part]
    ids = [article_id(p.source_uri) for p in summaries]
    keys = sorted({key for p in summaries for key in p.headline_lines})
    lines = ((line, p.content_hash) for p in summaries if p.content_hash is not None for line in p.headline_lines)
    learned = learn_from(titles, lines, NO_KNOWLEDGE, reads.read_headline_counts(run.root, keys, ids))
    doubtful = {part: sorted({p.piece for p in held if p.needs_knowledge}) for part, held in pages.items()}
    doubtful = {part: pieces for part, pieces in doubtful.items() if pieces}
    if not doubtful or not knowledge_adds(learned, NO_KNOWLEDGE, stored):
        return pages, []
    refused: list[Quarantined] = []
    here = not parallel.worth_workers(len(summaries))  # a run too small for the workers' start: in the thread
    batches = [(part, pieces, shipped(learned), stored, flagged, here) for part, pieces in doubtful.items()]
    for part, (redone, lost) in zip(doubtful, batch_by_batch(run, "clean again", clean_again_and_stage, batches),
                                    strict=True):  # fmt: skip
        pages[part] = [p for piece, held in groupby(pages[part], key=lambda p: p.piece)
                       for p in redone.get(piece, held)]  # fmt: skip
        refused.extend(lost)
    return pages, refused


@dataclass
class Deduped:
    """Dedup's result: the staged batches' tables, and the run's stories."""

    parts: list[str]
    stories: StoryTables
    canonical: int


def deduplicate(run: Run, cleaned: Cleaned) -> Deduped:
    """Staged pages → article, paragraph and story tables, duplicates marked, that passed their suites. Each page's
    fate is decided from its keys (content hash, LSH bands, signatures of the candidate pairs), then each batch
    becomes its rows in a worker process; nothing of the pages' text reaches the flow."""
    stage, pages = run.stage, cleaned.pages
    progress.report("dedup", 0, len(pages))
    ids = [article_id(p.source_uri) for p in pages]
    excluded_ids = {article_id(uri) for uri in cleaned.excluded}
    run_bands = stage.dataset("run_bands", RUN_BANDS)
    keys = DedupKeys(
        content_hashes=sorted({p.content_hash for p in pages}),
        article_ids=sorted(ids),
        bands=run_bands.to_table(columns=["band", "band_key"]),
        title_groups=sorted({g for key in staged_title_keys(stage, cleaned.parts) for g in group_keys(key)}),
    )
    known = reads.read_dedup_state(run.root, keys)
    duplicate_of = exact_duplicates(zip(ids, (p.content_hash for p in pages), strict=True), known)
    keys_of = stage.dataset("page_keys", PAGE_KEYS)

    def signatures(wanted: list[str]) -> dict[str, bytes]:
        wanted_ids = pa.array(wanted, pa.string())
        found = keys_of.to_table(columns=["article_id", "minhash"], filter=ds.field("article_id").isin(wanted_ids))
        mine = dict(zip(found.column("article_id").to_pylist(), found.column("minhash").to_pylist(), strict=True))
        return {aid: mine[aid] if aid in mine else known.signatures[aid] for aid in wanted}

    near = similar_pairs([run_bands, known_bands(known, set(ids))], set(duplicate_of) | excluded_ids, signatures)
    duplicate_of = settle({**duplicate_of, **near_duplicates(ids, near, duplicate_of, known)})
    by_part: dict[str, dict[str, str]] = {part: {} for part in cleaned.parts}
    for page, aid in zip(pages, ids, strict=True):
        if aid in duplicate_of:
            by_part[page.part][aid] = duplicate_of[aid]
    forms: dict[str, StoryForms] = {}
    here = not parallel.worth_workers(len(pages))  # a run too small for the workers' start: in the task's thread
    for part_forms in batch_by_batch(run, "build tables", build_batch, [
        (part, duplicates, cleaned.excluded, run.info.run_id, here) for part, duplicates in by_part.items()
    ]):  # fmt: skip
        for key, seen in part_forms.items():
            forms.setdefault(key, StoryForms()).add(seen)
    stories = story_tables(forms, known, run.info.run_id)
    for part in cleaned.parts:
        for piece in stage.pieces("appearance_keys", part):
            stage.write("story_appearances", piece, appearances(stage.read("appearance_keys", piece), stories.ids))
    progress.report("dedup", len(pages), len(pages))
    run.check(articles=staged(stage, "articles"), paragraphs=staged(stage, "paragraphs"), stories=stories.stories,
              story_appearances=staged(stage, "story_appearances"))  # fmt: skip
    canonical = len(pages) - len(duplicate_of)
    run.report.count("dedup", articles=len(pages), canonical=canonical, duplicates=len(duplicate_of),
                     stories=stories.stories.num_rows)  # fmt: skip
    return Deduped(cleaned.parts, stories, canonical)


def batch_by_batch(run: Run, label: str, task_: Any, batches: list[tuple]) -> Iterator[Any]:
    """A batch task over staged batches (`task_(stage, *batch)`), named `label i/n`, two at a time (the worker
    processes do the work; the batches' data stays on disk): each result, in batch order."""
    in_flight: list[Any] = []
    for i, batch in enumerate(batches, 1):
        if len(in_flight) >= CLEAN_BATCHES_IN_FLIGHT:
            yield in_flight.pop(0).result()
        in_flight.append(named(task_, f"{label} {i}/{len(batches)}").submit(run.stage, *batch))
    for future in in_flight:
        yield future.result()


def staged(stage: Stage, table: str) -> ds.Dataset:
    """A warehouse table the run staged, batch by batch."""
    return stage.dataset(table, schemas()[table])


def staged_title_keys(stage: Stage, parts: list[str]) -> set[str]:
    """The title keys of every story the staged pages show (a superset of the passed pages': harmless)."""
    titles: set[str] = set()
    for part in parts:
        stories = stage.read("cleaned", part, ["stories"]).column("stories")
        titles.update(pc.struct_field(pc.list_flatten(stories), "title").unique().to_pylist())
    return {title_key(t) for t in titles if t is not None}


def enrich(run: Run, deduped: Deduped) -> dict[str, int]:
    """Canonical articles → the enrichers' tables (and the entities they point at), each past its suite."""
    progress.report("enrich", 0, deduped.canonical)
    counts = {e.table: 0 for e in ENRICHERS}
    here = not parallel.worth_workers(deduped.canonical)  # a run too small for the workers' start: in the thread
    for part_counts in batch_by_batch(run, "enrich batch", enrich_batch, [(part, here) for part in deduped.parts]):
        counts = {table: n + part_counts[table] for table, n in counts.items()}
    progress.report("enrich", deduped.canonical, deduped.canonical)
    run.check(**{REFERENCE_TABLE: build(REFERENCE_TABLE, reference_rows())},
              **{e.table: staged(run.stage, e.table) for e in ENRICHERS})  # fmt: skip
    run.report.count("enrich", articles=deduped.canonical, **counts)
    return counts


def staged_tables(run: Run, deduped: Deduped) -> dict[str, pa.Table | ds.Dataset]:
    """The stages' tables, as the load reads them: the staged batches, and the run's stories and entities."""
    return {
        **{name: staged(run.stage, name) for name in (*PART_TABLES, "story_appearances", *ENRICHED_TABLES)},
        "stories": deduped.stories.stories,
        "story_aliases": deduped.stories.story_aliases,
        "story_alias_groups": deduped.stories.story_alias_groups,
        REFERENCE_TABLE: build(REFERENCE_TABLE, reference_rows()),
    }


def load(run: Run, tables: dict[str, pa.Table | ds.Dataset]) -> dict[str, int]:
    """Every table of the run, with where each input ended, in one snapshot (or none on a dry run)."""
    articles = tables["articles"]
    ended = articles.to_table(columns=["source_uri", "article_id", "duplicate_of"]) if isinstance(
        articles, ds.Dataset) else articles  # fmt: skip
    tables = {
        **tables,
        "pages": accounting.pages_table(
            list(run.read.values()), ended, run.quarantined, run.info.run_id, run.unchanged
        ),
        "quarantine": accounting.quarantine_table(run.quarantined, run.info.run_id),
        "frontier": accounting.frontier_table(run.frontier, run.info.run_id),
    }
    del ended
    run.report.quarantine = accounting.reasons(run.quarantined)
    run.report.quarantined = sorted((q.source_uri, q.stage, q.reason) for q in run.quarantined)
    run.check(pages=tables["pages"], **({"frontier": tables["frontier"]} if run.frontier else {}))
    progress.report("load", 0, tables["pages"].num_rows)
    loaded = load_run(run.root, quote(tables), run.info, quote(run.quality), run.settings.dry_run,
                      run.settings.lock_wait_seconds)  # fmt: skip
    progress.report("load", tables["pages"].num_rows, tables["pages"].num_rows)
    return loaded_as(run, loaded)


def record(run: Run) -> dict[str, int]:
    """A run with nothing new: its `runs` row alone (no table changes: no gate has a row to judge)."""
    loaded = record_run(run.root, run.info, len(run.unchanged), run.settings.dry_run, run.settings.lock_wait_seconds)
    return loaded_as(run, loaded)


def loaded_as(run: Run, loaded: LoadOutcome) -> dict[str, int]:
    """The load's outcome in the run's report, with the staleness warning it implies."""
    run.report.count("load", **loaded.counts)
    run.report.new_stories = loaded.new_stories
    run.report.snapshot = loaded.snapshot
    run.report.status = "dry run" if run.settings.dry_run else "completed"
    days = run.settings.stale_after_days
    if stale := staleness(loaded.last_new_article_at, loaded.first_run_at, days, datetime.now(UTC)):
        run.stale = stale
        run.report.warnings.append(stale)
        get_run_logger().warning(stale)
    return loaded.counts


def nothing_read(run: Run) -> str | None:
    """Why a run that had web sources is not a success: none of them gave a page (each failed, or listed
    nothing). One line, with what the listings and fetches ended as."""
    if run.web_pages is None or any(run.web_pages.values()):
        return None
    failures = accounting.reasons([q for q in run.quarantined if q.stage in ("discover", "fetch")])
    how = ", ".join(f"{key} {n}" for key, n in failures.items()) or "their listings named no page"
    names = ", ".join(sorted(run.web_pages))
    return (f"read nothing: no page from the {len(run.web_pages)} web source(s) ({names}); {how} "
            "(what the run learned, its quarantine and frontier rows, is kept)")  # fmt: skip


def warn_silent_sources(run: Run) -> None:
    """A web source that gave no page while others did: the run goes on, with a warning."""
    if run.web_pages is None or not any(run.web_pages.values()):
        return
    for name in sorted(name for name, pages in run.web_pages.items() if not pages):
        warning = f"web source {name} gave no page (see the quarantine's discover and fetch rows of this run)"
        run.report.warnings.append(warning)
        get_run_logger().warning(warning)


def stages(run: Run) -> RunSummary:
    """The process itself."""
    if done := backfill.backfill_dedup_keys(run.root):  # a warehouse of an older version, once (we hold the lock)
        get_run_logger().info(done)
    if swept := staging.sweep(run.root, keep=run.info.run_id):  # we hold the lock: no live run's folder
        get_run_logger().info("removed the staged files of %d run(s) that did not end: %s", len(swept), swept)
    with reads.session(run.root):  # what the stages read of earlier runs, through one connection
        with run.watch("ingest"):
            inputs = ingest(run)
        if nothing := nothing_read(run):  # the run still publishes what it learned, then fails (below)
            run.info.status = "read_nothing"
            get_run_logger().error(nothing)
        warn_silent_sources(run)
        if run.nothing_new:
            tables = None
            run.report.count("ingest", inputs=len(run.unchanged), unchanged=len(run.unchanged), pages=0, quarantined=0)
        else:
            with run.watch("clean"):  # reads the page files too, in the workers that clean them
                cleaned = clean(run, inputs)
                del inputs
            with run.watch("dedup"):
                deduped = deduplicate(run, cleaned)
                del cleaned
            with run.watch("enrich"):
                enrich(run, deduped)
            parallel.shutdown()  # the workers' part is done: their memory is not held through the load and index
            tables = staged_tables(run, deduped)
    with run.watch("load"):
        counts = record(run) if tables is None else load(run, tables)
        del tables
    if not run.settings.dry_run:
        remember_inputs(run)
        staging.forget_reusable(run.root)  # kept for a retried run: one that published needs none of them
    if not run.settings.dry_run:
        with run.watch("search index"):
            try:
                index_for_search(run.root)
            except Exception as exc:  # the data is published: a stale index is a warning, caught up next time
                warning = (f"search index not updated ({type(exc).__name__}: {exc}); the run's data is published, "
                           "and the next run or `huunghi search` brings the index up to date")  # fmt: skip
                run.report.warnings.append(warning)
                get_run_logger().warning(warning)
    if nothing:
        raise NothingRead(nothing)
    inputs = run.report.counts["ingest"]["inputs"]
    return RunSummary(run.info.run_id, str(run.root), inputs, {**counts, "unchanged": len(run.unchanged)},
                      run.watch.seconds, run.report.warnings, run.nothing_new)  # fmt: skip


@flow(name="huunghi-pipeline", log_prints=True, task_runner=task_runner())
def pipeline_flow(settings: RunSettings | None = None) -> RunSummary:
    """Turn news pages into the warehouse: one run, one snapshot (or none: a dry run, a stopped run)."""
    settings = settings or RunSettings()
    logger = get_run_logger()
    started_at = datetime.now(UTC)
    flow_run_id = str(flow_run.id) if flow_run.id else None
    run_id = flow_run_id or str(uuid.uuid4())
    root = store.check_location(settings.warehouse, create=True)
    tag_flow_run(run_tags(settings))
    run = Run(
        settings=settings,
        root=root,
        info=RunInfo(run_id, flow_run_id, started_at),
        quality=Quality(root, run_id, started_at, enforce_rates=settings.gate_strictness == "strict"),
        report=RunReport(run_id, str(root), started_at),
    )
    with ExitStack() as stack:
        stack.callback(parallel.shutdown)  # worker processes live for one run at most (ended before gates too)
        stack.enter_context(store.run_lock(root, settings.lock_wait_seconds, say=logger.warning))  # one at a time
        try:
            summary = stages(run)
        except GateFailed as exc:
            run.report.status, run.report.error = "stopped", str(exc)
            raise
        except NothingRead as exc:
            run.report.status, run.report.error = "read nothing", str(exc)
            raise
        except Exception as exc:
            run.report.status, run.report.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            run.stage.remove()  # staged files are never trusted by another run
            run.report.gates = run.quality.outcomes
            run.report.stage_seconds = run.watch.seconds
            run.report.stage_spans = run.watch.spans
            try:
                run.report.data_docs = run.quality.build_docs()
            except Exception as exc:  # the docs must not hide the run's own outcome
                logger.warning("Data Docs not built: %s", exc)
            publish_report(quote(run.report))
    logger.info("run %s %s: %s", run_id, run.report.status, summary.counts)
    if run.stale:  # a success that warns: the UI shows the state's name instead of a plain "Completed"
        return Completed(data=summary, name=STALE_STATE, message=run.stale)
    return summary


def pipeline(*, dask: str | None = None, **settings) -> RunSummary:
    """Run the flow with settings given as keywords (see RunSettings): `pipeline(sources=[...], warehouse=...)`;
    `dask="local"` or a scheduler address runs the batches on Dask (flows/runners.py)."""
    flow_ = pipeline_flow.with_options(task_runner=task_runner(dask)) if dask else pipeline_flow
    return flow_(RunSettings(**settings))
