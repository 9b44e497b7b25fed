"""Staged batches: what a stage wrote comes back equal, a part is whole or absent, a run that did not end leaves
nothing another run trusts; and the decisions dedup makes from keys are those of the MinHash LSH index they
replace."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from huunghi.dedup.articles import (
    NEAR_DUP_JACCARD,
    DedupState,
    band_rows,
    exact_duplicates,
    known_bands,
    near_duplicates,
    similar_pairs,
)
from huunghi.flows.pipeline import pipeline
from huunghi.records import CleanedPage, Sighting
from huunghi.signatures import NUM_PERM, sketch
from huunghi.staging import STAGING_DIR, Stage, cleaned_from_arrow, cleaned_to_arrow, sweep


def page(n: int, **changes) -> CleanedPage:
    fields = dict(
        source_uri=f"file:///trang/{n}.html", sha256=f"{n:064x}", url=f"https://example.vn/bai-{n}.html",
        extractor="layout", title=f"Hai tỉnh ký kết hợp tác lần {n}", kicker=None, language="vi",
        published_at=datetime(2023, 4, n % 28 + 1, 8, 30, tzinfo=UTC), section="Bốn phương", author=None,
        lead="Đoàn đại biểu tỉnh bạn sang thăm.", paragraphs=[("lead", "Đoàn đại biểu tỉnh bạn sang thăm."),
                                                            ("body", f"Nội dung số {n}."), ("caption", "Ảnh: TĐ")],
        stories=[Sighting("Đọc nhiều", "Tin liên quan một", "Tóm tắt", None), Sighting("teaser", "Tin hai")],
        learned_titles=["tin lien quan mot"], headline_lines=[], needs_knowledge=n % 2 == 0,
        content_hash=f"{n:016x}", minhash=bytes(range(8)) * NUM_PERM, parse_confidence=0.75,
        parse_doubts=["joined_headlines"],
    )  # fmt: skip
    fields.update(changes)
    return CleanedPage(**fields)


def test_cleaned_pages_come_back_equal():
    pages = [page(1), page(2, published_at=None, lead=None, stories=[], paragraphs=[], content_hash=None,
                         minhash=None, parse_doubts=[], title=None)]  # fmt: skip
    assert cleaned_from_arrow(cleaned_to_arrow(pages)) == pages


def test_parts_are_whole_and_read_in_part_order(tmp_path):
    stage = Stage.of_run(tmp_path, "run-a")
    for part in ("000002", "000001"):
        stage.write("articles", part, pa.table({"n": [int(part)]}))
    stage.write("articles", "000002", pa.table({"n": [22]}))  # a later pass of a batch replaces it
    assert [p.name for p in stage.parts("articles")] == ["000001.parquet", "000002.parquet"]
    assert stage.dataset("articles", pa.schema([("n", pa.int64())])).to_table().column("n").to_pylist() == [1, 22]
    assert not list(Path(stage.folder).rglob("*.tmp"))  # written under a temporary name, then renamed


def test_a_run_removes_the_staged_files_of_runs_that_did_not_end(tmp_path):
    for run in ("killed", "mine"):
        Stage.of_run(tmp_path, run).write("articles", "000001", pa.table({"n": [1]}))
    assert sweep(tmp_path, keep="mine") == ["killed"]
    assert [p.name for p in (tmp_path / STAGING_DIR).iterdir()] == ["mine"]


def lsh_reference(ids, signatures, duplicate_of, known):
    """The decisions of the MinHash LSH index that dedup used before (datasketch, the run in id order)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=0.7, num_perm=NUM_PERM, weights=(0.3, 0.7))
    sketches = {}
    for aid in sorted(known.signatures):
        if aid not in duplicate_of:
            sketches[aid] = sketch(signatures[aid] if aid in signatures else known.signatures[aid])
            lsh.insert(aid, sketches[aid])
    found = {}
    for aid in sorted(ids):
        if aid in duplicate_of or aid in known.signatures:
            continue
        mine = sketch(signatures[aid])
        similar = sorted((o not in known.signatures, o) for o in lsh.query(mine)
                         if mine.jaccard(sketches[o]) >= NEAR_DUP_JACCARD)  # fmt: skip
        if similar:
            found[aid] = similar[0][1]
        else:
            sketches[aid] = mine
            lsh.insert(aid, mine)
    return found


def family(rng: random.Random, base: np.ndarray, changed: int) -> bytes:
    """A signature with `changed` of the base's values replaced: a copy with edits."""
    values = base.copy()
    for i in rng.sample(range(NUM_PERM), changed):
        values[i] = rng.getrandbits(32)
    return values.astype(np.uint64).tobytes()


