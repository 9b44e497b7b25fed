"""Ingest and the first clean in one pass: a batch of inputs is read, decoded and cleaned in the worker that
reads it.

A page's text is the largest thing a run handles (30 KB a page on the bench corpus). Read in one process and
cleaned in another, it crossed between processes twice and stayed in the flow's memory for the whole run.
Here it is cleaned where it is read; what travels back is a `PageRef` (the page without its text), the
cleaned article, and the text only of the pages the second pass may parse again. A page a later gate sets
aside is read again from its file (`read_again`), so the quarantine still keeps its bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huunghi.knowledge import NO_KNOWLEDGE, Knowledge, Lookup
from huunghi.parsing.clean import clean_chunk
from huunghi.readers import read_files
from huunghi.records import FirstPass, PageRef, RawPage
from huunghi.text import odd_char_share


@dataclass(frozen=True, slots=True)
class PageFile:
    """A page file to read. Its size and modification time are part of the clean's cache key: a file
    rewritten in place is read again."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> PageFile:
        try:
            stat = path.stat()
        except OSError:  # gone since it was found: the reader quarantines it with the reason
            return cls(str(path), -1, -1)
        return cls(str(path), stat.st_size, stat.st_mtime_ns)


Input = PageFile | RawPage  # a file to read, or a page the flow already holds (fetched from the web, kept)


def ref_of(page: RawPage, origin: str | None) -> PageRef:
    return PageRef(page.source_uri, page.sha256, page.fetched_at, page.format, page.size, page.url,
                   odd_char_share(page.text), origin)  # fmt: skip


def read_and_clean(inputs: Sequence[Input], known: Knowledge = NO_KNOWLEDGE, stored: Lookup | None = None) -> FirstPass:
    """Every page of the inputs, read and cleaned with `known` (and what `stored` answers by key), in input
    order; the pages are cleaned together, so the warehouse is asked once for all their keys."""
    out = FirstPass()
    pages: list[RawPage] = []
    for item in inputs:
        if isinstance(item, RawPage):
            read, origin = [item], None
        else:
            found = read_files([Path(item.path)])
            out.unreadable.extend(found.quarantined)
            read, origin = found.pages, item.path
        out.refs.extend(ref_of(page, origin) for page in read)
        pages.extend(read)
    out.cleaned = clean_chunk(pages, known, stored)
    doubtful = {r.source_uri for r in out.cleaned.articles if r.needs_knowledge}
    out.kept = [page for page in pages if page.source_uri in doubtful]
    return out


def read_again(ref: PageRef) -> RawPage | None:
    """The page a reference names, read again from its file; None when the file is gone or its bytes changed."""
    if ref.origin is None:
        return None
    read = read_files([Path(ref.origin)])
    return next((p for p in read.pages if p.source_uri == ref.source_uri and p.sha256 == ref.sha256), None)
