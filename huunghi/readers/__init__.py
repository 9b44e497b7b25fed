"""Readers: input files → raw pages. One reader per input format behind one interface; `READERS` is the list.

A reader names the file endings it takes (a trailing `.gz` is always allowed) and turns one file into
raw pages or quarantine entries, never raising for bad input: every input ends somewhere. Adding a
format is a module here and its line in `READERS` (ARCHITECTURE.md, "to add X, touch Y"). Crawled pages
come through huunghi.crawl as the same `RawPage` records.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from huunghi.readers.files import PageFileReader, absolute
from huunghi.readers.warc import WarcReader
from huunghi.records import IngestResult, Quarantined, RawPage


class Reader(Protocol):
    kind: str  # what pages.format records: text | html (a WARC's pages are html)
    suffixes: tuple[str, ...]

    def read(self, path: Path) -> list[RawPage | Quarantined]: ...


READERS: tuple[Reader, ...] = (
    PageFileReader("text", (".txt",)),
    PageFileReader("html", (".html", ".htm", ".xhtml")),
    WarcReader(),
)


class SourceError(ValueError):
    """A source the user named does not exist or cannot be read at all."""


def reader_for(path: Path) -> Reader | None:
    """The reader of a file, from its name (a trailing .gz allowed); None for files that are not pages."""
    name = path.name.lower().removesuffix(".gz")
    return next((r for r in READERS if name.endswith(r.suffixes)), None)


def kind_of(path: Path) -> str | None:
    """'text', 'html' or 'warc' from the file name; None for other files."""
    reader = reader_for(path)
    return reader.kind if reader else None


def discover(sources: list[str | Path]) -> list[Path]:
    """Page files under the sources, sorted, each once. A folder is read recursively, following links to
    folders (each folder once, so a link loop ends). What cannot be read is still listed — a broken or
    looping link, a folder that cannot be listed, a FIFO, device or socket (or a link to one) — so that its
    reader quarantines it with the reason, without reading it: every path found ends somewhere."""
    found: set[Path] = set()
    for source in sources:
        path = Path(source).expanduser()
        if not path.exists() and not path.is_symlink():
            raise SourceError(f"source not found: {source}")
        if path.is_dir():
            found.update(_walk(path))
        else:  # a file, a link that leads nowhere, or not a file at all (/dev/zero, a FIFO): the reader says
            found.add(absolute(path))
    return sorted(found)


def _walk(folder: Path) -> set[Path]:
    found: set[Path] = set()
    visited: set[tuple[int, int]] = set()

    def unlisted(error: OSError) -> None:  # a folder that cannot be listed is an input that failed
        found.add(Path(os.path.abspath(error.filename)))

    for top, folders, files in os.walk(folder, followlinks=True, onerror=unlisted):
        try:
            stat = os.stat(top)
        except OSError:
            continue
        if (stat.st_dev, stat.st_ino) in visited:  # reached again through a link: a loop, or a second way in
            folders.clear()
            continue
        visited.add((stat.st_dev, stat.st_ino))
        for name in files:
            path = Path(top, name)
            if name.startswith("."):
                continue
            if not path.exists():  # a broken or looping link: not a page, and not to be lost silently
                found.add(absolute(path))
            elif path.is_file():
                if reader_for(path):
                    found.add(path.resolve())
            elif not path.is_dir():  # a FIFO, a device, a socket or a link to one: quarantined, never read
                found.add(absolute(path))
    return found


def read_files(paths: Sequence[Path]) -> IngestResult:
    """Every page of the files, in order; what cannot be read is quarantined with its reason."""
    result = IngestResult()
    for path in paths:
        reader = reader_for(path) or READERS[0]  # a file named on the command line is read as text
        for page in reader.read(path):
            (result.quarantined if isinstance(page, Quarantined) else result.pages).append(page)
    return result
