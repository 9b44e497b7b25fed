"""An adversarial corpus: the structures seen on real pages of the site, composed independently of each other.

The mirror corpus (huunghi.corpus) writes pages the way the parser reads them, so it measures only that the
two agree. Here every piece of furniture is drawn on its own — whatever the article, the rendering or the
other pieces: any number of teasers (doubled, plain, 1–4 titles joined on one line, or an old box whose
slug is this page's own image slug, with or without a summary cut by "…"), kickers, images with or without
an alt line equal to the caption, captions with or without a credit, empty reader-mode slots, boxes in any
order or missing, a byline with or without "Nguồn:", the save-as-text and the reader-mode renderings. The
structures of the later reading of real pages come the same way: related titles alone on their lines (2024–),
an image under the lead whose alt is the caption again or the page's HTML title ("T | Section | Site"),
"(Nguồn: …)" credits, subheadings inside the body, leftover markup and other sections' breadcrumbs above the
header, the agency's initials before the lead, reader-mode related summaries (`| … |`, `![]() … |`, cut
`… |`), captions opened by a pipe, the e-magazine rendering (a rendering label, title and lead shown twice),
and listing pages (summaries only). The truth names every article line, so wrong lines can be counted per page.
"""

from __future__ import annotations

import random
from pathlib import Path

from huunghi.corpus import _context, _fill, _pick_stories, _templates
from huunghi.text import ascii_fold

RENDERINGS = ("save", "reader", "emagazine")
SECTIONS = (  # breadcrumbs of real pages, 2016–2025
    "Hữu nghị Bốn phương kết bạn",
    "Hữu nghị Thân gửi Việt Nam",
    "Hữu nghị Tấm lòng tương trợ",
    "Việt Nam hôm nay Hà Nội ngày nay",
    "Chính trị - Xã hội Chuyện tuần này",
)
SOURCE_CREDITS = ("(Nguồn: TTXVN)", "(Nguồn: Báo {vn})", "(Nguồn:{vn}.gov.vn)")
LISTING_RATE = 0.02
KICKERS = ("Nhìn lại một năm hợp tác:", "Câu chuyện biên giới:", "Ghi chép:")
BOXES = (("Tin bài liên quan", "related"), ("Các tin bài khác", "other"), ("Đọc nhiều", "most_read"))


def _teaser_lines(rng: random.Random, seed: int, page_slug: str) -> tuple[list[str], list[str]]:
    """Lines of one inline teaser group, and the story titles it shows."""
    picked = _pick_stories(rng, seed, rng.randint(1, 4))
    titles = [shown for shown, _, _ in picked]
    form = rng.choice(["doubled", "joined", "slugbox", "summary", "alone"])
    if form == "doubled":
        return [f"{t} {t}" for t in titles], titles
    if form == "alone":  # the 2024– layout: each related title alone on its line
        return list(titles), titles
    if form == "joined":
        return [" ".join(titles)], titles
    if form == "slugbox":  # the page's own image slug, not the teaser's, then its title; maybe a cut summary
        lines = [f"{page_slug} {titles[0]}"]
        if rng.random() < 0.6:
            lines += ["", "Hai bên đã trao đổi về kết quả hợp tác và phương hướng trong thời gian tới..."]
        return lines, titles[:1]
    summary = picked[0][1] or "Hai bên thống nhất tăng cường phối hợp trong thời gian tới."
    return [f"{titles[0]} {titles[0]}", summary], titles[:1]


def _credit(rng: random.Random, t: dict, ctx: dict) -> str:
    return _fill(rng.choice(t["credits"]) if rng.random() < 0.7 else rng.choice(SOURCE_CREDITS), rng, ctx)


def _listing_page(rng: random.Random, t: dict, ctx: dict) -> tuple[str, dict]:
    """A listing page: story summaries only, each opened by the agency's initials."""
    summaries = [f"TĐO – {_fill(s, rng, ctx)}" for s in rng.sample(t["sentences"], k=rng.randint(3, 6))]
    return "\n".join(summaries) + "\n", {"rendering": "listing", "listing": True}


def _reader_boxes(rng: random.Random, t: dict, ctx: dict) -> list[str]:
    """Related-story summaries as reader renderings write them: in a cell, beside a slot, or cut short."""
    lines = []
    for _ in range(rng.randint(1, 3)):
        summary = _fill(rng.choice(t["sentences"]), rng, ctx)
        form = rng.choice(["cell", "slot", "cut"])
        if form == "cell":
            lines.append(f"| {summary} |")
        elif form == "slot":
            lines.append(f"![]() {summary} |")
        else:
            lines.append(f"{summary.rstrip('.')[: rng.randint(40, 80)].rstrip()} ... |")
    return lines


