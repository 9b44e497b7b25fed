"""Places, countries and organizations of Viet Nam and Laos as Vietnamese text names them, and one matcher.

All names and codes live in data/: provinces.csv (ISO 3166-2 codes, the unit each pre-2025 Vietnamese
province belongs to since 1 July 2025), province_aliases.csv (spellings met in text), places.csv (cities,
districts and border gates that stand for their province), countries.csv, organizations.csv (provincial
bodies: "UBND tỉnh" + a province is that province's People's Committee), national_organizations.csv, and
entity_stopphrases.txt (phrases that contain a name without naming the place).

Spelling variants are also derived by rule, so every province gets them: old and new tone placement
(Hoà/Hòa, Thuỷ/Thủy), hyphens or spaces between transliterated syllables (Sạ-vẳn-na-khệt / Sạ vẳn na
khệt), and unaccented forms of Vietnamese names (Quang Tri).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from huunghi.text import ascii_fold

_WORD = re.compile(r"\w+")

# Old-style (oà) and new-style (òa) tone placement: both are common in Vietnamese text.
_TONE_PAIRS = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entity:
    entity_id: str
    kind: str  # province | country | organization
    name: str
    iso_code: str | None
    country: str
    level: str | None
    name_2025: str | None
    iso_code_2025: str | None


@dataclass(frozen=True, slots=True)
class Match:
    entity_id: str
    surface: str
    start: int
    end: int
    place: str | None = None  # the city, district or border gate that stood for the province


def _data(name: str) -> str:
    return resources.files("huunghi").joinpath(f"data/{name}").read_text("utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_data(name).splitlines()))


def variants(name: str, *, unaccented: bool = False) -> set[str]:
    """A name and the spellings derived from it by rule (see the module docstring)."""
    name = unicodedata.normalize("NFC", name)
    out = {name}
    for old, new in _TONE_PAIRS.items():
        out |= {v.replace(old, new) for v in out} | {v.replace(new, old) for v in out}
    if "-" in name and " - " not in name and " – " not in name:
        out |= {v.replace("-", " ") for v in out}
    if unaccented:
        folded = " ".join(w.capitalize() for w in ascii_fold(name).split())
        if len(folded) >= 6 and folded != name:
            out.add(folded)
    return out


class Gazetteer:
    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self._org_types: dict[str, str] = {}  # "UBND tỉnh" → "UBND": a provincial body, before a province name
        names: dict[str, tuple[str, str | None]] = {}  # spelling → (entity id, place)
        provinces: dict[str, str] = {}  # province spelling → code (for organization names)
        for row in _rows("provinces.csv"):
            code = row["iso_code"]
            self.entities[code] = Entity(
                code, "province", row["name"], code, row["country"], row["level"],
                row["name_2025"] or None, row["iso_code_2025"] or None,
            )  # fmt: skip
            if row["country"] == "VN":  # Lao names are all listed as text forms in the alias file
                for spelling in variants(row["name"], unaccented=True):
                    provinces[spelling] = code
        for row in _rows("province_aliases.csv"):
            if row["iso_code"] not in self.entities:
                raise ValueError(f"alias {row['alias']!r} names unknown code {row['iso_code']}")
            for spelling in variants(row["alias"]):
                provinces[spelling] = row["iso_code"]
        names.update({s: (code, None) for s, code in provinces.items()})
        for row in _rows("places.csv"):
            if row["iso_code"] not in self.entities:
                raise ValueError(f"place {row['name']!r} names unknown code {row['iso_code']}")
            for spelling in variants(row["name"]):
                names[spelling] = (row["iso_code"], row["name"])
        for row in _rows("countries.csv"):
            self.entities[row["iso_code"]] = Entity(
                row["iso_code"], "country", row["name"], row["iso_code"], row["iso_code"], None, None, None
            )
            for alias in row["aliases"].split("|"):
                names.setdefault(alias, (row["iso_code"], None))
        for row in _rows("national_organizations.csv"):
            self.entities[row["entity_id"]] = Entity(row["entity_id"], "organization", row["name"], None, "VN",
                                                     "national", None, None)  # fmt: skip
            for alias in row["aliases"].split("|"):
                names[alias] = (row["entity_id"], None)
        for row in _rows("organizations.csv"):
            for code, entity in list(self.entities.items()):
                if entity.kind != "province":
                    continue
                org_id = f"ORG-{row['type'].upper()}-{code}"
                self.entities.setdefault(
                    org_id,
                    Entity(org_id, "organization", f"{row['name']} {entity.name}", None, entity.country,
                           "provincial", None, None),
                )  # fmt: skip
            for prefix in row["prefixes"].split("|"):
                for spelling in variants(prefix):
                    self._org_types[spelling] = row["type"].upper()
        self.names = names
        self._by_first_word = self._index(names)
        self._candidates = self._word_starts(self._by_first_word)
        org_alternatives = "|".join(re.escape(p) for p in sorted(self._org_types, key=len, reverse=True))
        self._org_before = re.compile(rf"(?<!\w)({org_alternatives})\s+$")
        stops = [s.strip() for s in _data("entity_stopphrases.txt").splitlines()]
        self._stops = self._compile(dict.fromkeys(s for s in stops if s and not s.startswith("#")))

    @staticmethod
    def _index(names: dict[str, object]) -> dict[str, list[str]]:
        """Names by their first word, longest first: a dictionary lookup per word of the text is 2× faster
        than one regular expression of a thousand alternatives (same matches, tested)."""
        index: dict[str, list[str]] = {}
        for name in names:
            first = _WORD.match(name)
            index.setdefault(first.group() if first else name[:1], []).append(name)
        return {word: sorted(group, key=len, reverse=True) for word, group in index.items()}

    @staticmethod
    def _word_starts(index: dict[str, list[str]]) -> re.Pattern[str]:
        """Words that can start a name: only those reach Python (most words of a text cannot). A name's first
        word starts with a capital, or is one of a few lowercase words ("tỉnh", "thành"): those are matched
        whole, not every word of their first letters (a third of the words of Vietnamese prose start with
        t or n)."""
        lower = sorted(word for word in index if word[0].islower())
        firsts = "".join(sorted({re.escape(word[0]) for word in index if not word[0].islower()}))
        return re.compile(rf"(?<!\w)(?:[{firsts}]\w*|(?:{'|'.join(map(re.escape, lower))})(?!\w))")

    def _names_in(self, text: str) -> list[tuple[str, int, int]]:
        """(name, start, end) of every name in text, leftmost then longest, whole words only."""
        out, last, n = [], 0, len(text)
        for word in self._candidates.finditer(text):
            start = word.start()
            if start < last or (candidates := self._by_first_word.get(word.group())) is None:
                continue
            for name in candidates:
                end = start + len(name)
                if text.startswith(name, start) and (end == n or not (text[end].isalnum() or text[end] == "_")):
                    out.append((name, start, end))
                    last = end
                    break
        return out

    @staticmethod
    def _compile(names: dict[str, object]) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    def find(self, text: str) -> list[Match]:
        """find_all, remembered for the texts read several times (a paragraph by mentions, people and
        partnerships)."""
        return list(self._find_cached(text))

    @lru_cache(maxsize=4096)  # noqa: B019 — one Gazetteer per process (load_gazetteer), never freed anyway
    def _find_cached(self, text: str) -> tuple[Match, ...]:
        return tuple(self.find_all(text))

    @lru_cache(maxsize=4096)  # noqa: B019 — one Gazetteer per process, as above
    def stop_spans(self, text: str) -> tuple[tuple[int, int], ...]:
        """Where stop phrases stand in text ("Chủ tịch Hồ Chí Minh"): asked by mentions and by people, per paragraph."""
        return tuple(m.span() for m in self._stops.finditer(text))

    def find_all(self, text: str) -> list[Match]:
        """Mentions in text, longest spelling first, none inside a stop phrase. A province named right
        after a provincial body ("UBND tỉnh Quảng Trị") is also a mention of that body."""
        blocked = self.stop_spans(text)
        found: list[Match] = []
        for name, start, end in self._names_in(text):
            if any(s <= start < e for s, e in blocked):
                continue
            entity_id, place = self.names[name]
            is_province = place is None and self.entities[entity_id].kind == "province"
            if is_province and (org := self._org_before.search(text, max(0, start - 80), start)):
                org_id = f"ORG-{self._org_types[org.group(1)]}-{entity_id}"
                found = [f for f in found if not org.start() <= f.start < start]  # "Hội hữu nghị Việt Nam – Lào"
                found.append(Match(org_id, text[org.start() : end], org.start(), end))
            found.append(Match(entity_id, name, start, end, place))
        return found

    def province_of(self, match: Match) -> str | None:
        """The province a mention stands for: itself, the province of a place or of an organization."""
        entity = self.entities[match.entity_id]
        if entity.kind == "province":
            return entity.entity_id
        if entity.kind == "organization" and entity.level == "provincial":
            return match.entity_id.rsplit("-", 2)[-2] + "-" + match.entity_id.rsplit("-", 1)[-1]
        return None


@cache
def load_gazetteer() -> Gazetteer:
    return Gazetteer()
