"""The project's own corpus: pages generated in the section's text layout, with their ground truth.

Real pages stay outside the repository; this generator writes pages with the same structure
(breadcrumb, timestamp, title, lead, doubled inline teasers with and without summaries, images with alt
lines and captions, author, "Nguồn:", sidebar boxes whose stories repeat across pages, multimedia slugs,
video list, trailing list, footer) and records for every page what each line is. Page i depends only on
(seed, i), so corpora of different sizes share their first pages; it scales to 100,000 pages.
"""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources
from pathlib import Path

from huunghi.text import strip_media_tag

GENERATOR_VERSION = 2
BUNDLED_PAGES = 300
BUNDLED_SEED = 2022
PAGES_PER_FOLDER = 1000
DUPLICATE_EVERY = 40  # every 40th page repeats an earlier page's text under another name
STORY_POOL = 400
TRUTH_FILE = "truth.jsonl"
_FIRST_DAY = datetime(2019, 1, 1, tzinfo=timezone(timedelta(hours=7)))
_DAYS = (datetime(2026, 10, 31, tzinfo=timezone(timedelta(hours=7))) - _FIRST_DAY).days


@dataclass
class Page:
    """A generated page: its lines, the label of each line, and the article fields it must yield."""

    name: str
    lines: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    truth: dict = field(default_factory=dict)

    def add(self, line: str, label: str) -> None:
        self.lines.append(line)
        self.labels.append(label if line else "blank")

    def blank(self) -> None:
        self.add("", "blank")

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@cache
def _templates() -> dict:
    return json.loads(resources.files("huunghi").joinpath("data/corpus_templates.json").read_text("utf-8"))


@cache
def _provinces() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(code, spelling) pairs: Vietnamese official names; Lao spellings as met in Vietnamese text."""
    data = resources.files("huunghi").joinpath("data")
    vn = [
        (r["iso_code"], r["name"])
        for r in csv.DictReader(data.joinpath("provinces.csv").open(encoding="utf-8"))
        if r["country"] == "VN" and r["level"] == "province"
    ]
    la = [
        (r["iso_code"], r["alias"])
        for r in csv.DictReader(data.joinpath("province_aliases.csv").open(encoding="utf-8"))
        if r["iso_code"].startswith("LA-") and r["iso_code"] not in ("LA-VI", "LA-VT")
    ]
    return vn, la


def _ascii(text: str) -> str:
    """'Bà Rịa - Vũng Tàu' → 'ba ria vung tau' (how the site writes slugs)."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c if c.isalnum() else " " for c in text if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def _fill(template: str, rng: random.Random, ctx: dict) -> str:
    t = _templates()
    values = {
        **ctx,
        "sector": rng.choice(t["sectors"]),
        "event": rng.choice(t["events"]),
        "weather": rng.choice(t["weather"]),
        "amount": f"{rng.randint(1, 9)}{rng.choice(['', ',5'])} tỷ đồng",
        "n": rng.randint(2, 9),
    }
    return template.format(**values)


def _context(rng: random.Random) -> dict:
    vn, la = _provinces()
    (vn_code, vn_name), (la_code, la_name) = rng.choice(vn), rng.choice(la)
    day = _FIRST_DAY + timedelta(days=rng.randrange(_DAYS), hours=rng.randrange(6, 22), minutes=rng.randrange(60))
    y1 = day.year + rng.choice([0, 1])
    return {
        "vn": vn_name,
        "la": la_name,
        "vn_code": vn_code,
        "la_code": la_code,
        "when": day,
        "d": day.day,
        "d2": min(day.day + 1, 28),
        "m": day.month,
        "y": day.year,
        "y0": y1 - 3,
        "y1": y1,
        "y2": y1 + rng.choice([2, 3, 4]),
        "slug_vn": _ascii(vn_name),
        "slug_la": _ascii(la_name),
    }


@cache
def story_pool(seed: int) -> tuple[tuple[str, str | None], ...]:
    """Sidebar and teaser stories shared by all pages (so they repeat across pages), titles distinct."""
    rng = random.Random(f"stories:{seed}")
    t = _templates()
    pool: dict[str, tuple[str, str | None]] = {}
    while len(pool) < STORY_POOL:
        ctx = _context(rng)
        title = _fill(rng.choice(t["story_titles"]), rng, ctx)
        summary = _fill(rng.choice(t["story_summaries"]), rng, ctx) if rng.random() < 0.8 else None
        pool.setdefault(title.casefold(), (title, summary))
    return tuple(pool.values())


def _pick_stories(rng: random.Random, seed: int, k: int) -> list[tuple[str, str | None]]:
    """Popular stories come up far more often (a few sidebar stories are on almost every page)."""
    pool = story_pool(seed)
    picked: dict[str, tuple[str, str | None]] = {}
    while len(picked) < k:
        story = pool[min(int(rng.paretovariate(1.2)) - 1, len(pool) - 1)] if rng.random() < 0.5 else rng.choice(pool)
        picked.setdefault(story[0], story)
    return list(picked.values())


