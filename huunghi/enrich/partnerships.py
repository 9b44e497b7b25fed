"""The Vietnamese–Lao province pairs an article is about, and what happened between them.

Partners are the provinces the title names (or, when the title lacks one side, the title and the lead;
failing that, provinces the body names at least twice). A province named in passing is not a partner:
the seat of a consulate ("Lãnh sự quán Lào tại <province>"), a list of three or more provinces of one
country ("sinh viên đến từ các tỉnh A, B, C…"); teasers, sidebars and captions are
never read. Event types come from cue words in the title and lead (data/event_cues.csv), the agreement
kind from the phrase a signing verb governs (data/agreement_kinds.csv), the period from the signed
`giai đoạn` (not the reviewed one), sectors from keywords (data/sectors.csv), the event date from the
first cued date of the lead.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from huunghi.enrich.dates import event_dates, signed_period
from huunghi.enrich.gazetteer import Match, load_gazetteer
from huunghi.enrich.vocabulary import alternation, data_rows
from huunghi.records import ArticleText

_CONSULATE = re.compile(r"(?:lãnh sự|Lãnh sự|Đại sứ quán|đại sứ quán)[^.;]{0,30}\stại\s+(?:tỉnh\s+)?$")
_LIST_GAP = re.compile(r"^\s*(?:,|và|,\s*và)\s*(?:tỉnh\s+)?$")
_SIGNING = re.compile(r"(?:ký kết|lễ ký|ký)(?!\w)", re.IGNORECASE)


@dataclass
class Partnership:
    vn_entity_id: str
    la_entity_id: str
    event_type: str | None
    event_types: list[str] = field(default_factory=list)
    event_date: date | None = None
    event_end: date | None = None
    agreement_kind: str | None = None
    period_start: int | None = None
    period_end: int | None = None
    sectors: list[str] = field(default_factory=list)

    def row(self) -> tuple:
        """The fields in table order (dataclasses.astuple copies the lists, and costs more)."""
        return (self.vn_entity_id, self.la_entity_id, self.event_type, self.event_types, self.event_date,
                self.event_end, self.agreement_kind, self.period_start, self.period_end, self.sectors)  # fmt: skip


@cache
def _vocabulary() -> tuple[list[tuple[str, re.Pattern[str]]], list[tuple[str, re.Pattern[str]]], list[tuple]]:
    def compiled(rows, key, column):
        return [(row[key], re.compile(rf"(?<!\w)(?:{alternation(row[column].split('|'))})(?!\w)")) for row in rows]

    events = compiled(data_rows("event_cues.csv"), "event_type", "cues")
    agreements = compiled(data_rows("agreement_kinds.csv"), "agreement_kind", "phrases")
    sectors = [  # keywords are lower case and searched in lower-cased text (IGNORECASE is slow on Unicode)
        (
            row["sector"],
            tuple(row["keywords"].lower().split("|")),
            re.compile(rf"(?<!\w)(?:{alternation(row['keywords'].lower().split('|'))})(?!\w)"),
        )
        for row in data_rows("sectors.csv")
    ]
    return events, agreements, sectors


def _passing(text: str, matches: list[Match], provinces: dict[int, str]) -> set[int]:
    """Indexes of province mentions made in passing: consulate seats and lists of one country's provinces."""
    g = load_gazetteer()
    out = {i for i in provinces if _CONSULATE.search(text[max(0, matches[i].start - 60) : matches[i].start])}
    order = sorted(provinces)
    run: list[int] = []
    for i in [*order, None]:
        if (
            i is not None
            and run
            and g.entities[provinces[i]].country == g.entities[provinces[run[-1]]].country
            and _LIST_GAP.match(text[matches[run[-1]].end : matches[i].start])
        ):
            run.append(i)
            continue
        if len({provinces[j] for j in run}) >= 3:
            out.update(run)
        run = [i] if i is not None else []
    return out


def partner_provinces(text: str) -> Counter[str]:
    """Provinces named in a text, not in passing, with how often."""
    g = load_gazetteer()
    matches = g.find(text)
    provinces = {i: code for i, m in enumerate(matches) if (code := g.province_of(m)) and code.count("-") == 1}
    passing = _passing(text, matches, provinces)
    return Counter(code for i, code in provinces.items() if i not in passing)


def _sides(counts: Counter[str]) -> tuple[list[str], list[str]]:
    return sorted(c for c in counts if c.startswith("VN-")), sorted(c for c in counts if c.startswith("LA-"))


def find_partnerships(title: str, lead: str, body: list[str], published: date | None) -> list[Partnership]:
    """The pairs the article is about, each with the article's event, agreement, period and sectors."""
    vn, la = _sides(partner_provinces(title))
    if not vn or not la:
        vn2, la2 = _sides(partner_provinces(title) + partner_provinces(lead))
        vn, la = vn or vn2, la or la2
    if not vn or not la:
        counts = Counter()
        for text in [lead, *body]:
            counts.update(partner_provinces(text))
        vn3, la3 = _sides(Counter({c: n for c, n in counts.items() if n >= 2}))
        vn, la = vn or vn3, la or la3
    if not vn or not la:
        return []
    events, agreements, sector_words = _vocabulary()
    head = f"{title}\n{lead}"
    event_types = [kind for kind, cue in events if cue.search(head)]
    agreement = None
    for text in [lead, *body]:
        for sentence in re.split(r"(?<=[.;!?])\s+", text):
            if agreement is None and (signing := _SIGNING.search(sentence)):
                after = sentence[signing.start() :]
                found = [(m.start(), kind) for kind, p in agreements if (m := p.search(after))]
                agreement = min(found)[1] if found else None
    period = signed_period([lead, *body])
    whole = "\n".join([lead, *body]).lower()
    # A substring test first (fast), the word-boundary regex only to confirm ("điện" is not in "đại diện").
    sectors = [
        sector for sector, words, exact in sector_words if any(w in whole for w in words) and exact.search(whole)
    ]
    dates = event_dates(lead, published) if published else []
    start, end = dates[0] if dates else (None, None)
    first_type = event_types[0] if event_types else None
    years = period or (None, None)
    event_end = end if end != start else None
    return [
        Partnership(v, la_code, first_type, event_types, start, event_end, agreement, *years, sectors)
        for v in vn
        for la_code in la
    ]


class PartnershipsEnricher:
    """The `partnerships` table: the Vietnamese–Lao province pairs the article is about, with the event."""

    table = "partnerships"

    def rows(self, article: ArticleText) -> list[tuple]:
        return [p.row() for p in find_partnerships(article.title, article.lead, article.body, article.published)]
