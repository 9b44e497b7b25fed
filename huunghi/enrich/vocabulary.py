"""The enrichers' vocabularies: rows of the data files in huunghi/data/ (currencies.csv, posts.csv, sectors.csv,
event_cues.csv, agreement_kinds.csv) and the regular expressions built from them."""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources


@cache
def data_rows(name: str) -> tuple[dict[str, str], ...]:
    text = resources.files("huunghi").joinpath(f"data/{name}").read_text("utf-8")
    return tuple(csv.DictReader(text.splitlines()))


def alternation(words: list[str] | set[str]) -> str:
    """A regex alternation, longest first, so that the longest phrase wins."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
