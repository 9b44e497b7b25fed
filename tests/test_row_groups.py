"""The warehouse's Parquet layout: row groups of store.ROW_GROUP_ROWS rows, so the load's memory stays bounded,
and the narrow key tables sorted by their key (schema.SORTED_BY), so a run's lookups read a few row groups.

DuckDB buffers a whole row group (122,880 rows by default) per thread before writing it: the load of a
200,000-page run (one INSERT of every article) ran out of its 1 GB memory_limit.
"""

from __future__ import annotations

from itertools import pairwise

from huunghi.warehouse import store
from huunghi.warehouse.schema import SORTED_BY


def snapshots(con) -> int:
    return con.execute("SELECT count(*) FROM wh.snapshots()").fetchone()[0]


def test_a_large_insert_writes_bounded_row_groups_and_the_option_is_set_once(tmp_path):
    root = store.check_location(tmp_path / "wh", create=True)
    con = store.connect(root, read_only=False)
    try:
        store.ensure_schema(con)
        con.execute("BEGIN")
        con.execute("INSERT INTO runs SELECT 'r' || i, NULL, now(), now(), 'completed', 0, 0, 0, 0, 0, 0, 0, 0 "
                    "FROM range(3 * ?) t(i)", [store.ROW_GROUP_ROWS])  # fmt: skip
        con.execute("COMMIT")
        files = [f for (f,) in con.execute("SELECT data_file FROM ducklake_list_files('wh', 'runs')").fetchall()]
        groups = con.execute(
            "SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(?) GROUP BY ALL", [files]
        ).fetchall()
        assert len(groups) >= 3 and max(rows for _, rows in groups) <= store.ROW_GROUP_ROWS
        before = snapshots(con)
        store.ensure_schema(con)  # the next run's: nothing to change, so no snapshot
        assert snapshots(con) == before
    finally:
        con.close()


def sort_orders(con) -> dict[str, str]:
    return dict(
        con.execute("""
        SELECT t.table_name, e.expression FROM __ducklake_metadata_wh.ducklake_sort_info i
        JOIN __ducklake_metadata_wh.ducklake_sort_expression e USING (sort_id, table_id)
        JOIN __ducklake_metadata_wh.ducklake_table t ON t.table_id = i.table_id AND t.end_snapshot IS NULL
        WHERE i.end_snapshot IS NULL""").fetchall()
    )


def test_a_key_table_is_written_sorted_by_its_key_in_row_groups_of_disjoint_ranges(tmp_path):
    root = store.check_location(tmp_path / "wh", create=True)
    con = store.connect(root, read_only=False)
    try:
        store.ensure_schema(con)
        assert sort_orders(con) == SORTED_BY
        con.execute("BEGIN")
        # hash(i): keys in no order, as band keys come
        con.execute("INSERT INTO article_bands SELECT 'a' || i, (i % 16)::TINYINT, hash(i) FROM range(3 * ?) t(i)",
                    [store.ROW_GROUP_ROWS])  # fmt: skip
        con.execute("COMMIT")
        listed = con.execute("SELECT data_file FROM ducklake_list_files('wh', 'article_bands')").fetchall()
        files = [f for (f,) in listed]
        ranges = con.execute(
            "SELECT row_group_id, stats_min_value::UBIGINT, stats_max_value::UBIGINT FROM parquet_metadata(?) "
            "WHERE path_in_schema = 'band_key' ORDER BY file_name, row_group_id", [files]
        ).fetchall()  # fmt: skip
        assert len(ranges) >= 3
        assert all(prev[2] <= nxt[1] for prev, nxt in pairwise(ranges))
    finally:
        con.close()


def test_a_warehouse_made_before_the_sort_orders_gets_them_once(tmp_path):
    root = store.check_location(tmp_path / "wh", create=True)
    con = store.connect(root, read_only=False)
    try:
        store.ensure_schema(con)
        con.execute("ALTER TABLE article_bands RESET SORTED BY")  # as an older version left it
        con.execute('ALTER TABLE pages SET SORTED BY ("sha256" ASC)')  # a different order: this version's wins
        assert "article_bands" not in sort_orders(con)
        store.ensure_schema(con)
        assert sort_orders(con)["article_bands"] == "band_key" and sort_orders(con)["pages"] == "source_uri"
        before = snapshots(con)
        store.ensure_schema(con)
        assert snapshots(con) == before
    finally:
        con.close()
