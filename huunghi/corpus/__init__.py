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

from huunghi.text import ascii_fold, strip_media_tag

GENERATOR_VERSION = 7
BUNDLED_PAGES = 300
BUNDLED_SEED = 2022
PAGES_PER_FOLDER = 1000
DUPLICATE_EVERY = 40  # every 40th page repeats an earlier page's text under another name
STORY_POOL = 400
TYPO_RATE = 0.03  # share of story sightings written slightly differently
MIRROR_EVERY = 50  # every 50th page republishes an earlier article with other furniture
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
    encoding: str = "nfc"  # some saved pages come in decomposed Unicode
    newline: str = "\n"
    # How each teaser line is made, for the HTML form: line index → (kind, [(shown, pool title), ...], sep).
    markup: dict[int, tuple[str, list[tuple[str, str]], str]] = field(default_factory=dict)
    index: int = 0

    def mark(self, kind: str, items: list[tuple[str, str]], sep: str = " ") -> None:
        self.markup[len(self.lines) - 1] = (kind, items, sep)

    def add(self, line: str, label: str) -> None:
        self.lines.append(line)
        self.labels.append(label if line else "blank")

    def blank(self) -> None:
        self.add("", "blank")

    @property
    def text(self) -> str:
        text = self.newline.join(self.lines) + self.newline
        return unicodedata.normalize("NFD", text) if self.encoding == "nfd" else text


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
        "slug_vn": ascii_fold(vn_name),
        "vn_leader": _official(vn_code, "secretary", day.year),
        "vn_chair": _official(vn_code, "chair", day.year),
        "la_leader": _official(la_code, "governor", day.year),
        "la_deputy": _official(la_code, "deputy", day.year),
        "slug_la": ascii_fold(_lao_name(la_code)),
    }


def _official(code: str, post: str, year: int) -> str:
    """The holder of a post in a province for a five-year term: the same person across that term's pages."""
    rng = random.Random(f"official:{code}:{post}:{year // 5}")
    if code.startswith("LA-"):
        names = _templates()["la_names"]
        return f"{rng.choice(names['givens'])} {rng.choice(names['families'])}"
    names = _templates()["vn_names"]
    return f"{rng.choice(names['surnames'])} {rng.choice(names['middles'])} {rng.choice(names['givens'])}"


@cache
def _lao_names() -> dict[str, str]:
    data = resources.files("huunghi").joinpath("data/provinces.csv").read_text("utf-8")
    return {r["iso_code"]: r["name"] for r in csv.DictReader(data.splitlines()) if r["country"] == "LA"}


def _lao_name(code: str) -> str:
    """One spelling per Lao province for the site's own lists (videos, multimedia), as a site would."""
    return _lao_names()[code]


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


def _typo(title: str, rng: random.Random) -> str:
    """The same story written slightly differently: a dropped letter, other case, spacing or quotes."""
    words = title.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    kind = rng.randrange(4)
    if kind == 0 and long_words:
        i = rng.choice(long_words)
        j = rng.randrange(1, len(words[i]) - 1)
        words[i] = words[i][:j] + words[i][j + 1 :]
        return " ".join(words)
    if kind == 1:
        return title[0].lower() + title[1:] if title[0].isupper() else title.upper()
    if kind == 2:
        return title.replace(" ", "  ", 1) + " "
    return f"“{title}”"


def _pick_stories(rng: random.Random, seed: int, k: int) -> list[tuple[str, str | None, str]]:
    """(shown title, summary, pool title). Popular stories come up far more often, a few are misspelt."""
    pool = story_pool(seed)
    picked: dict[str, tuple[str, str | None, str]] = {}
    while len(picked) < k:
        title, summary = (
            pool[min(int(rng.paretovariate(1.2)) - 1, len(pool) - 1)] if rng.random() < 0.5 else rng.choice(pool)
        )
        shown = _typo(title, rng).strip() if rng.random() < TYPO_RATE else title
        shown = " ".join(shown.split()) if shown != title else shown
        picked.setdefault(title, (shown, summary, title))
    return list(picked.values())


