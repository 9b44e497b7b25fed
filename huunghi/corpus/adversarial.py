"""An adversarial corpus: the structures seen on real pages of the site, composed independently of each other.

The mirror corpus (huunghi.corpus) writes pages the way the parser reads them, so it measures only that the
two agree. Here every piece of furniture is drawn on its own — whatever the article, the rendering or the
other pieces: any number of teasers (doubled, plain, 1–4 titles joined on one line, or an old box whose
slug is this page's own image slug, with or without a summary cut by "…"), kickers, images with or without
an alt line equal to the caption, captions with or without a credit, empty reader-mode slots, boxes in any
order or missing, a byline with or without "Nguồn:", the save-as-text and the reader-mode renderings. The
truth names every article line, so wrong lines can be counted per page.
"""

from __future__ import annotations

import random
from pathlib import Path

from huunghi.corpus import _context, _fill, _pick_stories, _templates
from huunghi.text import ascii_fold

RENDERINGS = ("save", "reader")
KICKERS = ("Nhìn lại một năm hợp tác:", "Câu chuyện biên giới:", "Ghi chép:")
BOXES = (("Tin bài liên quan", "related"), ("Các tin bài khác", "other"), ("Đọc nhiều", "most_read"))


def _teaser_lines(rng: random.Random, seed: int, page_slug: str) -> tuple[list[str], list[str]]:
    """Lines of one inline teaser group, and the story titles it shows."""
    picked = _pick_stories(rng, seed, rng.randint(1, 4))
    titles = [shown for shown, _, _ in picked]
    form = rng.choice(["doubled", "joined", "slugbox", "summary"])
    if form == "doubled":
        return [f"{t} {t}" for t in titles], titles
    if form == "joined":
        return [" ".join(titles)], titles
    if form == "slugbox":  # the page's own image slug, not the teaser's, then its title; maybe a cut summary
        lines = [f"{page_slug} {titles[0]}"]
        if rng.random() < 0.6:
            lines += ["", "Hai bên đã trao đổi về kết quả hợp tác và phương hướng trong thời gian tới..."]
        return lines, titles[:1]
    summary = picked[0][1] or "Hai bên thống nhất tăng cường phối hợp trong thời gian tới."
    return [f"{titles[0]} {titles[0]}", summary], titles[:1]


def generate_adversarial_page(seed: int, index: int) -> tuple[str, dict]:
    """(page text, truth) for page `index`; the same page whatever the corpus size."""
    rng = random.Random(f"adversarial:{seed}:{index}")
    t = _templates()
    ctx = _context(rng)
    rendering = rng.choice(RENDERINGS)
    title = _fill(rng.choice(t["titles"]), rng, ctx)
    lead = _fill(rng.choice(t["leads"]), rng, ctx)
    body = []
    for _ in range(rng.randint(3, 7)):
        paragraph = " ".join(_fill(s, rng, ctx) for s in rng.sample(t["sentences"], k=rng.randint(2, 3)))
        if paragraph not in body:
            body.append(paragraph)
    captions_text = [_fill(rng.choice(t["captions"]), rng, ctx) for _ in range(rng.randint(0, 3))]
    captions = [
        c + (f" {_fill(rng.choice(t['credits']), rng, ctx)}" if rng.random() < 0.5 else ".") for c in captions_text
    ]
    page_slug = ascii_fold(captions_text[0] if captions_text else title).lower()
    kicker = (
        rng.choice(["Nhìn lại một năm hợp tác:", "Câu chuyện biên giới:", "Ghi chép:"]) if rng.random() < 0.2 else None
    )
    author = rng.choice(t["authors"])
    stories: list[str] = []
    lines: list[str] = []

    if rendering == "save":
        lines += ["Trang chủ Hữu nghị Bốn phương kết bạn", f"{ctx['when']:%H:%M | %d/%m/%Y} GMT+7"]
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
    else:  # reader mode: no header, one line per paragraph, images as empty slots, captions closed by " |"
        lines += [title, lead]
        slots = dict(zip(rng.sample(range(len(body)), k=min(len(captions), len(body))), captions, strict=False))
        for number, paragraph in enumerate(body):
            if number in slots:
                lines += ["![]() |"] * rng.randint(1, 3) + [f"{slots[number]} |"]
            lines.append(paragraph)
        lines.append(author)
        captions = [slots[n] for n in sorted(slots)]
    truth = {
        "rendering": rendering,
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
