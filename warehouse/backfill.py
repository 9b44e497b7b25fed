"""Dedup's lookup tables for a warehouse built before them: `article_bands` from `article_signatures`, and
`story_alias_groups` from `story_aliases`, computed in DuckDB SQL (nothing read into Python).

Done once, by the first run that holds the run lock, in its own transaction: the tables are created and
filled in one commit, so a run killed meanwhile leaves the warehouse as it was and the next run does it
again. A warehouse that has the tables (new, or already filled) is left alone. A dry run does it too, as
it migrates an old catalog: the layout changes, not the data (dedup could not read the warehouse otherwise).
"""

from __future__ import annotations

from pathlib import Path

from huunghi.signatures import LSH_BANDS, LSH_ROWS
from huunghi.warehouse import store

TABLES = ("article_bands", "story_alias_groups")
HEX = LSH_ROWS * 16  # hex digits of one band: 8 values of 8 bytes


# huunghi/signatures.py: band_keys, in SQL: band i is bytes [64 i, 64 i + 64) of the signature (hex: 128 digits).
def bands_select(signatures: str = "article_signatures") -> str:
    """The band rows of every signature in `signatures` (a table with article_id, minhash)."""
    return f"""
    SELECT article_id, band::TINYINT AS band,
           ('0x' || substr(md5(unhex(substr(hex(minhash), 1 + band * {HEX}, {HEX}))), 1, 16))::UBIGINT AS band_key
    FROM {signatures}, range({LSH_BANDS}) AS bands(band)"""


# huunghi/dedup/stories.py: group_keys, in SQL: the no-space form; for keys of 4 words or more, each word left out.
def groups_select(aliases: str = "story_aliases") -> str:
    """The group rows of every title key in `aliases` (a table with title_key)."""
    return f"""
    SELECT replace(title_key, ' ', '') AS group_key, title_key FROM {aliases}
    UNION ALL
    SELECT len(words) || ' ' || i || ' ' || array_to_string(list_concat(words[1:i], words[i + 2:]), ' '), title_key
    FROM (SELECT title_key, string_split(title_key, ' ') AS words FROM {aliases})
    CROSS JOIN LATERAL (SELECT unnest(range(len(words))) AS i)
    WHERE len(words) >= 4"""


BANDS_SQL = f"INSERT INTO article_bands (article_id, band, band_key) {bands_select()}"
GROUPS_SQL = f"INSERT INTO story_alias_groups (group_key, title_key) {groups_select()}"


def backfill_dedup_keys(root: Path) -> str | None:
    """Create and fill dedup's lookup tables in a warehouse that lacks them (hold the run lock). What it did,
    or None."""
    if not store.has_catalog(root):
        return None
    con = store.connect(root, read_only=False)
    try:
        present = set(store.table_names(con))
        if not present or all(t in present for t in TABLES):
            return None  # a new warehouse gets every table from its first load; these are filled
        con.execute("BEGIN TRANSACTION")
        try:
            counts = {}
            for table, fill in zip(TABLES, (BANDS_SQL, GROUPS_SQL), strict=True):
                if table in present:
                    continue
                store.ensure_schema(con, in_transaction=True)  # CREATE … IF NOT EXISTS: the missing tables
                counts[table] = con.execute(fill).fetchone()[0]
            con.execute(f"CALL {store.ALIAS}.set_commit_message('huunghi', 'backfill dedup lookup tables')")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return "backfilled " + ", ".join(f"{table} ({n:,} rows)" for table, n in counts.items())
    finally:
        con.close()
