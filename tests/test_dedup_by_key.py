"""Dedup reads the warehouse by key (issue 26): near-duplicate candidates through the stored LSH band keys,
story aliases through their stored groups, and an old warehouse backfilled once; the same results as when
dedup is given everything the warehouse holds."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huunghi.dedup.articles import DedupResult, DedupState, dedup, lookup_keys
from huunghi.dedup.stories import group_keys
from huunghi.records import CleanedPage, Sighting
from huunghi.signatures import LSH_BANDS, LSH_ROWS, NUM_PERM, article_id, band_keys
from huunghi.text import title_key
from huunghi.warehouse import backfill, reads, store, write
from huunghi.warehouse.schema import build
from tests.test_dedup import BODY, _record

OUDOMXAY = "Giao lưu văn nghệ hữu nghị Hà Tĩnh - Oudomxay"
OTHER_STORY = "Đoàn đại biểu Bắc Ninh thăm tỉnh Luang Prabang"


def _with_stories(page: CleanedPage, *titles: str) -> CleanedPage:
    page.stories = [Sighting("sidebar", t, None, None) for t in titles]
    return page


def _original() -> CleanedPage:
    return _with_stories(_record("file:///a/original.txt", BODY), OUDOMXAY, OTHER_STORY)


def _other() -> CleanedPage:
    body = [b.replace("Hà Giang", "Lai Châu") for b in reversed(BODY)]
    return _record("file:///b/other.txt", body, title="Lai Châu và Phongsaly ký kết hợp tác")


def _fresh(*stories: str) -> CleanedPage:
    """An article sharing no text with the others."""
    body = [
        "Mùa mưa năm nay đến sớm, nông dân vùng cao khẩn trương thu hoạch lúa nương trước khi nước lũ về.",
        "Chính quyền xã đã huy động thanh niên tình nguyện giúp các gia đình neo đơn gặt lúa và phơi thóc.",
        "Trường học trong vùng được gia cố mái che, bảo đảm học sinh đến lớp an toàn suốt mùa mưa bão.",
    ]
    return _with_stories(_record("file:///d/fresh.txt", body, title="Nông dân vùng cao thu hoạch lúa nương"), *stories)


def _mirror() -> CleanedPage:
    body = [*BODY[:3], "Lãnh đạo hai tỉnh cũng trao đổi về việc mở rộng hoạt động thương mại qua cửa khẩu."]
    return _with_stories(_record("file:///m/mirror.txt", body), OUDOMXAY.replace("Oudomxay", "Udomxay"))


def _by_key(root: Path, pages: list[CleanedPage]) -> DedupState:
    """What dedup reads of the warehouse for these pages, through one connection as in a run."""
    with reads.session(root):
        return reads.read_dedup_state(root, lookup_keys(pages))


def _load(root: Path, pages: list[CleanedPage], run_id: str) -> DedupResult:
    """One run's dedup against the warehouse (read by key), published."""
    result = dedup(pages, _by_key(root, pages), run_id)
    tables = {name: build(name, []) for name in write.RUN_TABLES} | result.tables()
    write.publish(root, tables, write.RunInfo(run_id, None, datetime.now(UTC)), audit=lambda counts: None)
    return result


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A warehouse holding the original (with two stories) and an unrelated article: one load for the module."""
    root = tmp_path_factory.mktemp("stored")
    _load(root, [_original(), _other()], "run-1")
    return root


def _copy(stored: Path, tmp_path: Path) -> Path:
    """The stored warehouse, for a test that writes (a copied folder reads its own data files)."""
    return Path(shutil.copytree(stored, tmp_path / "warehouse"))


def _whole(root: Path) -> DedupState:
    """Everything the warehouse holds, as the old code read it."""
    con = store.connect(root, read_only=True)
    try:
        canonical = "FROM articles WHERE duplicate_of IS NULL"
        return DedupState(
            content=dict(
                con.execute(f"SELECT content_hash, min(article_id) {canonical} GROUP BY content_hash").fetchall()
            ),
            story_keys=dict(con.execute("SELECT title_key, story_id FROM story_aliases").fetchall()),
            signatures=dict(
                con.execute(
                    f"SELECT article_id, minhash FROM article_signatures "
                    f"WHERE article_id IN (SELECT article_id {canonical})"
                ).fetchall()
            ),
        )
    finally:
        con.close()


def _rows(root: Path, *queries: str) -> list[list[tuple]]:
    """Each query's rows, sorted (one connection: each costs a catalog attach)."""
    con = store.connect(root, read_only=True)
    try:
        return [sorted(con.execute(query).fetchall()) for query in queries]
    finally:
        con.close()


def test_the_banding_is_the_one_datasketch_picks():
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=0.7, num_perm=NUM_PERM, weights=(0.3, 0.7))
    assert (lsh.b, lsh.r) == (LSH_BANDS, LSH_ROWS)
    signature = _original().minhash
    keys = band_keys(signature)
    assert len(keys) == LSH_BANDS and all(0 <= k < 2**64 for k in keys)
    changed = bytearray(signature)
    changed[LSH_ROWS * 8 * 3] ^= 1  # one value of band 3
    assert [a == b for a, b in zip(keys, band_keys(bytes(changed)), strict=True)] == [i != 3 for i in range(16)]


def test_a_near_duplicate_is_found_through_the_band_table_and_nothing_else_is_read(stored):
    mirror = _mirror()
    state = _by_key(stored, [mirror])
    original_id = article_id(_original().source_uri)
    assert set(state.signatures) == {original_id}, "only the article sharing a band key, not the unrelated one"
    assert state.story_keys == {title_key(OUDOMXAY): dedup([_original()], DedupState(), "r").stories["story_id"][0]
                                .as_py()}, "only the alias one letter apart, not the other story's"  # fmt: skip
    result = dedup([mirror], state, "run-2")
    assert result.articles["duplicate_of"].to_pylist() == [original_id]


