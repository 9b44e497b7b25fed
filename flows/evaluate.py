"""`huunghi eval`: run the pipeline on a generated corpus of mixed layouts and score it against the truth.

Prints precision and recall of body lines, story-title recall, stories split in two (duplicate stories)
or wrongly merged, and how many repeated articles were marked. Lines and stories are scored on the pages
that stand as articles (a page marked as a copy is scored by whether it was marked). The warehouse is a
fresh temporary one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from huunghi.corpus import GENERATOR_VERSION, generate, read_truth
from huunghi.settings import DEFAULT_BATCH_SIZE, cache_dir
from huunghi.signatures import article_id
from huunghi.warehouse import store


@dataclass
class Scores:
    pages: int
    body_precision: float
    body_recall: float
    body_by_style: dict[str, tuple[float, float]]
    story_recall: float
    stories_expected: int
    duplicate_stories: int
    merged_stories: int
    exact_duplicates: tuple[int, int]  # (marked, expected)
    near_duplicates: tuple[int, int]
    wrongly_marked: int  # articles marked as copies that are not
    baseline: tuple[float, float] | None = None  # trafilatura alone on HTML pages: body (precision, recall)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def score(corpus: Path, root: Path) -> Scores:
    truth = read_truth(corpus)
    con = store.connect(root, read_only=True)
    try:
        body: dict[str, list[str]] = defaultdict(list)
        rows = con.execute("SELECT article_id, text FROM paragraphs WHERE kind = 'body' ORDER BY position").fetchall()
        for aid, text in rows:
            body[aid].append(text)
        duplicate_of = dict(con.execute("SELECT article_id, duplicate_of FROM articles").fetchall())
        sightings = con.execute(
            "SELECT a.article_id, a.position, s.story_id FROM story_appearances a JOIN stories s USING (story_id)"
        ).fetchall()
    finally:
        con.close()
    story_at = {(aid, pos): sid for aid, pos, sid in sightings}

    ids = {page["file"]: article_id((corpus / page["file"]).resolve().as_uri()) for page in truth}
    tp = fp = fn = 0
    by_style: dict[str, Counter] = defaultdict(Counter)
    pool_to_stories: dict[str, set[str]] = defaultdict(set)
    story_to_pool: dict[str, set[str]] = defaultdict(set)
    expected_pool: set[str] = set()
    exact = [0, 0]
    near = [0, 0]
    twins = {
        frozenset((ids[p["file"]], ids[p.get("same_as") or p["near_dup_of"]]))
        for p in truth
        if "same_as" in p or "near_dup_of" in p
    }
    wrong = sum(1 for a, b in duplicate_of.items() if b and frozenset((a, b)) not in twins)
    for page in truth:
        aid = ids[page["file"]]
        original = page.get("same_as") or page.get("near_dup_of")
        if original:
            counter = exact if "same_as" in page else near
            counter[1] += 1
            a, b = aid, ids[original]
            counter[0] += duplicate_of.get(a) == b or duplicate_of.get(b) == a
            continue
        if duplicate_of.get(aid):  # its twin (which may carry other furniture) is the one scored
            continue
        got, want = Counter(body.get(aid, [])), Counter(page["body"])
        hit = sum((got & want).values())
        tp, fp, fn = tp + hit, fp + sum(got.values()) - hit, fn + sum(want.values()) - hit
        by_style[page["style"]].update(tp=hit, fp=sum(got.values()) - hit, fn=sum(want.values()) - hit)
        for position, pool_title in enumerate(page["story_pool_titles"]):
            expected_pool.add(pool_title)
            sid = story_at.get((aid, position))
            if sid is not None:
                pool_to_stories[pool_title].add(sid)
                story_to_pool[sid].add(pool_title)
    return Scores(
        pages=len(truth),
        body_precision=_ratio(tp, tp + fp),
        body_recall=_ratio(tp, tp + fn),
        body_by_style={
            style: (_ratio(c["tp"], c["tp"] + c["fp"]), _ratio(c["tp"], c["tp"] + c["fn"]))
            for style, c in sorted(by_style.items())
        },
        story_recall=_ratio(len(pool_to_stories), len(expected_pool)),
        stories_expected=len(expected_pool),
        duplicate_stories=sum(1 for sids in pool_to_stories.values() if len(sids) > 1),
        merged_stories=sum(1 for pools in story_to_pool.values() if len(pools) > 1),
        exact_duplicates=(exact[0], exact[1]),
        near_duplicates=(near[0], near[1]),
        wrongly_marked=wrong,
    )


def trafilatura_alone(corpus: Path) -> tuple[float, float]:
    """Body precision and recall of bare trafilatura.extract on the corpus's HTML pages (title and lead
    lines not counted against it), scored like huunghi's on the pages that are not copies."""
    import trafilatura

    from huunghi.readers import read_files

    tp = fp = fn = 0
    for page in read_truth(corpus):
        if "same_as" in page or "near_dup_of" in page:
            continue
        raw = read_files([corpus / page["file"]]).pages[0]
        text = trafilatura.extract(raw.text, include_comments=False) or ""
        got = Counter(line for line in text.split("\n") if line.strip() and line not in (page["title"], page["lead"]))
        want = Counter(page["body"])
        hit = sum((got & want).values())
        tp, fp, fn = tp + hit, fp + sum(got.values()) - hit, fn + sum(want.values()) - hit
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn)


