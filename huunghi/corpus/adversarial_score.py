"""Scoring the parser on the adversarial corpus, page by page, and how well its confidence flags the errors.

The parser runs as the clean stage does (every page cleaned, knowledge learned from the whole corpus, the
doubtful pages cleaned again), without Prefect and the warehouse: this measures the parser, not the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from huunghi.corpus.adversarial import generate_adversarial
from huunghi.knowledge import NO_KNOWLEDGE
from huunghi.parsing.clean import clean_chunk, second_pass
from huunghi.parsing.confidence import REVIEW_BELOW
from huunghi.readers import read_files
from huunghi.text import title_key


@dataclass
class AdversarialScores:
    pages: int = 0
    body_tp: int = 0
    body_fp: int = 0
    body_fn: int = 0
    titles_right: int = 0
    kickers: int = 0
    kickers_right: int = 0
    stories: int = 0
    stories_found: int = 0
    flagged: int = 0
    wrong_lines: int = 0
    wrong_lines_flagged: int = 0
    pages_with_errors: int = 0
    pages_with_errors_flagged: int = 0
    listings: int = 0
    listings_set_aside: int = 0
    articles_lost: int = 0  # article pages the clean stage quarantined: every line of them is wrong
    by_rendering: dict[str, Counter] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return self.body_tp / max(1, self.body_tp + self.body_fp)

    @property
    def recall(self) -> float:
        return self.body_tp / max(1, self.body_tp + self.body_fn)


def score_adversarial(folder: Path, pages: int, seed: int = 7) -> AdversarialScores:
    truths = {t["file"]: t for t in generate_adversarial(folder, pages, seed)}
    raw = read_files(sorted(folder.glob("page_*.txt"))).pages
    cleaned = second_pass(raw, clean_chunk(raw, NO_KNOWLEDGE), NO_KNOWLEDGE, {}, clean_chunk)
    s = AdversarialScores()
    for entry in cleaned.quarantined:
        truth = truths[Path(entry.source_uri).name]
        if truth["listing"]:
            s.listings += 1
            s.listings_set_aside += entry.reason == "listing_page"
        else:
            s.articles_lost += 1
    for record in cleaned.articles:
        truth = truths[Path(record.source_uri).name]
        if truth["listing"]:
            s.listings += 1  # a listing read as an article: counted, not scored line by line
            continue
        s.pages += 1
        got, want = Counter(record.body), Counter(truth["body"])
        hit = sum((got & want).values())
        fp, fn = sum(got.values()) - hit, sum(want.values()) - hit
        wrong = fp + fn + (record.title != truth["title"]) + (record.lead != truth["lead"])
        s.body_tp, s.body_fp, s.body_fn = s.body_tp + hit, s.body_fp + fp, s.body_fn + fn
        s.titles_right += record.title == truth["title"]
        if truth["kicker"]:
            s.kickers += 1
            s.kickers_right += record.kicker == truth["kicker"]
        found = {title_key(st.title) for st in record.stories}
        s.stories += len(truth["stories"])
        s.stories_found += sum(title_key(t) in found for t in truth["stories"])
        flagged = record.parse_confidence < REVIEW_BELOW
        s.flagged += flagged
        s.wrong_lines += wrong
        s.wrong_lines_flagged += wrong if flagged else 0
        s.pages_with_errors += wrong > 0
        s.pages_with_errors_flagged += wrong > 0 and flagged
        per = s.by_rendering.setdefault(truth["rendering"], Counter())
        per.update(pages=1, tp=hit, fp=fp, fn=fn, wrong=wrong, flagged=flagged)
    return s


def report_adversarial(s: AdversarialScores) -> str:
    def ratio(a: int, b: int) -> str:
        return f"{a / b:.4f}" if b else "n/a"

    lines = [
        "Adversarial corpus — furniture drawn independently of the parser's reading (huunghi/corpus/adversarial.py);",
        "it measures how the parser copes with structures combined in ways the mirror corpus never writes.",
        f"pages                         {s.pages}",
        f"body lines precision          {s.precision:.4f}",
        f"body lines recall             {s.recall:.4f}",
    ]
    for rendering, c in sorted(s.by_rendering.items()):
        lines.append(
            f"  {rendering:7} rendering: precision {ratio(c['tp'], c['tp'] + c['fp'])} "
            f"recall {ratio(c['tp'], c['tp'] + c['fn'])} ({c['pages']} pages)"
        )
    lines += [
        f"titles right                  {ratio(s.titles_right, s.pages)}",
        f"listing pages set aside       {s.listings_set_aside}/{s.listings}",
        f"article pages lost            {s.articles_lost}",
        f"kickers kept apart            {s.kickers_right}/{s.kickers}",
        f"teaser/box stories found      {ratio(s.stories_found, s.stories)}  ({s.stories} stories)",
        f"pages flagged for review      {ratio(s.flagged, s.pages)}  (parse_confidence < {REVIEW_BELOW})",
        f"wrong lines on flagged pages  {ratio(s.wrong_lines_flagged, s.wrong_lines)}  ({s.wrong_lines} wrong lines)",
        f"pages with errors flagged     {ratio(s.pages_with_errors_flagged, s.pages_with_errors)}"
        f"  ({s.pages_with_errors} pages with an error)",
    ]
    return "\n".join(lines)
