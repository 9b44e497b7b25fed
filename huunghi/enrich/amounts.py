"""Amounts of money in Vietnamese text: `3 tỷ đồng`, `7,3 tỉ đồng`, `100 triệu đồng`, `293.800 EUR`.

Vietnamese numbers write a dot between thousands and a comma before decimals; scale words multiply.
Values are converted to đồng with the reference rate of the article's year (data/currencies.csv: annual
averages, rounded — good for comparing aid, not for accounting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from huunghi.enrich.vocabulary import alternation, data_rows
from huunghi.records import ArticleText

SCALES = {"nghìn tỷ": 1e12, "nghìn tỉ": 1e12, "tỷ": 1e9, "tỉ": 1e9, "triệu": 1e6, "nghìn": 1e3, "ngàn": 1e3}


@dataclass(frozen=True)
class Amount:
    value: float
    currency: str
    value_vnd: float | None
    surface: str
    start: int
    end: int


@cache
def _currencies() -> tuple[re.Pattern[str], dict[str, str], dict[str, dict[int, float]]]:
    codes, rates = {}, {}
    for row in data_rows("currencies.csv"):
        for alias in row["aliases"].split("|"):
            codes[alias] = row["code"]
        rates[row["code"]] = {int(k[4:]): float(v) for k, v in row.items() if k.startswith("vnd_") and v}
    pattern = re.compile(
        r"(?<![\w.,/])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?"
        rf"(?:\s*({alternation(SCALES)}))?\s*({alternation(codes)})(?!\w)"
    )
    return pattern, codes, rates


def parse_number(integer: str, decimals: str | None) -> float:
    """'293.800' → 293800; '7' + '3' (7,3) → 7.3."""
    return float(integer.replace(".", "") + ("." + decimals if decimals else ""))


def find_amounts(text: str, year: int | None) -> list[Amount]:
    pattern, codes, rates = _currencies()
    if not any(alias in text for alias in codes):  # most paragraphs name no currency: skip the regex
        return []
    out = []
    for m in pattern.finditer(text):
        value = parse_number(m.group(1), m.group(2)) * SCALES.get(m.group(3) or "", 1.0)
        if value <= 0:
            continue
        code = codes[m.group(4)]
        by_year = rates.get(code, {})
        rate = by_year.get(year) if year in by_year else by_year.get(max(by_year)) if by_year else None
        out.append(Amount(value, code, value * rate if rate else None, m.group(0), m.start(), m.end()))
    return out


class AmountsEnricher:
    """The `amounts` table: every amount of money in the lead and body, converted to đồng."""

    table = "amounts"

    def rows(self, article: ArticleText) -> list[tuple]:
        year = article.year
        return [
            (a.value, a.currency, a.value_vnd, a.surface, position, a.start)
            for position, _, text in article.paragraphs
            for a in find_amounts(text, year)
        ]