@pytest.mark.parametrize("seed", range(6))
def test_near_duplicates_from_band_pairs_are_the_lsh_index_decisions(seed):
    rng = random.Random(seed)
    signatures, stored = {}, {}
    for _ in range(12):  # families of copies: 0 to 50 of 128 values edited (Jaccard ~1 to ~0.6)
        base = np.array([rng.getrandbits(32) for _ in range(NUM_PERM)], dtype=np.uint64)
        for _ in range(rng.randint(1, 5)):
            signature = family(rng, base, rng.choice([0, 4, 12, 20, 28, 34, 40, 50]))
            (stored if rng.random() < 0.3 else signatures)[f"a{rng.getrandbits(40):010x}"] = signature
    rewritten = rng.sample(sorted(stored), 2)  # held articles this run rewrites, with a new text
    for aid in rewritten:
        signatures[aid] = family(rng, np.frombuffer(stored[aid], np.uint64).copy(), 30)
    known = DedupState(signatures=stored)
    content = {aid: str(rng.randrange(40)) for aid in signatures}  # some exact copies too
    duplicate_of = exact_duplicates(content.items(), known)
    bands = [band_rows(sorted(signatures.items())), known_bands(known, set(signatures))]
    near = similar_pairs(bands, duplicate_of, lambda ids: {a: signatures.get(a) or stored[a] for a in ids})
    found = near_duplicates(signatures, near, duplicate_of, known)
    assert found == lsh_reference(signatures, signatures, duplicate_of, known)
    assert found and duplicate_of  # every case has near copies and exact ones


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_server")
def test_a_run_leaves_no_staged_file_and_clears_a_killed_runs(small_corpus, tmp_path):
    root = tmp_path / "wh"
    killed = Stage.of_run(root, "a-run-killed-mid-way")
    killed.write("articles", "000001", pa.table({"article_id": ["made up"]}))
    pages = sorted(small_corpus.rglob("*.txt"))[:5]
    pipeline(sources=[str(p) for p in pages], warehouse=str(root))
    assert not (root / STAGING_DIR).exists() or not any((root / STAGING_DIR).iterdir())


def test_a_first_pass_is_reused_by_a_retried_run_as_its_own_batch(tmp_path):
    from huunghi.records import CleanResult, FirstPass, PageRef, StagedPass
    from huunghi.staging import forget_reusable, stage_first_pass

    pages = [page(1), page(2)]
    refs = [PageRef(p.source_uri, p.sha256, datetime(2024, 1, 1, tzinfo=UTC), "html", 10, None, 0.0) for p in pages]
    first = Stage.of_run(tmp_path, "run-stopped")
    pieces = [
        stage_first_pass(first, "000003", i, FirstPass(refs=refs[i : i + 1], cleaned=CleanResult(pages[i : i + 1])))
        for i in range(2)
    ]  # a batch staged in two pieces, by two workers
    staged = StagedPass.merge("000003", pieces)
    first.save_pass(staged)
    first.remember("key", "000003")
    first.write("cleaned", "000003-001", cleaned_to_arrow([page(9)]))  # its second pass replaces a piece...
    first.remove()  # ...and the run ends

    retried = Stage.of_run(tmp_path, "run-retried")
    assert retried.reuse("other key", "000001") is None
    again = retried.reuse("key", "000001")
    assert again is not None and again.part == "000001" and {p.part for p in again.pages} == {"000001"}
    assert [p.piece for p in again.pages] == [0, 1]
    assert again.refs == staged.refs and [p.source_uri for p in again.pages] == [p.source_uri for p in pages]
    assert cleaned_from_arrow(retried.read("cleaned", "000001")) == pages  # the first pass, not the replaced piece
    assert cleaned_from_arrow(retried.read("cleaned", "000001-001")) == pages[1:]  # a piece alone
    forget_reusable(tmp_path)  # a run published: nothing is reused after it
    assert Stage.of_run(tmp_path, "run-next").reuse("key", "000001") is None


def test_staged_batches_are_handled_two_at_a_time_in_batch_order():
    from types import SimpleNamespace

    from huunghi.flows.pipeline import CLEAN_BATCHES_IN_FLIGHT, batch_by_batch

    running: set[int] = set()
    most = 0

    class Future:
        def __init__(self, n: int) -> None:
            self.n = n

        def result(self) -> int:
            running.discard(self.n)
            return self.n * 10

    class Task:
        def with_options(self, **_: object) -> Task:
            return self

        def submit(self, stage: str, n: int) -> Future:
            nonlocal most
            running.add(n)
            most = max(most, len(running))
            return Future(n)

    done = list(batch_by_batch(SimpleNamespace(stage="s"), "build tables", Task(), [(n,) for n in range(7)]))
    assert done == [n * 10 for n in range(7)]
    assert most == CLEAN_BATCHES_IN_FLIGHT == 2  # a batch's data is in memory while it runs: never all of them


