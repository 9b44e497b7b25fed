"""Real pages teach, they are not copied: no line of the sample pages (30+ characters) and no run of 13 words
from them appears in the repository. Test pages are written in our own words with the same structure.

The site's own navigation (the section's breadcrumb, which the parser must know) is layout vocabulary, not
text, and is the one line allowed. Names of institutions and posts (up to 12 words, in the data files)
stay below the word-run bound.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import REPO, needs_samples, sample_files

MIN_LINE_CHARS = 30
MAX_SHARED_WORDS = 13
NAVIGATION = {"Trang chủ Hữu nghị Bốn phương kết bạn"}  # the breadcrumb: layout, not text
_WORD = re.compile(r"\w+")


def tracked_text_files() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    out = {}
    for name in names:
        try:
            out[name] = (REPO / name).read_text("utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
    return out


def sample_lines() -> set[str]:
    lines = set()
    for path in sample_files():
        for line in path.read_text("utf-8").splitlines():
            line = line.strip()
            if len(line) >= MIN_LINE_CHARS and line not in NAVIGATION:
                lines.add(line)
    return lines


@needs_samples
def test_no_sample_line_appears_in_the_repository():
    lines = sample_lines()
    assert lines, "the samples have long lines"
    copied = [(name, line[:60]) for name, text in tracked_text_files().items() for line in lines if line in text]
    assert copied == []


@needs_samples
def test_no_long_run_of_sample_words_appears_in_the_repository():
    runs: set[tuple[str, ...]] = set()
    for path in sample_files():
        words = _WORD.findall(path.read_text("utf-8").lower())
        runs.update(tuple(words[i : i + MAX_SHARED_WORDS]) for i in range(len(words) - MAX_SHARED_WORDS + 1))
    copied = set()
    for name, text in tracked_text_files().items():
        for line in text.lower().splitlines():  # a run within one line (a CSV row is one name)
            words = _WORD.findall(line)
            copied.update(
                (name, " ".join(words[i : i + MAX_SHARED_WORDS]))
                for i in range(len(words) - MAX_SHARED_WORDS + 1)
                if tuple(words[i : i + MAX_SHARED_WORDS]) in runs
            )
    assert sorted(copied) == []


def test_the_checks_would_see_a_copy(tmp_path: Path):
    """The word-run check is not vacuous: a file that quotes a run of words of a text is caught."""
    text = "một hai ba bốn năm sáu bảy tám chín mười mười một mười hai mười ba"
    words = _WORD.findall(text)
    run = tuple(words[:MAX_SHARED_WORDS])
    assert run in {tuple(words[i : i + MAX_SHARED_WORDS]) for i in range(len(words) - MAX_SHARED_WORDS + 1)}