@pytest.mark.slow
def test_an_alias_one_letter_apart_from_a_stored_one_gets_its_story(stored, tmp_path):
    root = _copy(stored, tmp_path)
    (aliases,) = _rows(root, "SELECT title_key, story_id FROM story_aliases")
    held = dict(aliases)[title_key(OUDOMXAY)]
    second = _load(root, [_fresh(OUDOMXAY.replace("Oudomxay", "Udomxay"))], "run-2")
    assert second.articles["duplicate_of"].to_pylist() == [None]
    assert second.story_aliases.to_pylist() == [{"title_key": title_key(OUDOMXAY.replace("Oudomxay", "Udomxay")),
                                                 "story_id": held}]  # fmt: skip
    assert set(second.story_appearances["story_id"].to_pylist()) == {held}
    new_key = title_key(OUDOMXAY.replace("Oudomxay", "Udomxay"))
    assert _rows(root, f"SELECT group_key FROM story_alias_groups WHERE title_key = '{new_key}'")[0] == sorted(
        (g,) for g in group_keys(new_key)
    )


@pytest.mark.parametrize(
    ("literal_keys", "each_keys"), [(reads.LITERAL_KEYS, reads.EACH_KEYS), (reads.LITERAL_KEYS, 0), (0, 0)]
)
def test_by_key_gives_what_the_whole_warehouse_gives(stored, monkeypatch, literal_keys, each_keys):
    """Lookups one key at a time, named in the query, joined with a registered table: the same as dedup over
    everything the warehouse holds."""
    monkeypatch.setattr(reads, "LITERAL_KEYS", literal_keys)
    monkeypatch.setattr(reads, "EACH_KEYS", each_keys)
    rewritten = _record("file:///b/other.txt", [*BODY[:3], "Một câu khác hẳn ở cuối bài viết này."])
    pages = [_mirror(), rewritten, _with_stories(_record("file:///c/copy.txt", BODY), OTHER_STORY)]
    by_key = dedup(pages, _by_key(stored, pages), "run-2")
    whole = dedup(pages, _whole(stored), "run-2")
    rows = [{name: t.to_pylist() for name, t in result.tables().items()} for result in (by_key, whole)]
    assert rows[0] == rows[1]
    assert by_key.articles["duplicate_of"].to_pylist().count(None) == 1  # a real case: two copies, one rewrite


@pytest.mark.slow
def test_an_old_warehouse_is_backfilled_once_to_what_a_fresh_one_holds(stored, tmp_path):
    root = _copy(stored, tmp_path)
    bands = "SELECT article_id, band, band_key FROM article_bands"
    groups = "SELECT group_key, title_key FROM story_alias_groups"
    fresh = _rows(root, bands, groups)
    assert len(fresh[0]) == 2 * LSH_BANDS and len(fresh[1]) == sum(len(group_keys(title_key(t)))
                                                                     for t in (OUDOMXAY, OTHER_STORY))  # fmt: skip
    con = store.connect(root, read_only=False)
    try:  # the layout before these tables
        con.execute("DROP TABLE article_bands")
        con.execute("DROP TABLE story_alias_groups")
    finally:
        con.close()
    with pytest.raises(reads.WarehouseUnreadable):
        _by_key(root, [_mirror()])
    assert backfill.backfill_dedup_keys(root) == "backfilled article_bands (32 rows), story_alias_groups (20 rows)"
    assert _rows(root, bands, groups) == fresh, "the SQL definitions equal the Python ones"
    assert backfill.backfill_dedup_keys(root) is None  # once
    assert _rows(root, bands, groups) == fresh
    mirror = _mirror()
    assert dedup([mirror], _by_key(root, [mirror]), "run-2").articles.to_pylist() == (
        dedup([mirror], _whole(root), "run-2").articles.to_pylist()
    )


def test_a_new_or_empty_warehouse_needs_no_backfill(stored, tmp_path):
    assert backfill.backfill_dedup_keys(tmp_path) is None
    assert backfill.backfill_dedup_keys(_copy(stored, tmp_path)) is None


def test_candidate_pairs_found_band_by_band_are_every_pair_that_shares_a_band_key():
    """The pairs are found one band at a time (memory: one band's rows): every pair of kept ids that share a key in
    the same band, once, in order, across the band tables given, and none with a skipped id or across bands."""
    import itertools
    import random

    import pyarrow as pa

    from huunghi.dedup.articles import _candidate_pairs

    rng = random.Random(5)
    rows = [(f"{i:016x}", band, rng.randrange(6)) for i in range(40) for band in range(LSH_BANDS)]
    rows.append(("f" * 16, 0, 99))  # key 99 only in band 0 ...
    rows.append(("e" * 16, 1, 99))  # ... and in band 1: no pair
    skip = {f"{i:016x}" for i in range(0, 40, 7)}
    table = pa.table({"article_id": [r[0] for r in rows], "band": pa.array([r[1] for r in rows], pa.int8()),
                      "band_key": pa.array([r[2] for r in rows], pa.uint64())})  # fmt: skip
    expected = sorted({
        (min(a[0], b[0]), max(a[0], b[0]))
        for a, b in itertools.combinations(rows, 2)
        if a[1:] == b[1:] and a[0] != b[0] and not {a[0], b[0]} & skip
    })  # fmt: skip
    half = table.num_rows // 2
    assert _candidate_pairs([table.slice(0, half), table.slice(half)], skip) == expected
    assert expected and all(a < b for a, b in expected)