def evaluate(pages: int, seed: int, batch_size: int = DEFAULT_BATCH_SIZE, fmt: str = "text") -> Scores:
    from huunghi.flows.pipeline import pipeline

    corpus = cache_dir() / "eval" / f"corpus-v{GENERATOR_VERSION}-{pages}-{seed}-{fmt}"
    if not (corpus / ".complete").exists():
        generate(corpus, pages, seed, formats=(fmt,))
        (corpus / ".complete").write_text("ok\n")
    root = Path(tempfile.mkdtemp(prefix="huunghi-eval-"))
    try:
        pipeline(sources=[str(corpus)], warehouse=str(root), batch_size=batch_size)
        scores = score(corpus, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if fmt != "text":
        scores.baseline = trafilatura_alone(corpus)
    return scores


def report(s: Scores) -> str:
    lines = [
        "Mirror corpus — pages generated the way the parser reads the layout (huunghi/corpus): it measures the",
        "whole run (clean, dedup, load) on structures the parser already knows; 1.0 here proves agreement only.",
        f"pages                         {s.pages}",
        f"body lines precision          {s.body_precision:.4f}",
        f"body lines recall             {s.body_recall:.4f}",
    ]
    lines += [f"  layout {style}: precision {p:.4f} recall {r:.4f}" for style, (p, r) in s.body_by_style.items()]
    lines += [
        f"story-title recall            {s.story_recall:.4f}  ({s.stories_expected} stories)",
        f"duplicate stories (split)     {s.duplicate_stories}",
        f"stories wrongly merged        {s.merged_stories}",
        f"exact duplicate articles      {s.exact_duplicates[0]}/{s.exact_duplicates[1]} marked",
        f"near-duplicate articles       {s.near_duplicates[0]}/{s.near_duplicates[1]} marked",
        f"articles wrongly marked copy  {s.wrongly_marked}",
    ]
    if s.baseline:
        lines.append(f"trafilatura alone, body lines: precision {s.baseline[0]:.4f} recall {s.baseline[1]:.4f}")
    return "\n".join(lines)


def evaluate_adversarial(pages: int, seed: int) -> str:
    """The parser on the adversarial corpus (huunghi/corpus/adversarial.py), its confidence against its errors."""
    from huunghi.corpus.adversarial_score import report_adversarial, score_adversarial

    folder = Path(tempfile.mkdtemp(prefix="huunghi-adversarial-"))
    try:
        return report_adversarial(score_adversarial(folder, pages, seed))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
