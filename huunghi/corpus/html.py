"""The HTML form of a generated page: the markup a news CMS would serve for the same article.

Built from the page's lines and labels, so the text form and the HTML form are one page: a site header
with logo, menu and search form; breadcrumb; article with figure/figcaption and inline related links
(image + title link, which a browser saves as `T T`); sidebar boxes of story cards; video list; footer;
plus what text never shows: <head> metadata, JSON-LD, scripts, styles, comments, hidden ads. A few pages
are served in Windows-1258 or UTF-16, as old CMSs did.
"""

from __future__ import annotations

import json
import random
import unicodedata
from html import escape

from huunghi.corpus import Page
from huunghi.text import ascii_fold, stable_id

SITE = "https://thoidai.com.vn"
MENU = ["Thời sự", "Hữu nghị", "Kiều bào", "Quốc tế", "Xã hội", "Kinh tế", "Văn hóa", "Du lịch", "Multimedia"]
BREADCRUMB = [("Trang chủ", "/"), ("Hữu nghị", "/huu-nghi"), ("Bốn phương kết bạn", "/bon-phuong-ket-ban")]
ARTICLE_ID_BASE = 100_000


def _slug(text: str) -> str:
    return "-".join(ascii_fold(text).split())[:80] or "bai-viet"


def story_path(pool_title: str) -> str:
    """Where a pool story lives: one URL per story, whatever spelling a page shows it with."""
    return f"/{_slug(pool_title)}-{int(stable_id('story', pool_title, length=8), 16) % 900_000 + 10_000}.html"


def page_path(page: Page) -> str:
    return f"/bon-phuong-ket-ban/{_slug(page.truth['title'])}-{ARTICLE_ID_BASE + page.index}.html"


