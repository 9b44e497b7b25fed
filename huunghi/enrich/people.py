"""Officials named with their posts (invented names): `Bí thư Tỉnh ủy Quảng Trị Đoàn Minh Khải`, `Bí thư, Tỉnh
trưởng tỉnh Sê Kông Phonsy Keomany`, `Tỉnh trưởng tỉnh Champasak - Somphet Inthavong`.

A post (data/posts.csv, several joined by commas) may be followed by "tỉnh" and a province (the
gazetteer's spellings), then the name: a run of capitalized words — Vietnamese names (Nguyễn Văn
Phương), Lao names with hyphens (Bun-hiên Bun-chít) or in Latin spelling (Phonsy Keomany). The same name
later in the article with a shorter post ("Bí thư Tỉnh ủy Đoàn Minh Khải") is the same person.

underthesea's NER was measured here (13 ms a sentence, and it tags a whole "post + province + name" phrase
as one location): the rules are both faster and right on these sentences, so it is not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from huunghi.enrich.gazetteer import Gazetteer, load_gazetteer
from huunghi.enrich.vocabulary import alternation, data_rows
from huunghi.records import ArticleText

_WORD = re.compile(r"[^\W\d_][\w]*(?:-[^\W\d_][\w]*)*")
_NOT_A_NAME = frozenset(
    [
        "Tỉnh",
        "Thành",
        "Hội",
        "Đoàn",
        "Ủy",
        "Uỷ",
        "Ban",
        "Sở",
        "Bộ",
        "Đảng",
        "Nhà",
        "Công",
        "Cộng",
        "Trường",
        "Huyện",
        "Xã",
        "Chính",
        "Đại",
    ]
)
MAX_NAME_WORDS = 8  # Lao names are often written syllable by syllable: "Bua Khăm Thíp Pha Vông"
_SEPARATOR = re.compile(r"\s*[-–,]?\s*(?:(?:ông|bà|đồng chí|ngài)\s+)?")  # "…, ông Nguyễn Văn A"
# A name first, then its post: "ông Trần Văn Xuân – Phó Chủ tịch …", "bà Khăm-xay Vông-phết (Tỉnh trưởng …)".
_HONORIFIC = re.compile(r"(?<!\w)(?:ông|bà|đồng chí|ngài)\s+(?=[^\W\d_])")
_POST_AFTER = re.compile(r"\s*(?:[-–,]|\()\s*")


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    organization_entity_id: str | None
    province_entity_id: str | None
    start: int
    end: int


@cache
def _posts() -> tuple[re.Pattern[str], dict[str, str], tuple[str, ...]]:
    types = {row["post"]: row["organization_type"] for row in data_rows("posts.csv")}
    for post, kind in list(types.items()):  # real pages also write "Phó tỉnh trưởng", "Bí thư tỉnh ủy"
        first, *rest = post.split(" ")
        types.setdefault(" ".join([first, *(w if w.isupper() else w.lower() for w in rest)]), kind)
    one = alternation(types)
    openings = tuple(sorted({" ".join(post.split()[:2]) for post in types}))  # a cheap test before the regex
    return re.compile(rf"(?<!\w)(?:{one})(?:\s*,\s*(?:{one}))*(?!\w)"), types, openings


_UNIT = re.compile(r"\s*(?:tỉnh|thành phố|TP\.?)?\s*")


def _province_at(g: Gazetteer, text: str, pos: int) -> tuple[str | None, int]:
    """A province named at pos (after an optional 'tỉnh'/'thành phố'); (code, end) or (None, pos)."""
    m = _UNIT.match(text, pos)
    at = m.end() if m else pos
    for match in g.find(text):
        if match.start == at and g.entities[match.entity_id].kind == "province":
            return match.entity_id, match.end
    return None, pos


def _name_at(text: str, pos: int) -> tuple[str | None, int]:
    """The capitalized words at pos (after an optional dash or comma): the name, and where it ends."""
    m = _SEPARATOR.match(text, pos)
    at = m.end() if m else pos
    words: list[str] = []
    end = at
    while len(words) < MAX_NAME_WORDS:
        w = _WORD.match(text, end)
        if not w or not w.group()[0].isupper() or w.group().isupper():
            break
        words.append(w.group())
        end = w.end()
        if not text.startswith(" ", end):
            break
        end += 1
    while words and words[-1] in _NOT_A_NAME:  # "… Vông-phết Tỉnh trưởng": the name stops before a post
        words.pop()
    if len(words) < 2 or words[0] in _NOT_A_NAME:
        return None, pos
    return " ".join(words), at + len(" ".join(words))


def find_people(text: str) -> list[Person]:
    """Officials with a post in one paragraph, in order."""
    g = load_gazetteer()
    pattern, types, openings = _posts()
    if not any(opening in text for opening in openings):
        return []
    blocked = list(g.stop_spans(text))  # "Chủ tịch Hồ Chí Minh" is not an official of today
    out = []
    for m in pattern.finditer(text):
        if any(s <= m.start() < e for s, e in blocked):
            continue
        province, after = _province_at(g, text, m.end())
        name, end = _name_at(text, after)
        if name is None or any(m.start >= after and m.end == end for m in g.find(text)):  # a place, not a person
            continue
        out.append(_person(g, types, name, m.group(), province, m.start(), end))
    taken = [(p.start, p.end) for p in out]
    for h in _HONORIFIC.finditer(text):  # the name first, then its post after a dash, comma or parenthesis
        if any(s <= h.start() < e for s, e in taken + blocked):
            continue
        name, end = _name_at(text, h.end())
        sep = _POST_AFTER.match(text, end) if name else None
        post = pattern.match(text, sep.end()) if sep and sep.end() > end else None
        if name is None or post is None:
            continue
        province, _ = _province_at(g, text, post.end())
        out.append(_person(g, types, name, post.group(), province, h.start(), end))
    return sorted(out, key=lambda p: p.start)


def _person(
    g: Gazetteer, types: dict[str, str], name: str, role: str, province: str | None, start: int, end: int
) -> Person:
    """The person with the body their post belongs to ("Chủ tịch UBND tỉnh" + a province → that UBND)."""
    org_type = next((types[p.strip()] for p in reversed(role.split(",")) if types.get(p.strip())), "")
    org = f"ORG-{org_type}-{province}" if org_type and province else None
    return Person(name, role, org if org in g.entities else None, province, start, end)


def merge(people: list[tuple[int, Person]]) -> list[tuple[int, Person]]:
    """One row per name in an article: the fullest post, the province and body wherever stated."""
    by_name: dict[str, tuple[int, Person]] = {}
    for position, p in people:
        seen = by_name.get(p.name)
        if seen is None:
            by_name[p.name] = (position, p)
            continue
        first = seen[1]
        by_name[p.name] = (
            seen[0],
            Person(
                p.name,
                max(first.role, p.role, key=len),
                first.organization_entity_id or p.organization_entity_id,
                first.province_entity_id or p.province_entity_id,
                first.start,
                first.end,
            ),
        )
    return list(by_name.values())


class PeopleEnricher:
    """The `people` table: officials named with a post, once per name and article."""

    table = "people"

    def rows(self, article: ArticleText) -> list[tuple]:
        found = [(position, p) for position, _, text in article.paragraphs for p in find_people(text)]
        return [
            (p.name, p.role, p.organization_entity_id, p.province_entity_id, position, p.start)
            for position, p in merge(found)
        ]