def _style(year: int) -> str:
    """The layout of the era: old teaser boxes before 2021, the samples' layout to 2023, then plain teasers."""
    return "2019" if year <= 2020 else "2022" if year <= 2023 else "2025"


def _timestamp(rng: random.Random, when: datetime) -> tuple[str | None, bool]:
    """The timestamp line and whether it can be read (a few pages lose it or carry a broken one)."""
    roll = rng.random()
    if roll < 0.02:
        return None, False
    if roll < 0.03:
        return f"Cập nhật: {when:%d}/{when.month + 12}/{when:%Y}", False
    return f"{when:%H:%M | %d/%m/%Y} GMT+7", True


def generate_page(seed: int, index: int, *, furniture_seed: int | None = None) -> Page:
    """Page `index` of the corpus of `seed`: the same page whatever the corpus size.

    With `furniture_seed`, the same article is rendered with other furniture (a mirror or mobile copy).
    """
    rng = random.Random(f"page:{seed}:{index}")
    # Article and furniture draw from separate generators, so a mirror keeps the article and changes the rest.
    frng = random.Random(f"furniture:{seed}:{index if furniture_seed is None else furniture_seed}")
    t = _templates()
    ctx = _context(rng)
    style = _style(ctx["when"].year)
    page = Page(name=f"{index // PAGES_PER_FOLDER:03d}/page_{index:06d}.txt", index=index)
    stories: list[list] = []
    pool_titles: list[str] = []

    def story(block: str, shown: str, summary: str | None, pool_title: str) -> None:
        stories.append([block, shown, summary])
        pool_titles.append(pool_title)

    page.add("Trang chủ Hữu nghị Bốn phương kết bạn", "breadcrumb")
    stamp, readable = _timestamp(frng, ctx["when"])
    if stamp:
        page.add(stamp, "timestamp" if readable else "furniture")
    follow = style != "2019" and frng.random() < 0.5
    if follow:
        page.add("Theo dõi thoidai.com.vn trên", "navigation")
    page.blank()
    title = _fill(rng.choice(t["titles"]), rng, ctx)
    page.add(title, "title")
    page.blank()
    if style != "2019" and not follow and frng.random() < 0.9:
        page.add("aa", "widget")

    lead = _fill(rng.choice(t["leads"]), rng, ctx)
    page.add(lead, "lead")
    late_teasers: list[tuple[str, str | None, str]] = []
    if style == "2022":  # doubled teasers, some with a summary line
        for shown, summary, pool_title in _pick_stories(frng, seed, frng.choice([0, 1, 2, 2])):
            page.add(f"{shown} {shown}", "teaser")
            page.mark("doubled", [(shown, pool_title)])
            with_summary = summary is not None and frng.random() < 0.5
            if with_summary:
                page.add(summary, "teaser_summary")
            story("inline", shown, summary if with_summary else None, pool_title)
    elif style == "2025":  # plain title lines under the lead, sometimes joined on one line
        teasers = _pick_stories(frng, seed, frng.choice([1, 2, 2, 3]))
        if len(teasers) >= 2 and frng.random() < 0.4:
            page.add(" ".join(s for s, _, _ in teasers[:2]), "teaser")
            page.mark("joined", [(shown, pool_title) for shown, _, pool_title in teasers[:2]])
            for shown, _, pool_title in teasers[:2]:
                story("inline", shown, None, pool_title)
            teasers = teasers[2:]
        for shown, _, pool_title in teasers:
            page.add(shown, "teaser")
            page.mark("plain", [(shown, pool_title)])
            story("inline", shown, None, pool_title)
        late_teasers = [s for s in _pick_stories(frng, seed, 3) if frng.random() < 0.3]
    page.blank()

    body: list[str] = []
    captions: list[str] = []
    paragraphs = rng.randint(4, 9)
    image_at = set(rng.sample(range(1, paragraphs), k=min(paragraphs - 1, rng.choice([1, 1, 2]))))
    box_at = rng.randrange(2, paragraphs) if style == "2019" else -1
    for number in range(paragraphs):
        if number in image_at:
            text = _fill(rng.choice(t["captions"]), rng, ctx)
            if style == "2019":
                caption = f"{text} - Ảnh: {_fill('{vn} Online', rng, ctx)}"
                alt = ascii_fold(text) if rng.random() < 0.7 else None
            else:
                caption = f"{text} {_fill(rng.choice(t['credits']), rng, ctx)}"
                alt = rng.choice([title, text, caption.replace("Ảnh: ", "Ảnh: Báo "), None])
            if alt and alt != caption:
                page.add(alt, "alt")
            page.add(caption, "caption")
            page.blank()
            captions.append(caption)
        if number == box_at:  # the old teaser box: slug and title on one line, then a cut summary
            for shown, summary, pool_title in _pick_stories(frng, seed, frng.choice([1, 2])):
                cut = (summary or "Hai bên đã trao đổi về kết quả hợp tác trong thời gian qua")[:90].rstrip() + "..."
                page.add(f"{ascii_fold(shown)} {shown}", "teaser")
                page.mark("slugbox", [(ascii_fold(shown), pool_title), (shown, pool_title)])
                page.blank()
                page.add(cut, "teaser_summary")
                page.blank()
                story("inline", shown, cut, pool_title)
        pool = t["sentences"] + (t["quotes"] if number > 1 else [])
        paragraph = " ".join(_fill(s, rng, ctx) for s in rng.sample(pool, k=rng.randint(2, 3)))
        while paragraph in body:  # real articles do not repeat a paragraph
            paragraph = " ".join(_fill(s, rng, ctx) for s in rng.sample(pool, k=3))
        if furniture_seed is not None and number == paragraphs - 1 and paragraph.count(". ") >= 1:
            paragraph = paragraph.rsplit(". ", 1)[0] + "."  # the mirror trims the last sentence
        page.add(paragraph, "body")
        page.blank()
        body.append(paragraph)
    page.lines.pop()
    page.labels.pop()
    page.blank()

    end_teasers = [] if style == "2019" else _pick_stories(frng, seed, frng.choice([0, 1, 2]))
    for shown, _, pool_title in late_teasers + end_teasers:
        sep = frng.choice([" ", ""])
        page.add(shown + sep + shown, "teaser")
        page.mark("doubled", [(shown, pool_title)], sep)
        story("inline", shown, None, pool_title)
    author = rng.choice(t["authors"])
    page.add(author, "author")
    page.add("Nguồn:", "source")
    page.blank()

    def box(header: str | None, block: str, k: int) -> None:
        if header:
            page.add(header, "box_header")
            page.blank()
        items = _pick_stories(frng, seed, k)
        for shown, summary, pool_title in items:
            page.add(shown, "story")
            page.mark("story", [(shown, pool_title)])
            page.blank()
            page.add(shown, "story")
            page.blank()
            if summary:
                page.add(summary, "story_summary")
            story(block, shown, summary, pool_title)
        if items and page.lines[-1]:
            page.blank()

    if style != "2019" or frng.random() < 0.5:  # old pages often have no related box at all
        box("Tin bài liên quan", "related", frng.choice([0, 2, 3]))
    if frng.random() < 0.5:
        box("Các tin bài khác", "other", frng.randint(2, 4))
    box("Đọc nhiều", "most_read", frng.randint(3, 6))
    if frng.random() < 0.5:
        page.add("Multimedia", "box_header")
        page.blank()
        page.add("Xem trên", "navigation")
    for slug in dict.fromkeys(_fill(frng.choice(t["slugs"]), frng, _context(frng)) for _ in range(frng.randint(2, 5))):
        page.add(slug, "slug")
        story("multimedia", slug, None, slug)
    page.add("Xin chờ trong giây lát...", "navigation")
    listed = {**ctx, "la": _lao_name(ctx["la_code"])}
    for video in dict.fromkeys(_fill(frng.choice(t["videos"]), frng, listed) for _ in range(frng.randint(3, 8))):
        page.add(video, "video")
        story("video", strip_media_tag(video), None, strip_media_tag(video))
    box(None, "latest", frng.randint(3, 8))
    if page.lines[-1] == "":
        page.lines.pop()
        page.labels.pop()
    page.add("Phiên bản di động", "footer")

    page.encoding = "nfd" if frng.random() < 0.05 else "nfc"
    page.newline = "\r\n" if frng.random() < 0.05 else "\n"
    page.truth = {
        "file": page.name,
        "style": style,
        "title": title,
        "published_at": ctx["when"].isoformat() if readable else None,
        "section": "Hữu nghị › Bốn phương kết bạn",
        "author": author,
        "lead": lead,
        "body": body,
        "captions": captions,
        "stories": stories,
        "story_pool_titles": pool_titles,
        "provinces": sorted({ctx["vn_code"], ctx["la_code"]}),
        "labels": page.labels,
    }
    return page


