"""A run's staged files: what each batch of a stage made, written to disk where it was made, so the flow process
holds references and counts, never the pages (as datatrove's steps do). The load reads the staged Parquet files
in its one transaction; the run's folder is removed when the run ends, and a killed run's by the next run.

    <warehouse>/staging/<run id>/<table>/<part>.parquet   one file per batch (and per pass), never appended to
    <warehouse>/staging/<run id>/<table>/<part>-<piece>.parquet   the clean's tables: one file per piece of a batch
    <warehouse>/staging/<run id>/kept/<part>-<piece>.pickle       pages the second pass parses again, with their
                                                                  prepared form

The clean stages a batch piece by piece, each piece in the worker process that read and cleaned it: the pages'
text never reaches the flow process. Later stages read a batch's pieces as one table (`Stage.read`). A file is
written under a temporary name and renamed, so a part that exists is whole.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from huunghi.dedup.articles import ENRICHED_KINDS, StoryForms, band_rows, build_part
from huunghi.enrich import ENRICHERS, enrich_chunk
from huunghi.firstpass import Input, read_and_clean
from huunghi.knowledge import NO_KNOWLEDGE, Knowledge, Lookup
from huunghi.memory import release
from huunghi.parsing.clean import clean_chunk
from huunghi.quality.tables import cleaned_table
from huunghi.records import (
    ArticleText,
    CleanedPage,
    CleanResult,
    FirstPass,
    PageSummary,
    Prepared,
    Quarantined,
    RawPage,
    Sighting,
    StagedPass,
)
from huunghi.signatures import article_id
from huunghi.warehouse.schema import from_rows

STAGING_DIR = "staging"
REUSE_DIR = "reuse"  # under staging/: first passes kept until a run publishes (a retried run reuses them)
REUSE_DAYS = 1  # kept at most this long
# Pages a worker turns into rows at a time: their Python objects (records, row dicts) take several times their
# Arrow size. A batch of 2,000 bench pages built at once took a worker +216 MB, 250 at a time +153 MB.
SLICE = 250
# The files of a staged first pass (of each piece), as (table, suffix).
FIRST_PASS_FILES = (("cleaned", "parquet"), ("cleaned_gate", "parquet"), ("page_keys", "parquet"),
                    ("run_bands", "parquet"), ("kept", "pickle"))  # fmt: skip

CLEANED_PAGE = pa.schema(
    [
        ("source_uri", pa.string()),
        ("sha256", pa.string()),
        ("url", pa.string()),
        ("extractor", pa.string()),
        ("title", pa.string()),
        ("kicker", pa.string()),
        ("language", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("section", pa.string()),
        ("author", pa.string()),
        ("lead", pa.string()),
        ("paragraphs", pa.list_(pa.struct([("kind", pa.string()), ("text", pa.string())]))),
        (
            "stories",
            pa.list_(
                pa.struct(
                    [("block", pa.string()), ("title", pa.string()), ("summary", pa.string()), ("url", pa.string())]
                )
            ),
        ),
        ("learned_titles", pa.list_(pa.string())),
        ("headline_lines", pa.list_(pa.string())),
        ("needs_knowledge", pa.bool_()),
        ("content_hash", pa.string()),
        ("minhash", pa.binary()),
        ("parse_confidence", pa.float64()),
        ("parse_doubts", pa.list_(pa.string())),
    ]
)
RUN_BANDS = pa.schema([("article_id", pa.string()), ("band", pa.int8()), ("band_key", pa.uint64())])
PAGE_KEYS = pa.schema([("article_id", pa.string()), ("source_uri", pa.string()), ("content_hash", pa.string()),
                       ("minhash", pa.binary())])  # fmt: skip


def cleaned_to_arrow(pages: list[CleanedPage]) -> pa.Table:
    """Cleaned pages as one Arrow table (their prepared form is not kept: see `Stage.keep`)."""
    columns: dict[str, list] = {name: [] for name in CLEANED_PAGE.names}
    for page in pages:
        for name in CLEANED_PAGE.names:
            value = getattr(page, name)
            if name == "paragraphs":
                value = [{"kind": kind, "text": text} for kind, text in value]
            elif name == "stories":
                value = [story._asdict() for story in value]
            columns[name].append(value)
    return pa.table(columns, schema=CLEANED_PAGE)


def cleaned_from_arrow(table: pa.Table) -> list[CleanedPage]:
    """The cleaned pages a table of `cleaned_to_arrow` holds, equal to those written."""
    pages = []
    for row in table.to_pylist():
        row["paragraphs"] = [(p["kind"], p["text"]) for p in row["paragraphs"]]
        row["stories"] = [Sighting(**s) for s in row["stories"]]
        pages.append(CleanedPage(**row))
    return pages


@dataclass(frozen=True, slots=True)
class Stage:
    """The staging folder of one run: small and picklable, so a task (or a Dask worker) writes its own batch."""

    folder: str

    @classmethod
    def of_run(cls, root: Path, run_id: str) -> Stage:
        return cls(str(root / STAGING_DIR / run_id))

    def part(self, table: str, part: str, suffix: str = "parquet") -> Path:
        return Path(self.folder) / table / f"{part}.{suffix}"

    def write(self, table: str, part: str, data: pa.Table) -> Path:
        """One batch's rows of a table, written whole or not at all (a later pass of a batch replaces it)."""
        path = self.part(table, part)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(data, tmp, compression="zstd")
        os.replace(tmp, path)
        return path

    def parts(self, table: str) -> list[Path]:
        """A table's parts, in part order (batch order): the same rows whatever order the batches ended in."""
        folder = Path(self.folder) / table
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def files(self, table: str, part: str, suffix: str = "parquet") -> list[Path]:
        """A batch's files of a table: the batch's own, or its pieces' in piece order."""
        whole = self.part(table, part, suffix)
        pieces = sorted(whole.parent.glob(f"{part}-*.{suffix}")) if whole.parent.is_dir() else []
        return ([whole] if whole.exists() else []) + pieces

    def pieces(self, table: str, part: str) -> list[str]:
        """The names of a batch's files of a table (its pieces', or its own): what a later stage works on, piece
        by piece (a worker process's share)."""
        return [path.name.removesuffix(".parquet") for path in self.files(table, part)]

    def read(self, table: str, part: str, columns: list[str] | None = None) -> pa.Table:
        """A batch's rows of a table (its pieces' one after the other), or one piece's."""
        files = self.files(table, part)
        if not files:
            raise FileNotFoundError(f"no staged {table} for batch {part} in {self.folder}")
        if len(files) == 1:
            return pq.read_table(files[0], columns=columns)
        return pa.concat_tables([pq.read_table(path, columns=columns) for path in files])

    def dataset(self, table: str, schema: pa.Schema) -> ds.Dataset:
        """Every part of a table as one dataset (read by DuckDB or in slices, never whole unless asked)."""
        return ds.dataset([str(p) for p in self.parts(table)], schema=schema, format="parquet")

    def keep(self, part: str, pages: list[tuple[RawPage, Prepared | None]]) -> None:
        """The pages of a piece the second pass may parse again, with what the first pass prepared of them."""
        if not pages:
            return
        path = self.part("kept", part, "pickle")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(pages, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)

    def kept(self, part: str) -> list[tuple[RawPage, Prepared | None]]:
        return [page for path in self.files("kept", part, "pickle") for page in pickle.loads(path.read_bytes())]

    def drop(self, part: str) -> None:
        """A piece's first-pass files, removed (a piece over the time limit: its pages are quarantined)."""
        for table, suffix in FIRST_PASS_FILES:
            self.part(table, part, suffix).unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _kept_for_reuse(self, key: str) -> Path:
        return Path(self.folder).parent / REUSE_DIR / key

    def remember(self, key: str, part: str) -> None:
        """Keep a staged first pass for a run retried after a later failure (`reuse`): its files, linked, and its
        summary, written last (an entry without it is not whole and never used)."""
        kept = self._kept_for_reuse(key)
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        for table, suffix in FIRST_PASS_FILES:
            for source in self.files(table, part, suffix):
                (kept / table).mkdir(exist_ok=True)
                _link(source, kept / table / source.name.removeprefix(part))  # named without the batch
        with open(self.part("passes", part, "pickle"), "rb") as f:
            summary = f.read()
        tmp = kept / f".pass.{os.getpid()}.tmp"
        tmp.write_bytes(summary)
        os.replace(tmp, kept / "pass.pickle")

    def reuse(self, key: str, part: str) -> StagedPass | None:
        """The first pass staged before under `key`, staged again as this run's `part`; None when there is none."""
        kept = self._kept_for_reuse(key)
        try:
            staged: StagedPass = pickle.loads((kept / "pass.pickle").read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError):
            return None
        for table, _ in FIRST_PASS_FILES:
            for source in sorted((kept / table).iterdir()) if (kept / table).is_dir() else []:
                target = Path(self.folder) / table / f"{part}{source.name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                _link(source, target)
        staged.part = part
        staged.pages = [replace(page, part=part) for page in staged.pages]
        self.save_pass(staged)
        return staged

    def save_pass(self, staged: StagedPass) -> None:
        path = self.part("passes", staged.part, "pickle")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(staged, protocol=pickle.HIGHEST_PROTOCOL))


