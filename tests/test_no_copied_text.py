"""Real pages teach, they are not copied: no line of the sample pages (30+ characters) and no run of 13 words
from them appears in the repository. Test pages are written in our own words with the same structure.

The site's own navigation (the section's breadcrumb, which the parser must know) is layout vocabulary, not
text, and is the one line allowed. Names of institutions and posts (up to 12 words, in the data files)
stay below the word-run bound.
"""

from __future__ import annotations

import re
import subprocess

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


def copied_lines(samples: list[str], files: dict[str, str]) -> list[tuple[str, str]]:
    """(file, line) for every sample line of MIN_LINE_CHARS+ (navigation excepted) found in a file."""
    lines = {
        line.strip()
        for text in samples
        for line in text.splitlines()
        if len(line.strip()) >= MIN_LINE_CHARS and line.strip() not in NAVIGATION
    }
    return sorted((name, line[:60]) for name, text in files.items() for line in lines if line in text)


def copied_runs(samples: list[str], files: dict[str, str]) -> list[tuple[str, str]]:
    """(file, words) for every run of MAX_SHARED_WORDS sample words standing within one line of a file."""
    runs: set[tuple[str, ...]] = set()
    for text in samples:
        words = _WORD.findall(text.lower())
        runs.update(tuple(words[i : i + MAX_SHARED_WORDS]) for i in range(len(words) - MAX_SHARED_WORDS + 1))
    found = set()
    for name, text in files.items():
        for line in text.lower().splitlines():  # a run within one line (a CSV row is one name)
            words = _WORD.findall(line)
            found.update(
                (name, " ".join(words[i : i + MAX_SHARED_WORDS]))
                for i in range(len(words) - MAX_SHARED_WORDS + 1)
                if tuple(words[i : i + MAX_SHARED_WORDS]) in runs
            )
    return sorted(found)


def _samples() -> list[str]:
    return [path.read_text("utf-8") for path in sample_files()]


@needs_samples
def test_no_sample_line_appears_in_the_repository():
    assert copied_lines(_samples(), tracked_text_files()) == []


@needs_samples
def test_no_long_run_of_sample_words_appears_in_the_repository():
    assert copied_runs(_samples(), tracked_text_files()) == []


def test_the_checks_see_a_copy_and_let_vocabulary_pass():
    line = "Hai tỉnh vùng cao cùng nhau mở lại phiên chợ biên giới sau ba năm gián đoạn vì dịch."
    sample = f"Trang chủ Hữu nghị Bốn phương kết bạn\n{line}\n"
    files = {
        "copy.py": f"x = '{line}'",
        "quote.md": "as a page says: hai tỉnh vùng cao cùng nhau mở lại phiên chợ biên giới sau ba năm, then more",
        "vocabulary.csv": "Trang chủ Hữu nghị Bốn phương kết bạn\nphiên chợ biên giới\n",
    }
    assert [name for name, _ in copied_lines([sample], files)] == ["copy.py"]
    assert sorted({name for name, _ in copied_runs([sample], files)}) == ["copy.py", "quote.md"]
