"""A large table is validated slice by slice (its memory is one slice's), with the verdict one validation of the
whole table gives: the same rows set aside, the same rates broken, duplicates across slices found."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from huunghi.quality import gates
from huunghi.quality.gates import GateFailed, Quality
from huunghi.quality.tables import CLEANED


def cleaned(rows: int, *, untitled: set[int] = frozenset(), twice: set[int] = frozenset(), doubtful: int = 0):
    """`cleaned` rows: `untitled` rows lack a title (quarantined, a rate), `twice` repeat the source of row 0."""
    when = datetime(2024, 5, 1, tzinfo=UTC)
    return pa.Table.from_pylist(
        [
            {"source_uri": "file:///p0.txt" if n in twice else f"file:///p{n}.txt",
             "title": None if n in untitled else f"Tỉnh kết nghĩa số {n}", "published_at": when,
             "lead": "Hai tỉnh ký biên bản hợp tác.", "body": f"Đoàn công tác số {n} thăm tỉnh bạn.",
             "body_paragraphs": 1, "extractor": "layout", "parse_confidence": 0.5 if n < doubtful else 1.0,
             "doubtful": int(n < doubtful)}
            for n in range(rows)
        ],
        schema=CLEANED,
    )  # fmt: skip


def verdict(table, slice_rows: int | None, monkeypatch) -> tuple:
    """(rows set aside with their reasons, stopping failures' expectations, warnings' expectations)."""
    if slice_rows is not None:
        monkeypatch.setattr(gates, "ROWS_PER_VALIDATION", slice_rows)
    quality = Quality()
    try:
        outcome = quality.validate("cleaned", table)
    except GateFailed as stop:
        outcome = stop.outcome
    first = [line.split(" — ")[0] for line in outcome.failed]
    return {uri: reason for uri, (reason, _) in outcome.flagged.items()}, first, len(outcome.warnings)


@pytest.mark.slow
@pytest.mark.parametrize(
    "table",
    [
        cleaned(60, untitled={3, 41}),  # a few pages without title, in two slices: set aside, the run goes on
        cleaned(60, untitled=set(range(0, 60, 2))),  # half the pages: the rate is broken over the whole table
        cleaned(60, twice={45}),  # a source in two slices: uniqueness is a whole-column expectation
        cleaned(60, doubtful=30),  # the drift alarm: a mean over the whole table
    ],
    ids=["few-untitled", "half-untitled", "duplicate-across-slices", "drift"],
)
def test_slices_give_the_verdict_of_one_validation(table, monkeypatch):
    whole = verdict(table, None, monkeypatch)
    sliced = verdict(ds.dataset(table), 25, monkeypatch)  # 3 slices, staged as a dataset is
    assert sliced == whole
    assert whole != ({}, [], 0)  # each case finds something


@pytest.mark.slow
def test_a_large_table_is_never_handed_to_great_expectations_whole(monkeypatch):
    seen: list[int] = []
    original = Quality._results

    def counting(self, name, spec, table, slice_=0):
        seen.append(table.num_rows)
        return original(self, name, spec, table, slice_)

    monkeypatch.setattr(Quality, "_results", counting)
    monkeypatch.setattr(gates, "ROWS_PER_VALIDATION", 25)
    assert Quality().validate("cleaned", ds.dataset(cleaned(60))).passed
    # three slices of every column, the whole-column statistics on their columns, then uniqueness on the rows whose
    # key repeats (none)
    assert seen == [25, 25, 10, 60, 0]


def test_a_slice_is_bounded_by_bytes_so_wide_rows_make_smaller_slices(monkeypatch):
    monkeypatch.setattr(gates, "BYTES_PER_VALIDATION", 10_000)
    narrow = pa.table({"id": [f"a{n}" for n in range(5000)]})
    wide = pa.table({"id": [f"a{n}" for n in range(5000)], "text": ["một đoạn văn dài " * 20] * 5000})
    assert gates._rows_per_slice(narrow, 5000) > 10 * gates._rows_per_slice(ds.dataset(wide), 5000)
    assert gates._rows_per_slice(pa.table({"id": ["a"]}), 1) == 1  # never more than the table's rows


def test_a_dataset_of_many_small_files_is_validated_in_full_slices(tmp_path, monkeypatch):
    """A run stages a batch in one file per worker piece: a slice spans files, so 9 files of 7 rows make 3
    validations of 25 rows and one of 13 (not one per file), with the rows in order."""
    import pyarrow.parquet as pq

    table = cleaned(63)
    files = []
    for i in range(9):
        pq.write_table(table.slice(7 * i, 7), path := tmp_path / f"{i:03d}.parquet")
        files.append(str(path))
    slices = list(gates._slices(ds.dataset(files, schema=CLEANED), 25))
    assert [s.num_rows for s in slices] == [25, 25, 13]
    assert pa.concat_tables(slices).equals(table)
    seen: list[int] = []
    real = Quality._results
    monkeypatch.setattr(Quality, "_results", lambda self, name, spec, t, i=0: seen.append(t.num_rows) or real(
        self, name, spec, t, i))  # fmt: skip
    monkeypatch.setattr(gates, "ROWS_PER_VALIDATION", 25)
    Quality().validate("cleaned", ds.dataset(files, schema=CLEANED))
    assert seen[:3] == [25, 25, 13]  # then the whole-column expectations, once


@pytest.mark.parametrize("suite", ["people", "cleaned"])
def test_a_large_tables_uniqueness_is_judged_on_its_repeated_keys_with_the_whole_tables_counts(suite):
    """Great Expectations sees only the rows whose key repeats (found in DuckDB), and its result is the one the
    whole table gives: the same offending rows, in order, and the same counts (nulls are missing, and equal when
    pandas looks for copies of a key with one null part)."""
    from huunghi.warehouse.schema import schemas

    if suite == "people":
        rows = [{"article_id": f"a{n:03d}", "name": f"Ông số {n}", "role": None} for n in range(80)]
        rows[50] = {**rows[3], "role": "chủ tịch"}  # the same person twice in one article, far apart
        rows[10]["name"] = rows[70]["name"] = None
        rows[70]["article_id"] = "a010"  # a repeated key with a null part
        rows[20]["name"] = None  # a key with a null part, once
        table = pa.Table.from_pylist(rows, schema=schemas()["people"])
    else:
        table = cleaned(80, twice={45, 61})
    spec = gates.load_suite_file(suite)
    [expectation] = [e for e in spec["expectations"] if e["type"] in gates.UNIQUENESS]
    quality = Quality()
    [whole] = quality._results(f"{suite}.whole", {**spec, "expectations": [expectation]}, table)
    part = quality._unique(f"{suite}.part", spec, expectation, ds.dataset(table), table.num_rows)
    assert part.success == whole.success is False
    for key in ("unexpected_count", "element_count", "missing_count", "unexpected_percent", "unexpected_index_list"):
        assert part.result[key] == whole.result[key], key


def test_slices_of_many_files_are_read_as_they_are_validated_not_all_ahead(tmp_path):
    """pyarrow's threaded scan decodes a dataset's files ahead of a slow consumer, whatever its readahead settings:
    the articles of 200,000 bench pages were all in the gate's memory (1.3 GB) while the first slices were
    validated. Read on one thread, a slice holds about its own rows."""
    import time

    import pyarrow.parquet as pq

    text = "Đoàn công tác của tỉnh thăm và làm việc với tỉnh bạn bên kia biên giới. " * 60  # ~4 KB a row
    files = []
    for i in range(240):
        rows = pa.table({"article_id": [f"{i:04d}{n:03d}" for n in range(50)], "body": [text] * 50})
        pq.write_table(rows, path := tmp_path / f"{i:03d}.parquet")
        files.append(str(path))
    source = ds.dataset(files, format="parquet")  # ~50 MB decoded
    held = []
    for slice_ in gates._slices(source, 100):
        time.sleep(0.02)  # a validation takes its time: a reader ahead of it would fill memory meanwhile
        held.append(pa.total_allocated_bytes())
        del slice_
    assert len(held) == 120
    assert max(held) < 20 * 2**20  # ~9 MB here; ~65 MB read ahead on threads
