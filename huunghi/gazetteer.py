"""Provinces of Viet Nam and Laos, their spellings in Vietnamese text, and a matcher over them.

All names and codes live in data/: provinces.csv (ISO 3166-2 codes, the unit each pre-2025 Vietnamese
province belongs to since 1 July 2025), province_aliases.csv (spellings met in text) and
entity_stopphrases.txt (phrases that contain a province name without naming the province).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Entity:
    entity_id: str
    kind: str
    name: str
    iso_code: str
    country: str
    level: str
    name_2025: str | None
    iso_code_2025: str | None


@dataclass(frozen=True, slots=True)
class Match:
    entity_id: str
    surface: str
    start: int
    end: int


def _data(name: str) -> str:
    return resources.files("huunghi").joinpath(f"data/{name}").read_text("utf-8")


class Gazetteer:
    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        aliases: dict[str, str] = {}
        for row in csv.DictReader(_data("provinces.csv").splitlines()):
            code = row["iso_code"]
            self.entities[code] = Entity(
                code,
                "province",
                row["name"],
                code,
                row["country"],
                row["level"],
                row["name_2025"] or None,
                row["iso_code_2025"] or None,
            )
            if row["country"] == "VN":  # Lao names are all listed as text forms in the alias file
                aliases[row["name"]] = code
        for row in csv.DictReader(_data("province_aliases.csv").splitlines()):
            if row["iso_code"] not in self.entities:
                raise ValueError(f"alias {row['alias']!r} names unknown code {row['iso_code']}")
            aliases[row["alias"]] = row["iso_code"]
        self.aliases = aliases
        self._pattern = self._compile(aliases)
        stops = [s.strip() for s in _data("entity_stopphrases.txt").splitlines()]
        self._stops = self._compile(dict.fromkeys(s for s in stops if s and not s.startswith("#")))

    @staticmethod
    def _compile(names: dict[str, object]) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    def find(self, text: str) -> list[Match]:
        """Province mentions in text, longest spelling first, none inside a stop phrase."""
        blocked = [m.span() for m in self._stops.finditer(text)]
        found = []
        for m in self._pattern.finditer(text):
            if any(s <= m.start() < e for s, e in blocked):
                continue
            found.append(Match(self.aliases[m.group()], m.group(), m.start(), m.end()))
        return found


@cache
def load_gazetteer() -> Gazetteer:
    return Gazetteer()