def generate_adversarial_page(seed: int, index: int) -> tuple[str, dict]:
    """(page text, truth) for page `index`; the same page whatever the corpus size."""
    rng = random.Random(f"adversarial:{seed}:{index}")
    t = _templates()
    ctx = _context(rng)
    if rng.random() < LISTING_RATE:
        return _listing_page(rng, t, ctx)
    rendering = rng.choice(RENDERINGS)
    title = _fill(rng.choice(t["titles"]), rng, ctx)
    lead = _fill(rng.choice(t["leads"]), rng, ctx)
    body = []
    for _ in range(rng.randint(3, 7)):
        paragraph = " ".join(_fill(s, rng, ctx) for s in rng.sample(t["sentences"], k=rng.randint(2, 3)))
        if paragraph not in body:
            body.append(paragraph)
    captions_text = [_fill(rng.choice(t["captions"]), rng, ctx) for _ in range(rng.randint(0, 3))]
    captions = [c + (f" {_credit(rng, t, ctx)}" if rng.random() < 0.5 else ".") for c in captions_text]
    if rng.random() < 0.25:  # a subheading inside the body: an article line shaped like a headline
        body.insert(rng.randint(1, len(body) - 1), _fill(rng.choice(t["subheadings"]), rng, ctx))
    if rng.random() < 0.15:
        lead = f"TĐO – {lead}"
    page_slug = ascii_fold(captions_text[0] if captions_text else title).lower()
    kicker = (
        rng.choice(["Nhìn lại một năm hợp tác:", "Câu chuyện biên giới:", "Ghi chép:"]) if rng.random() < 0.2 else None
    )
    author = rng.choice(t["authors"])
    stories: list[str] = []
    lines: list[str] = []

    if rendering == "save":
        if rng.random() < 0.1:
            lines.append("--> -->")  # markup left over by a copy of the page
        lines += [f"Trang chủ {rng.choice(SECTIONS)}", f"{ctx['when']:%H:%M | %d/%m/%Y} GMT+7"]
        if rng.random() < 0.3:
            lines.append("Theo dõi thoidai.com.vn trên")
        if kicker:
            lines += [kicker]
        lines += ["", title, ""]
        if rng.random() < 0.7:
            lines.append("aa")
        lines.append(lead)
        if rng.random() < 0.6:  # teasers under the lead
            group, shown = _teaser_lines(rng, seed, page_slug)
            lines += group
            stories += shown
        if rng.random() < 0.3:  # an image under the lead: its alt (the caption again, or an HTML title), its caption
            caption = f"{_fill(rng.choice(t['captions']), rng, ctx)} {_credit(rng, t, ctx)}"
            alt = rng.choice([caption, f"{title} | Người Việt bốn phương | Báo Điện tử (BaoDienTu)", None])
            lines += ([alt] if alt else []) + [caption]
            captions = [caption, *captions]
        lines.append("")
        images = dict(zip(rng.sample(range(len(body)), k=min(len(captions), len(body))), captions, strict=False))
        for number, paragraph in enumerate(body):
            if number in images:
                caption = images[number]
                alt = rng.choice([None, caption, page_slug, title])
                lines += ([alt] if alt else []) + [caption, ""]
            if number == 1 and rng.random() < 0.4:  # a teaser group between paragraphs
                group, shown = _teaser_lines(rng, seed, page_slug)
                lines += [*group, ""]
                stories += shown
            lines += [paragraph, ""]
        lines.append(author)
        if rng.random() < 0.8:
            lines.append("Nguồn:")
        lines.append("")
        for header, _ in rng.sample(BOXES, k=rng.randint(0, len(BOXES))):
            lines += [header, ""]
            for shown, summary, _ in _pick_stories(rng, seed, rng.randint(1, 3)):
                lines += [shown, "", shown, ""] + ([summary] if summary and rng.random() < 0.7 else [])
                stories.append(shown)
    elif rendering == "emagazine":  # a rendering label, the title and lead, then both again, then the text
        lines += ["e magazine", title, "", f"{ctx['when']:%H:%M | %d/%m/%Y}", "", lead, "", title, "", lead, ""]
        asked = [_fill(q, rng, ctx) for q in rng.sample(t["questions"], k=min(len(t["questions"]), len(body)))]
        body = [line for n, paragraph in enumerate(body) for line in [*asked[n : n + 1], paragraph]]
        for paragraph in body:
            lines += [paragraph, ""]
        lines.append(author)
        captions = []
    else:  # reader mode: no header, one line per paragraph, images as empty slots, captions closed by " |"
        lines.append(title)
        if rng.random() < 0.5:
            lines += _reader_boxes(rng, t, ctx)
        lines.append(lead)
        slots = dict(zip(rng.sample(range(len(body)), k=min(len(captions), len(body))), captions, strict=False))
        opened = rng.random() < 0.5  # captions written `| … |`
        for number, paragraph in enumerate(body):
            if number in slots:
                lines += ["![]() |"] * rng.randint(1, 3) + [f"| {slots[number]} |" if opened else f"{slots[number]} |"]
            lines.append(paragraph)
        lines.append(author)
        captions = [slots[n] for n in sorted(slots)]
    truth = {
        "rendering": rendering,
        "listing": False,
        "title": title,
        "kicker": kicker.rstrip(": ") if kicker and rendering == "save" else None,
        "lead": lead,
        "body": body,
        "captions": captions,
        "stories": stories,
    }
    return "\n".join(lines) + "\n", truth


def generate_adversarial(out_dir: Path, pages: int, seed: int = 7) -> list[dict]:
    """Write the pages as text files (page_000001.txt …); return their truths with a `file` key."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    truths = []
    for index in range(pages):
        text, truth = generate_adversarial_page(seed, index)
        name = f"page_{index:06d}.txt"
        (out_dir / name).write_text(text, "utf-8")
        truths.append({**truth, "file": name})
    (out_dir / "truth.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in truths), "utf-8")
    return truths