FORMATS = ("text", "html", "html.gz")
_SUFFIX = {"text": ".txt", "html": ".html", "html.gz": ".html.gz"}


def generate(
    out_dir: Path, pages: int, seed: int = BUNDLED_SEED, formats: tuple[str, ...] = ("text",), base: str | None = None
) -> Path:
    """Write `pages` pages and truth.jsonl under out_dir, in each of `formats` (text, html, html.gz).

    Every DUPLICATE_EVERY-th page is a byte copy of an earlier page (truth: same_as); every MIRROR_EVERY-th
    republishes an earlier article with other furniture (truth: near_dup_of). The truth's `file` is the
    first format's file; `files` names every form; `url` is the page's address on the site (`base`).
    """
    from huunghi.corpus import html

    if unknown := set(formats) - set(FORMATS):
        raise ValueError(f"unknown corpus format(s): {sorted(unknown)}; choose from {FORMATS}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / TRUTH_FILE).open("w", encoding="utf-8") as truth:
        for index in range(pages):
            stem = f"{index // PAGES_PER_FOLDER:03d}/page_{index:06d}"
            name = stem + _SUFFIX[formats[0]]
            if index % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
                page = generate_page(seed, index - DUPLICATE_EVERY // 2)
                page.truth["same_as"] = page.name.removesuffix(".txt") + _SUFFIX[formats[0]]
            elif index % MIRROR_EVERY == MIRROR_EVERY // 2 - 1 and index >= MIRROR_EVERY // 2:
                page = generate_page(seed, index - MIRROR_EVERY // 5, furniture_seed=index)
                page.truth["near_dup_of"] = page.name.removesuffix(".txt") + _SUFFIX[formats[0]]
            else:
                page = generate_page(seed, index)
            page.name = page.truth["file"] = name
            page.index = index  # its own address on the site, even when it repeats another page
            page.truth["files"] = {fmt: stem + _SUFFIX[fmt] for fmt in formats}
            page.truth["url"] = (base or html.SITE) + html.page_path(page)
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            for fmt in formats:
                (out_dir / page.truth["files"][fmt]).write_bytes(render(page, fmt, seed, base))
            truth.write(json.dumps(page.truth, ensure_ascii=False) + "\n")
    return out_dir


def render(page: Page, fmt: str, seed: int, base: str | None = None) -> bytes:
    """The bytes of a page in one of FORMATS."""
    import gzip

    from huunghi.corpus import html

    if fmt == "text":
        return page.text.encode("utf-8")
    data = html.encode(html.to_html(page, base or html.SITE), html.encoding_of(seed, page.index))
    return gzip.compress(data, mtime=0) if fmt == "html.gz" else data


def bundled_corpus() -> Path:
    """The default input: the bundled corpus, generated once into the cache folder (huunghi.settings)."""
    from huunghi.settings import cache_dir

    root = cache_dir() / "corpus" / f"bundled-v{GENERATOR_VERSION}"
    stamp = root / ".complete"
    if not stamp.exists():
        generate(root, BUNDLED_PAGES, BUNDLED_SEED)
        stamp.write_text(f"{BUNDLED_PAGES} pages, seed {BUNDLED_SEED}\n")
    return root


def read_truth(corpus: Path) -> list[dict]:
    with (corpus / TRUTH_FILE).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]
