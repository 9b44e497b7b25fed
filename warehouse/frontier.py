"""The frontier rows the warehouse published for the URLs a source lists: the crawl's order comes from them,
so only a run that published moves the frontier on (a dry run, a gate-stopped or killed run moves nothing).
Read by key (the listed URLs), read-only; nothing when there is no warehouse or no frontier table yet."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from huunghi.warehouse import store

COLUMNS = ("url", "state", "reason", "last_fetched_at")


def read_frontier(root: Path, urls: list[str]) -> dict[str, dict]:
    """url → its published frontier row (state, reason, last_fetched_at), for the given URLs the table holds."""
    if not urls or not store.has_catalog(root):
        return {}
    con = store.connect(root, read_only=True)
    try:
        con.register("wanted", pa.table({"url": pa.array(urls, pa.string())}))
        rows = con.execute(
            f"SELECT {', '.join('f.' + c for c in COLUMNS)} FROM frontier f JOIN wanted w ON f.url = w.url"
        ).fetchall()
    except duckdb.CatalogException:  # a warehouse from before the frontier table: nothing published yet
        return {}
    finally:
        con.close()
    return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows}


def reader(root: Path):
    """The crawl's `published` argument for the warehouse at `root`."""
    return lambda urls: read_frontier(root, urls)
