"""What is not a regular file — a FIFO, a device, a socket, or a link to one — is quarantined as `not_a_file`
without being read, whether named as a source or found in a folder (issue 25, item 5).

Before: a folder holding a link to /dev/zero read 3.2 GB in 9.5 s; a link to a FIFO hung the run; inside a
folder, both were skipped without a row anywhere. Each read here runs in a thread with a deadline, so that
a reader that blocks fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Hung
from pathlib import Path
from typing import TypeVar

import pytest

from huunghi.firstpass import PageFile, read_and_clean
from huunghi.readers import discover, files, read_files
from huunghi.records import IngestResult

DEADLINE = 30.0  # seconds: these reads take milliseconds; a blocked open or an endless read never ends
T = TypeVar("T")


def _within(work: Callable[[], T]) -> T:
    """The result of `work`, or a failure when it did not end within DEADLINE (left in a daemon thread)."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(work).result(timeout=DEADLINE)
    except Hung:
        pytest.fail(f"the reader did not return within {DEADLINE:.0f} s: it blocked or read without end")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _read(*sources: Path) -> IngestResult:
    return _within(lambda: read_files(discover(list(sources))))


def _release(fifo: Path) -> None:
    """Open the FIFO for writing and close it: a reader blocked in its open (old code) sees the end."""
    with contextlib.suppress(OSError):  # nobody is reading it: nothing to release
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.html"
    os.mkfifo(path)
    yield path
    _release(path)


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock.html"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        yield path


def _only_quarantined(result: IngestResult, path: Path, what: str) -> None:
    assert result.pages == []
    assert [(q.source_uri, q.stage, q.reason) for q in result.quarantined] == [
        (Path(os.path.abspath(path)).as_uri(), "ingest", "not_a_file")
    ]
    assert what in result.quarantined[0].details
    assert result.quarantined[0].raw is None  # nothing was read, nothing kept


def test_a_fifo_named_as_a_source(fifo):
    _only_quarantined(_read(fifo), fifo, "a FIFO")


def test_a_link_to_a_fifo_named_as_a_source(fifo, tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(fifo)
    _only_quarantined(_read(link), link, f"a link to {str(fifo)!r}, a FIFO")


def test_a_link_to_dev_zero_named_as_a_source(tmp_path):
    link = tmp_path / "zero.html"
    link.symlink_to("/dev/zero")
    _only_quarantined(_read(link), link, "a link to '/dev/zero', a character device")


def test_a_socket_named_as_a_source(unix_socket):
    _only_quarantined(_read(unix_socket), unix_socket, "a socket")


def test_a_folder_holding_them_quarantines_each_and_reads_its_pages(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "page.txt").write_text("Tiêu đề\n\nMột đoạn văn.\n", "utf-8")
    os.mkfifo(folder / "pipe.html")
    (folder / "zero.html").symlink_to("/dev/zero")
    (folder / "to-pipe.txt").symlink_to(folder / "pipe.html")
    (folder / "null").symlink_to("/dev/null")  # not named as a page: found all the same, never skipped silently
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(folder / "sock.html"))
        try:
            result = _read(folder)
        finally:
            _release(folder / "pipe.html")
    assert [p.source_uri for p in result.pages] == [(folder / "page.txt").as_uri()]
    found = {Path(q.source_uri).name: (q.reason, q.details) for q in result.quarantined}
    assert {name: reason for name, (reason, _) in found.items()} == {
        name: "not_a_file" for name in ("null", "pipe.html", "sock.html", "to-pipe.txt", "zero.html")
    }
    assert "a link to '/dev/zero', a character device" in found["zero.html"][1]


def test_a_warc_that_is_a_fifo(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    os.mkfifo(path)
    try:
        _only_quarantined(_read(path), path, "a FIFO")
    finally:
        _release(path)


def test_a_fifo_swapped_in_after_the_look_is_not_waited_on(fifo, monkeypatch):
    """Between the stat and the open, a file can become a FIFO: the open does not block and the open file is
    checked again."""
    monkeypatch.setattr(files, "not_a_file", lambda path, uri: None)  # as if the look had seen a regular file
    result = _within(lambda: read_files([fifo]))
    assert [q.reason for q in result.quarantined] == ["not_a_file"]
    assert "a FIFO" in result.quarantined[0].details
    with pytest.raises(files.NotAFile):
        _within(lambda: files.open_regular(Path("/dev/zero")))


def test_the_first_pass_quarantines_a_fifo_it_was_handed(fifo):
    """The worker that reads and cleans a batch gets the same answer as ingest."""
    out = _within(lambda: read_and_clean([PageFile.of(fifo)]))
    assert out.refs == []
    assert [q.reason for q in out.unreadable] == ["not_a_file"]