def generate_page(seed: int, index: int) -> Page:
    """Page `index` of the corpus of `seed`: the same page whatever the corpus size."""
    rng = random.Random(f"page:{seed}:{index}")
    t = _templates()
    ctx = _context(rng)
    page = Page(name=f"{index // PAGES_PER_FOLDER:03d}/page_{index:06d}.txt")
    stories: list[list] = []

    page.add("Trang chủ Hữu nghị Bốn phương kết bạn", "breadcrumb")
    page.add(f"{ctx['when']:%H:%M | %d/%m/%Y} GMT+7", "timestamp")
    follow = rng.random() < 0.5
    if follow:
        page.add("Theo dõi thoidai.com.vn trên", "navigation")
    page.blank()
    title = _fill(rng.choice(t["titles"]), rng, ctx)
    page.add(title, "title")
    page.blank()
    if not follow:
        page.add("aa", "widget")

    lead = _fill(rng.choice(t["leads"]), rng, ctx)
    page.add(lead, "lead")
    for story_title, summary in _pick_stories(rng, seed, rng.choice([0, 1, 2, 2])):
        page.add(f"{story_title} {story_title}", "teaser")
        with_summary = summary is not None and rng.random() < 0.5
        if with_summary:
            page.add(summary, "teaser_summary")
        stories.append(["inline", story_title, summary if with_summary else None])
    page.blank()

    body: list[str] = []
    captions: list[str] = []
    paragraphs = rng.randint(4, 9)
    image_at = set(rng.sample(range(1, paragraphs), k=min(paragraphs - 1, rng.choice([1, 1, 2]))))
    for number in range(paragraphs):
        if number in image_at:
            caption = f"{_fill(rng.choice(t['captions']), rng, ctx)} {_fill(rng.choice(t['credits']), rng, ctx)}"
            page.add(rng.choice([title, caption.rsplit(" (", 1)[0], title]), "alt")
            page.add(caption, "caption")
            page.blank()
            captions.append(caption)
        pool = t["sentences"] + (t["quotes"] if number > 1 else [])
        paragraph = " ".join(_fill(s, rng, ctx) for s in rng.sample(pool, k=rng.randint(2, 3)))
        while paragraph in body:  # real articles do not repeat a paragraph
            paragraph = " ".join(_fill(s, rng, ctx) for s in rng.sample(pool, k=3))
        page.add(paragraph, "body")
        page.blank()
        body.append(paragraph)
    page.lines.pop()
    page.labels.pop()
    page.blank()

    for story_title, _ in _pick_stories(rng, seed, rng.choice([0, 1, 2])):
        page.add(story_title + rng.choice([" ", ""]) + story_title, "teaser")
        stories.append(["inline", story_title, None])
    author = rng.choice(t["authors"])
    page.add(author, "author")
    page.add("Nguồn:", "source")
    page.blank()

    def box(header: str | None, block: str, k: int) -> None:
        if header:
            page.add(header, "box_header")
            page.blank()
        items = _pick_stories(rng, seed, k)
        for n, (story_title, summary) in enumerate(items):
            page.add(story_title, "story")
            page.blank()
            page.add(story_title, "story")
            page.blank()
            if summary:
                page.add(summary, "story_summary")
            elif n + 1 < len(items):  # a story without summary: the next one starts after the blank
                pass
            stories.append([block, story_title, summary])
        if items and page.lines[-1]:
            page.blank()

    box("Tin bài liên quan", "related", rng.choice([0, 2, 3]))
    if rng.random() < 0.5:
        box("Các tin bài khác", "other", rng.randint(2, 4))
    box("Đọc nhiều", "most_read", rng.randint(3, 6))
    if rng.random() < 0.5:
        page.add("Multimedia", "box_header")
        page.blank()
        page.add("Xem trên", "navigation")
    for slug in dict.fromkeys(_fill(rng.choice(t["slugs"]), rng, _context(rng)) for _ in range(rng.randint(2, 5))):
        page.add(slug, "slug")
        stories.append(["multimedia", slug, None])
    page.add("Xin chờ trong giây lát...", "navigation")
    for video in dict.fromkeys(_fill(rng.choice(t["videos"]), rng, ctx) for _ in range(rng.randint(3, 8))):
        page.add(video, "video")
        stories.append(["video", strip_media_tag(video), None])
    box(None, "latest", rng.randint(3, 8))
    if page.lines[-1] == "":
        page.lines.pop()
        page.labels.pop()
    page.add("Phiên bản di động", "footer")

    page.truth = {
        "file": page.name,
        "title": title,
        "published_at": ctx["when"].isoformat(),
        "section": "Hữu nghị › Bốn phương kết bạn",
        "author": author,
        "lead": lead,
        "body": body,
        "captions": captions,
        "stories": stories,
        "provinces": sorted({ctx["vn_code"], ctx["la_code"]}),
        "labels": page.labels,
    }
    return page


def generate(out_dir: Path, pages: int, seed: int = BUNDLED_SEED) -> Path:
    """Write `pages` pages and truth.jsonl under out_dir; every DUPLICATE_EVERY-th page is a copy."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / TRUTH_FILE).open("w", encoding="utf-8") as truth:
        for index in range(pages):
            if index % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
                original = generate_page(seed, index - DUPLICATE_EVERY // 2)
                page = Page(
                    name=f"{index // PAGES_PER_FOLDER:03d}/page_{index:06d}.txt",
                    lines=original.lines,
                    labels=original.labels,
                    truth={**original.truth, "file": None},
                )
                page.truth["file"] = page.name
                page.truth["same_as"] = original.name
            else:
                page = generate_page(seed, index)
            path = out_dir / page.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page.text, encoding="utf-8")
            truth.write(json.dumps(page.truth, ensure_ascii=False) + "\n")
    return out_dir


def bundled_corpus() -> Path:
    """The default input: the bundled corpus, generated once into var/corpus (git-ignored)."""
    root = Path(__file__).resolve().parents[2] / "var" / "corpus" / f"bundled-v{GENERATOR_VERSION}"
    stamp = root / ".complete"
    if not stamp.exists():
        generate(root, BUNDLED_PAGES, BUNDLED_SEED)
        stamp.write_text(f"{BUNDLED_PAGES} pages, seed {BUNDLED_SEED}\n")
    return root


def read_truth(corpus: Path) -> list[dict]:
    with (corpus / TRUTH_FILE).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]
