"""The warehouse writes Parquet row groups of store.ROW_GROUP_ROWS rows, so the load's memory stays bounded.

DuckDB buffers a whole row group (122,880 rows by default) per thread before writing it: the load of a
200,000-page run (one INSERT of every article) ran out of its 1 GB memory_limit.
"""

from __future__ import annotations

from huunghi.warehouse import store


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
