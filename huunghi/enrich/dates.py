"""Dates and periods in the text, resolved with the article's date.

`Ngày 27/12`, `sáng 19/9`, `31/3-03/4`, `10-12/10/2025`: a day/month without a year takes the article's
year, except around the new year — an event more than a month after publication is last year's (a
"27/12" in an article of 3 January), one more than half a year before it is next year's. Periods
`giai đoạn 2023 - 2025` are told apart by what the sentence does with them: signed (`ký kết … giai đoạn
2023 - 2025`) or reviewed (`đánh giá kết quả thực hiện … giai đoạn 2020 - 2022`).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

_CUE = r"(?:[Nn]gày|[Ss]áng|[Cc]hiều|[Tt]ối|[Tt]rưa|[Đđ]êm|[Hh]ôm)"
_DATE = re.compile(
    rf"{_CUE}\s+(?:ngày\s+)?(\d{{1,2}})(?:/(\d{{1,2}}))?(?:/(\d{{4}}))?"
    r"(?:\s*[-–]\s*(\d{1,2})/(\d{1,2})(?:/(\d{4}))?)?(?![\d/])"
)
# A period: "giai đoạn 2023 - 2025", "nhiệm kỳ 2020–2025", "năm 2021-2025" (a range of years, not one year).
_PERIOD = re.compile(r"(?:giai đoạn|nhiệm kỳ|năm)\s+(\d{4})\s*[-–]\s*(\d{4})", re.IGNORECASE)
# What opens a partnership's period: signing it, adopting it, or launching the programme it names.
_SIGNED = re.compile(r"(?:ký kết|ký|lễ ký|thông qua|khởi động|phát động)(?!\w)", re.IGNORECASE)
_REVIEWED = re.compile(r"(?:đánh giá|tổng kết|sơ kết|thực hiện|triển khai|kết quả)(?!\w)", re.IGNORECASE)
_LOOKBACK = 160  # characters before a period in which its verb is looked for


def resolve(day: int, month: int, year: int | None, published: date) -> date | None:
    try:
        if year:
            return date(year, month, day)
        candidate = date(published.year, month, day)
        if candidate > published + timedelta(days=31):
            candidate = date(published.year - 1, month, day)
        elif candidate < published - timedelta(days=183):
            candidate = date(published.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def event_dates(text: str, published: date) -> list[tuple[date, date]]:
    """(start, end) of every cued date or range in the text, in order ('31/3-03/4', '10-12/10/2025')."""
    out = []
    for m in _DATE.finditer(text):
        d1, m1, y1, d2, m2, y2 = m.groups()
        if m1 is None and m2 is None:
            continue  # "ngày 27" alone is not a date
        if d2 is None:
            start = resolve(int(d1), int(m1), int(y1) if y1 else None, published)
            if start:
                out.append((start, start))
            continue
        end = resolve(int(d2), int(m2), int(y2 or y1 or 0) or None, published)
        if end is None:
            continue
        start_month = int(m1 or m2)
        start = resolve(int(d1), start_month, int(y1) if y1 else end.year, published)
        if start and start > end:  # '28/12-02/1': the start is in the year before
            start = resolve(int(d1), start_month, end.year - 1, published)
        if start:
            out.append((start, end))
    return out


def periods(text: str) -> list[tuple[int, int, str]]:
    """(start year, end year, 'signed' | 'reviewed' | 'other') for every period (`giai đoạn`, `nhiệm kỳ`,
    `năm` + a range of years); the kind from the last verb before it in its sentence."""
    out = []
    for m in _PERIOD.finditer(text):
        if not 1 <= int(m.group(2)) - int(m.group(1)) <= 20:
            continue  # "năm 2022 - 2022", a date range written oddly: not a period
        sentence_start = max(text.rfind(". ", 0, m.start()) + 1, m.start() - _LOOKBACK, 0)
        before = text[sentence_start : m.start()]
        signed = [s.end() for s in _SIGNED.finditer(before)]
        reviewed = [r.end() for r in _REVIEWED.finditer(before)]
        last_signed, last_reviewed = max(signed, default=-1), max(reviewed, default=-1)
        if last_signed == last_reviewed == -1:
            kind = "other"
        else:
            kind = "signed" if last_signed > last_reviewed else "reviewed"
        out.append((int(m.group(1)), int(m.group(2)), kind))
    return out


def signed_period(texts: list[str]) -> tuple[int, int] | None:
    """The period the article's agreement was signed for: the most often named signed one."""
    found = Counter((a, b) for text in texts for a, b, kind in periods(text) if kind == "signed")
    return min(found, key=lambda p: (-found[p], p)) if found else None