def _a(base: str, path: str, inner: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<a{attr} href="{escape(base + path)}">{inner}</a>'


def _img(alt: str, src: str = "/media/thumb.jpg") -> str:
    return f'<img src="{src}" alt="{escape(alt)}" loading="lazy">'


def _teaser(base: str, kind: str, items: list[tuple[str, str]], sep: str) -> str:
    if kind == "doubled":  # the card's image (alt = title) and its title link, on one line
        ((shown, pool),) = items
        link = story_path(pool)
        return f'<div class="rel-inline">{_a(base, link, _img(shown))}{sep}{_a(base, link, escape(shown))}</div>'
    if kind == "slugbox":  # old box: image whose alt is the unaccented slug, then the title link
        (slug, pool), (shown, _) = items
        link = story_path(pool)
        return f'<h4 class="box-rel">{_a(base, link, _img(slug))} {_a(base, link, escape(shown))}</h4>'
    links = " ".join(_a(base, story_path(pool), escape(shown)) for shown, pool in items)
    return f'<div class="rel-list">{links}</div>'


def to_html(page: Page, base: str = SITE) -> str:
    """The page as its CMS would serve it; `base` is the site's origin (the test server's in tests)."""
    t = page.truth
    lines, labels = page.lines, page.labels
    url = base + page_path(page)
    out: list[str] = []
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(t['title'])} | Thời Đại</title>",
        f'<link rel="canonical" href="{escape(url)}">',
        f'<meta property="og:title" content="{escape(t["title"])}">',
        f'<meta property="og:url" content="{escape(url)}">',
        f'<meta name="description" content="{escape(t["lead"])}">',
        f'<meta name="author" content="{escape(t["author"])}">',
        '<meta property="article:section" content="Bốn phương kết bạn">',
        "<style>.ads{display:none}.article__title{font-size:2rem}</style>",
        '<script async src="/static/analytics.js"></script>',
    ]
    if t["published_at"]:  # a page whose visible timestamp was lost lost its metadata too
        head.append(f'<meta property="article:published_time" content="{t["published_at"]}">')
        ld = {"@type": "NewsArticle", "headline": t["title"], "datePublished": t["published_at"]}
        head.append(f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>')
    out.append(f'<!DOCTYPE html>\n<html lang="vi">\n<head>\n{chr(10).join(head)}\n</head>\n<body class="detail">')
    menu = "".join(f"<li>{_a(base, '/' + _slug(m), escape(m))}</li>" for m in MENU)
    out.append(
        f'<header class="site-header"><div class="logo">{_a(base, "/", _img("Thời Đại", "/logo.png"))}</div>\n'
        f'<nav class="menu"><ul>{menu}</ul></nav>\n<form class="search" action="/search"><input name="q">'
        '<button type="submit">Tìm kiếm</button></form></header>\n'
        '<div class="ads" style="display:none">Quảng cáo</div>\n<!-- article -->\n<main class="container">'
    )
    open_box = False
    i = 0
    while i < len(lines):
        line, label = lines[i], labels[i]
        text = escape(line)
        if label == "blank":
            i += 1
            continue
        if label == "breadcrumb":
            crumbs = " ".join(_a(base, path, escape(name)) for name, path in BREADCRUMB)
            out.append(f'<div class="breadcrumb">{crumbs}</div>')
        elif label in ("timestamp", "furniture"):
            out.append(f'<div class="article__meta"><span class="date">{text}</span></div>')
        elif label == "navigation" and line.startswith("Theo dõi"):
            out.append(f'<div class="follow">{text} {_a(base, "/google-news", _img("", "/gn.svg"))}</div>')
        elif label == "title":
            out.append(f'<article class="article">\n<h1 class="article__title">{text}</h1>')
        elif label == "widget":
            out.append('<div class="font-size"><a href="#" class="down">a</a><a href="#" class="up">a</a></div>')
        elif label == "lead":
            out.append(f'<div class="article__sapo">{text}</div>')
        elif label == "teaser":
            out.append(_teaser(base, *page.markup[i]))
        elif label == "teaser_summary":
            tag = "p" if i > 0 and labels[i - 1] == "blank" else "div"  # an old box's cut summary is a paragraph
            out.append(f'<{tag} class="rel-sapo">{text}</{tag}>')
        elif label in ("alt", "caption"):
            alt = line if label == "alt" else ""
            if label == "alt":
                i += 1
            caption = escape(lines[i])
            out.append(f"<figure>{_img(alt, '/media/photo.jpg')}<figcaption>{caption}</figcaption></figure>")
        elif label == "body":
            out.append(f"<p>{text}</p>")
        elif label == "author":
            out.append(f'<div class="article__author">{text}</div>')
        elif label == "source":
            out.append(f'<div class="article__source">{text}</div>\n</article>\n<aside class="sidebar">')
        elif label == "box_header":
            out.append(("</section>" if open_box else "") + f'<section class="box"><h3 class="box__title">{text}</h3>')
            open_box = True
        elif label == "story":
            ((shown, pool),) = page.markup[i][1]
            link = story_path(pool)
            card = f'<div class="story">{_a(base, link, _img(shown))}<h4>{_a(base, link, escape(shown))}</h4>'
            i += 2  # the title line written again below the image
            if i + 2 < len(lines) and labels[i + 2] == "story_summary":
                i += 2
                card += f'<div class="story__sapo">{escape(lines[i])}</div>'
            out.append(card + "</div>")
        elif label == "navigation" and line == "Xem trên":
            out.append(f'<div class="more">{text} {_a(base, "/multimedia", _img("", "/yt.svg"))}</div>')
        elif label == "slug":
            out.append(f'<div class="mm-item">{_a(base, "/multimedia/" + _slug(line) + ".html", _img(line))}</div>')
        elif label == "navigation":
            out.append(
                f'<div class="player" data-src="/video/live.m3u8">{text}</div><noscript>Bật JavaScript</noscript>'
            )
        elif label == "video":
            out.append(f'<div class="video-item">{_a(base, "/video/" + _slug(line) + ".html", text)}</div>')
        elif label == "footer":
            out.append(
                ("</section>" if open_box else "") + "</aside>\n</main>\n"
                f'<footer class="site-footer"><div>{_a(base, "/?m=1", text)}</div>'
                "<div>© Thời Đại – Liên hiệp các tổ chức hữu nghị Việt Nam</div>"
                "<div>105A Quán Thánh, Ba Đình, Hà Nội</div></footer>"
            )
            open_box = False
        else:
            raise ValueError(f"no markup for label {label!r} (line {i + 1} of {page.name})")
        i += 1
    out.append("<script>window.dataLayer=[];</script>\n</body>\n</html>\n")
    document = "\n".join(out)
    return unicodedata.normalize("NFD", document) if page.encoding == "nfd" else document


def encoding_of(seed: int, index: int) -> str:
    """How the page's HTML is encoded: mostly UTF-8; some old pages Windows-1258, a few UTF-16."""
    roll = random.Random(f"html:{seed}:{index}").random()
    return "windows-1258" if roll < 0.03 else "utf-16" if roll < 0.04 else "utf-8"


def encode(document: str, encoding: str) -> bytes:
    """The document's bytes; its <meta charset> says the truth (UTF-16 is marked by its BOM instead)."""
    if encoding == "utf-8":
        return document.encode("utf-8")
    if encoding == "utf-16":
        return document.replace('<meta charset="utf-8">', "").encode("utf-16")  # Python writes the BOM
    document = document.replace('<meta charset="utf-8">', f'<meta charset="{encoding}">')
    return _cp1258(document)


def _cp1258(text: str) -> bytes:
    """Windows-1258 has letters with circumflex, breve and horn, but writes tone marks as combining
    characters: decompose what the code page cannot hold, as Vietnamese Windows software did."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        for k in range(1, len(parts)):  # the letter with the one mark the code page has precomposed
            base = unicodedata.normalize("NFC", parts[0] + parts[k])
            rest = parts[1:k] + parts[k + 1 :]
            try:
                out += base.encode("cp1258") + rest.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            out += parts.encode("cp1258", errors="xmlcharrefreplace")
    return bytes(out)