def _link(source: Path, target: Path) -> None:
    """A hard link (no copy: staged files are never changed in place, only replaced), or a copy across devices."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def forget_reusable(root: Path) -> None:
    """Drop the first passes kept for reuse: a run published, so none of them can be reused (their key names the
    warehouse's snapshot)."""
    shutil.rmtree(root / STAGING_DIR / REUSE_DIR, ignore_errors=True)


def sweep(root: Path, keep: str) -> list[str]:
    """Remove the staging folders of other runs: a run killed before its end left them, never to be trusted
    (call it holding the run lock, so no live run's folder is removed). The run ids removed."""
    folder = root / STAGING_DIR
    removed = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if entry.name not in (keep, REUSE_DIR):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    old = time.time() - REUSE_DAYS * 86400
    for entry in sorted((folder / REUSE_DIR).iterdir()) if (folder / REUSE_DIR).is_dir() else []:
        if entry.stat().st_mtime < old:
            shutil.rmtree(entry, ignore_errors=True)
    return removed


# The staged steps: each reads its batch from the run's folder and writes what it made there.


def piece_name(part: str, piece: int) -> str:
    """The files' name of a batch's piece: what one worker read, cleaned and staged of it."""
    return f"{part}-{piece:03d}"


def summaries(pages: list[CleanedPage], part: str, piece: int) -> list[PageSummary]:
    return [PageSummary.of(page, part, piece) for page in pages]


def page_keys(pages: list[CleanedPage]) -> pa.Table:
    """What dedup decides from, for the complete pages: id, source, content hash, signature."""
    done = [p for p in pages if p.complete]
    return pa.table({"article_id": pa.array([article_id(p.source_uri) for p in done], pa.string()),
                     "source_uri": pa.array([p.source_uri for p in done], pa.string()),
                     "content_hash": pa.array([p.content_hash for p in done], pa.string()),
                     "minhash": pa.array([p.minhash for p in done], pa.binary())}, schema=PAGE_KEYS)  # fmt: skip


def stage_cleaned(stage: Stage, part: str, pages: list[CleanedPage]) -> None:
    """A batch's cleaned pages, their `cleaned` gate rows, keys and LSH bands, written (a later pass of the
    batch replaces them)."""
    keys = page_keys(pages)
    stage.write("cleaned", part, cleaned_to_arrow(pages))
    stage.write("cleaned_gate", part, cleaned_table(pages))
    stage.write("page_keys", part, keys)
    signatures = zip(keys.column("article_id").to_pylist(), keys.column("minhash").to_pylist(), strict=True)
    stage.write("run_bands", part, band_rows(signatures))


def stage_first_pass(stage: Stage, part: str, piece: int, first: FirstPass) -> StagedPass:
    """A piece of a batch read and cleaned once, staged: the pages needing the run's knowledge kept with their
    prepared form. What the flow gets of it: references, summaries, counts."""
    name = piece_name(part, piece)
    prepared = {r.source_uri: r.prepared for r in first.cleaned.articles if r.needs_knowledge}
    stage.keep(name, [(page, prepared.get(page.source_uri)) for page in first.kept])
    for record in first.cleaned.articles:
        record.prepared = None
    stage_cleaned(stage, name, first.cleaned.articles)
    return StagedPass(part, first.refs, first.unreadable, first.cleaned.quarantined,
                      summaries(first.cleaned.articles, part, piece), {piece: len(first.kept)} if first.kept else {},
                      Counter(t for page in first.cleaned.articles for t in set(page.learned_titles)))  # fmt: skip


def stage_piece(
    pieces: Sequence[tuple[int, Sequence[Input]]], stage: Stage, part: str, stored: Lookup | None
) -> StagedPass:
    """The first pass of a piece of a batch, where it runs (a worker process): its inputs read, cleaned with what
    earlier runs taught (`stored`, asked by key) and staged. (A one-item list: see parallel.map_chunks' `each`.)"""
    [(piece, inputs)] = pieces
    return stage_first_pass(stage, part, piece, read_and_clean(inputs, NO_KNOWLEDGE, stored))


def stage_second_pass(
    stage: Stage, part: str, piece: int, again: CleanResult, drop: set[str]
) -> tuple[list[PageSummary], list[Quarantined]]:
    """A piece's pages parsed again (`again`) replace their first parse; the pages in `drop` (set aside by a gate)
    and those the second parse refused leave the piece. The piece's summaries, and the pages refused. Its staged
    tables are changed as tables: only the pages parsed again become rows anew (rewriting every page of the piece
    from Python records cost more than the second parse itself)."""
    name = piece_name(part, piece)
    lost = {q.source_uri for q in again.quarantined} | drop
    redone = [r for r in again.articles if r.source_uri not in lost]
    for record in redone:
        record.prepared = None
    gone = lost | {r.source_uri for r in redone}
    old = stage.read("cleaned", name)
    order = {uri: i for i, uri in enumerate(old.column("source_uri").to_pylist())}
    cleaned = _replaced(old, cleaned_to_arrow(redone), "source_uri", order, gone)
    keys = page_keys(redone)
    stage.write("cleaned", name, cleaned)
    stage.write("cleaned_gate", name, _replaced(stage.read("cleaned_gate", name), cleaned_table(redone), "source_uri",
                                                order, gone))  # fmt: skip
    stage.write("page_keys", name, _replaced(stage.read("page_keys", name), keys, "source_uri", order, gone))
    signatures = zip(keys.column("article_id").to_pylist(), keys.column("minhash").to_pylist(), strict=True)
    by_id = {article_id(uri): i for uri, i in order.items()}
    stage.write("run_bands", name, _replaced(stage.read("run_bands", name), band_rows(signatures), "article_id", by_id,
                                             {article_id(uri) for uri in gone}))  # fmt: skip
    return summaries_of(cleaned, part, piece), again.quarantined


def _replaced(old: pa.Table, new: pa.Table, key: str, order: dict[str, int], gone: set[str]) -> pa.Table:
    """`old` without the rows whose `key` is in `gone`, plus `new`, each key's rows where its page stood (`order`),
    in the order they were in (a stable sort): the table the same pages give from scratch."""
    keep = pc.invert(pc.is_in(old.column(key), value_set=pa.array(sorted(gone), pa.string())))
    merged = pa.concat_tables([old.filter(keep), new.select(old.schema.names).cast(old.schema)])
    position = pa.array([order[k] for k in merged.column(key).to_pylist()], pa.int64())
    return merged.take(pc.sort_indices(position))


def summaries_of(cleaned: pa.Table, part: str, piece: int) -> list[PageSummary]:
    """The summaries of a staged piece's pages, from its `cleaned` table (as `summaries` gives them)."""
    columns = ["source_uri", "content_hash", "needs_knowledge", "parse_confidence", "parse_doubts", "headline_lines"]
    return [PageSummary(r["source_uri"], part, piece, r["content_hash"], r["needs_knowledge"], r["parse_confidence"],
                        tuple(map(sys.intern, r["parse_doubts"])), tuple(r["headline_lines"]))
            for r in cleaned.select(columns).to_pylist()]  # fmt: skip


def restage_piece(
    pieces: Sequence[int], stage: Stage, part: str, known: Knowledge, stored: Lookup | None, drop: set[str]
) -> tuple[int, tuple[list[PageSummary], list[Quarantined]]]:
    """The second pass of a piece, where it runs (a worker process): its kept pages parsed again with what the
    whole run learned (`known`) and earlier runs taught (`stored`), the piece staged anew."""
    [piece] = pieces
    kept = [(page, prepared) for page, prepared in stage.kept(piece_name(part, piece)) if page.source_uri not in drop]
    again = clean_chunk(kept, known, stored) if kept else CleanResult()
    return piece, stage_second_pass(stage, part, piece, again, drop)


def learned_titles(stage: Stage, part: str, uris: set[str]) -> Counter[str]:
    """How many of the given pages of a staged batch show each story title (as `StagedPass.titles` counts)."""
    if not uris:
        return Counter()
    table = stage.read("cleaned", part, ["source_uri", "learned_titles"])
    return Counter(t for row in table.to_pylist() if row["source_uri"] in uris for t in set(row["learned_titles"]))


def build_staged(
    stage: Stage, part: str, duplicate_of: dict[str, str], excluded: set[str], run_id: str
) -> dict[str, StoryForms]:
    """Dedup's tables of one batch, staged, once every page's fate is decided; the forms of its story titles.
    Built SLICE pages at a time, in article id order (build_part's): a worker holds the Python objects of one
    slice, and the batch's rows as Arrow."""
    cleaned = stage.read("cleaned", part)
    uris = cleaned.column("source_uri").to_pylist()
    order = sorted((i for i, uri in enumerate(uris) if uri not in excluded), key=lambda i: article_id(uris[i]))
    tables: dict[str, list[pa.Table]] = {}
    forms: dict[str, StoryForms] = {}
    for start in range(0, len(order), SLICE) or [0]:  # no page left: empty tables of the right schemas
        rows = cleaned.take(pa.array(order[start : start + SLICE], pa.int64()))  # typed: [] alone is null-typed
        built = build_part(cleaned_from_arrow(rows), duplicate_of, run_id)
        for name, table in {**built.tables, "appearance_keys": built.appearance_keys}.items():
            tables.setdefault(name, []).append(table)
        for key, seen in built.forms.items():
            forms.setdefault(key, StoryForms()).add(seen)
    for name, slices in tables.items():
        stage.write(name, part, pa.concat_tables(slices))
    del cleaned, tables, built
    release()  # the worker's next piece, or the other worker, gets it (no gc.collect: ~0.1 s a piece, nothing found)
    return forms


def article_texts(stage: Stage, part: str) -> list[ArticleText]:
    """What the enrichers read of a batch's canonical articles, from its staged `articles` and `paragraphs`."""
    articles = stage.read("articles", part, ["article_id", "title", "published_at", "duplicate_of"]).to_pylist()
    paragraphs: dict[str, list[tuple[int, str, str]]] = {}
    for row in stage.read("paragraphs", part, ["article_id", "position", "kind", "text"]).to_pylist():
        if row["kind"] in ENRICHED_KINDS:
            paragraphs.setdefault(row["article_id"], []).append((row["position"], row["kind"], row["text"]))
    return [
        ArticleText(
            a["article_id"],
            a["title"] or "",
            a["published_at"].date() if a["published_at"] else None,
            tuple(sorted(paragraphs.get(a["article_id"], []))),
        )
        for a in articles
        if a["duplicate_of"] is None
    ]


def enrich_staged(stage: Stage, part: str) -> dict[str, int]:
    """Every enricher's table for one staged batch of canonical articles, staged beside it; their row counts."""
    rows = enrich_chunk(article_texts(stage, part))
    for enricher in ENRICHERS:
        stage.write(enricher.table, part, from_rows(enricher.table, rows[enricher.table]))
    counts = {enricher.table: len(rows[enricher.table]) for enricher in ENRICHERS}
    del rows
    release()
    return counts


def build_parts(
    parts: Sequence[tuple[str, dict[str, str]]], stage: Stage, excluded: set[str], run_id: str
) -> list[dict[str, StoryForms]]:
    """`build_staged` over batches (a worker process's share: see parallel.map_chunks)."""
    return [build_staged(stage, part, duplicates, excluded, run_id) for part, duplicates in parts]


def enrich_parts(parts: Sequence[str], stage: Stage) -> list[dict[str, int]]:
    """`enrich_staged` over batches (a worker process's share)."""
    return [enrich_staged(stage, part) for part in parts]
