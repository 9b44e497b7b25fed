"""`huunghi quarantine --save-raw DIR` (issue 25): never writes through a link planted at an output name, and
refuses an empty folder name instead of doing nothing with exit 0."""

from __future__ import annotations

import hashlib
import os

import pytest

from huunghi.flows.cli import _save_raw, main

ROWS = [{"source_uri": "file:///pages/a.html", "format": "html", "raw": b"<p>kept copy</p>"}]
NAME = hashlib.sha256(b"file:///pages/a.html").hexdigest()[:16] + ".txt"


def test_writes_the_kept_copy(tmp_path):
    assert _save_raw(ROWS, tmp_path / "out") == 1
    assert (tmp_path / "out" / NAME).read_bytes() == b"<p>kept copy</p>"
    assert _save_raw(ROWS, tmp_path / "out") == 1  # again: the earlier copy is replaced


def test_a_planted_link_is_not_followed(tmp_path):
    target = tmp_path / "precious"
    target.write_bytes(b"mine")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / NAME).symlink_to(target)
    with pytest.raises(OSError, match="not a regular file"):
        _save_raw(ROWS, tmp_path / "out")
    assert target.read_bytes() == b"mine"


def test_a_planted_fifo_is_not_opened(tmp_path):
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / NAME)
    reader = os.open(tmp_path / "out" / NAME, os.O_RDONLY | os.O_NONBLOCK)  # a reader: the old code does not hang
    try:
        with pytest.raises(OSError, match="not a regular file"):
            _save_raw(ROWS, tmp_path / "out")
        assert os.read(reader, 100) == b""  # nothing was written into it
    finally:
        os.close(reader)


def test_empty_folder_name_is_refused(tmp_path, capsys):
    assert main(["quarantine", "--warehouse", str(tmp_path), "--save-raw", ""]) == 2
    assert "--save-raw needs a folder" in capsys.readouterr().err