def test_a_batch_is_built_and_enriched_slice_by_slice_into_the_rows_of_the_whole_batch(tmp_path, monkeypatch):
    """A worker turns a staged batch into rows a slice at a time (its memory: one slice's Python objects); the
    tables are those of the whole batch built at once, in the same order."""
    from huunghi import staging
    from huunghi.dedup.articles import build_part
    from huunghi.enrich import ENRICHERS, enrich_chunk
    from huunghi.signatures import article_id
    from huunghi.warehouse.schema import from_rows

    body = [("lead", "Đoàn đại biểu tỉnh Hủa Phăn sang thăm tỉnh Nghệ An."), ("body", "Hai bên ký biên bản.")]
    pages = [page(n, paragraphs=[*body, ("body", f"Nội dung số {n}.")], content_hash=f"{n:016x}") for n in range(9)]
    stage = Stage.of_run(tmp_path, "run-a")
    stage.write("cleaned", "000001", cleaned_to_arrow(pages))
    duplicates = {article_id(pages[3].source_uri): article_id(pages[5].source_uri)}
    excluded = {pages[7].source_uri}
    whole = build_part([p for p in pages if p.source_uri not in excluded], duplicates, "run-a")
    sizes: list[int] = []

    def spy(slice_pages, *args):
        sizes.append(len(slice_pages))
        return build_part(slice_pages, *args)

    monkeypatch.setattr(staging, "SLICE", 3, raising=False)
    monkeypatch.setattr(staging, "build_part", spy)
    forms = staging.build_staged(stage, "000001", duplicates, excluded, "run-a")
    assert sizes == [3, 3, 2]
    for name, table in {**whole.tables, "appearance_keys": whole.appearance_keys}.items():
        assert stage.read(name, "000001").equals(table), name
    assert forms == whole.forms

    counts = staging.enrich_staged(stage, "000001")
    rows = enrich_chunk(whole.canonical)
    assert counts["mentions"] > 0
    for enricher in ENRICHERS:
        assert stage.read(enricher.table, "000001").equals(from_rows(enricher.table, rows[enricher.table]))


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_server")
def test_the_worker_processes_are_ended_before_each_gate_and_the_load(small_corpus, tmp_path, monkeypatch):
    """Idle through the gates, the load and the search index, the workers would hold what their pieces grew them to
    beside those steps' own peaks (at 20,000 pages, two workers of ~290 MB each beside the gates' helper: the
    tree's peak 1,629 MB; 1,290 MB with the workers ended). Each stage that needs them forks new ones."""
    from huunghi import parallel
    from huunghi.quality.gates import Quality
    from huunghi.tasks import load

    monkeypatch.setenv("HUUNGHI_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 1)  # these few pages go to the workers, as a large run's do
    started, at_gates, at_load = [], [], []
    real_pool, real_validate, real_publish = parallel._get_pool, Quality.validate, load.publish

    def get_pool():
        pool = real_pool()
        if pool not in started:
            started.append(pool)
        return pool

    def validate(self, name, table):
        at_gates.append((name, parallel._pool))
        return real_validate(self, name, table)

    def publish(*args, **kwargs):
        at_load.append(parallel._pool)
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(parallel, "_get_pool", get_pool)
    monkeypatch.setattr(Quality, "validate", validate)
    monkeypatch.setattr(load, "publish", publish)
    pages = sorted(small_corpus.rglob("*.txt"))[:5]
    pipeline(sources=[str(p) for p in pages], warehouse=str(tmp_path / "wh"))
    assert len(started) >= 3  # clean, dedup and enrich each had workers
    assert {name for name, _ in at_gates} >= {"raw_pages", "cleaned", "articles", "mentions", "pages"}
    assert [pool for _, pool in at_gates] == [None] * len(at_gates)
    assert at_load == [None]


def test_a_second_pass_changes_a_piece_as_rewriting_it_whole_would(tmp_path):
    """The second pass replaces the rows of the pages parsed again, drops those refused or set aside, and leaves
    the others' rows as they were: every staged table of the piece equals the one its final pages give from
    scratch, and so do the summaries."""
    from huunghi.records import CleanResult, Quarantined
    from huunghi.staging import stage_cleaned, stage_second_pass, summaries

    first = [page(n) for n in range(1, 9)] + [page(9, content_hash=None, minhash=None, title=None)]
    first[4] = page(5, minhash=bytes(range(100, 108)) * NUM_PERM)
    stage = Stage.of_run(tmp_path, "run")
    stage_cleaned(stage, "000001-002", first)
    again = CleanResult(
        articles=[page(2, title="Tiêu đề đọc lại", headline_lines=["dong tieu de"], needs_knowledge=False),
                  page(6, content_hash=None, minhash=None, title=None), page(4, title="Bị bỏ"),
                  page(8, minhash=bytes(range(50, 58)) * NUM_PERM, content_hash="8" * 16)],
        quarantined=[Quarantined(page(4).source_uri, None, "clean", "timeout", "quá hạn")],
    )  # fmt: skip
    got, refused = stage_second_pass(stage, "000001", 2, again, drop={page(7).source_uri})

    redone = {r.source_uri: r for r in again.articles}
    final = [redone.get(p.source_uri, p) for p in first if p.source_uri not in {page(4).source_uri, page(7).source_uri}]
    expected = Stage.of_run(tmp_path, "from scratch")
    stage_cleaned(expected, "000001-002", final)
    for table in ("cleaned", "cleaned_gate", "page_keys", "run_bands"):
        assert stage.read(table, "000001-002").equals(expected.read(table, "000001-002")), table
    assert got == summaries(final, "000001", 2) and refused == again.quarantined
