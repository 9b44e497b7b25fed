"""trafilatura's part of HTML extraction: page metadata, and the main text of pages of any other layout.

`tasks.clean.parse_html` decides which page goes where (see there). Here: the metadata a page declares
(title, date, author, categories, URL), and trafilatura's main text as (kind, text) paragraphs, in
order, with the captions trafilatura drops put back where their image stands.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import lxml.etree
import trafilatura
from trafilatura.metadata import extract_metadata

from huunghi.text import normalize_text, title_key

_DATE_CONFIG = {"original_date": True, "extensive_search": False, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
_VN = timezone(timedelta(hours=7))


def metadata(tree: lxml.etree._Element, url: str | None) -> dict:
    """Title, date, author, categories and URL as the page declares them (trafilatura/htmldate)."""
    meta = extract_metadata(tree, default_url=url, date_config=_DATE_CONFIG, extensive=False)
    published = None
    if meta.date:
        try:
            published = datetime.strptime(meta.date, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:  # a date without time or zone: midnight of that day, Vietnam time
            try:
                published = datetime.fromisoformat(meta.date[:10]).replace(tzinfo=_VN)
            except ValueError:
                published = None
    return {
        "title": normalize_text(meta.title) if meta.title else None,
        "published_at": published,
        "author": normalize_text(meta.author) if meta.author else None,
        "categories": [normalize_text(c) for c in meta.categories or []],
        "url": meta.url or url,
    }


def _captions_by_src(tree: lxml.etree._Element) -> dict[str, str]:
    """Image src → the caption of its figure, for putting trafilatura's dropped captions back."""
    out: dict[str, str] = {}
    for figure in tree.iter("figure"):
        caption = figure.find(".//figcaption")
        if caption is None:
            continue
        text = normalize_text(" ".join(caption.text_content().split()))
        for img in figure.iter("img"):
            if img.get("src") and text:
                out.setdefault(img.get("src"), text)
    return out


def trafilatura_paragraphs(tree: lxml.etree._Element, title: str | None) -> list[tuple[str, str]]:
    """The main text by trafilatura, as (kind, text): body paragraphs in order, captions apart.

    trafilatura drops figcaptions; they are put back where their image stands. A heading equal to the
    title is the title, not a paragraph.
    """
    xml = trafilatura.extract(
        tree,
        output_format="xml",
        include_images=True,
        include_tables=True,
        include_comments=False,
        with_metadata=False,
        deduplicate=False,
    )
    if not xml:
        return []
    doc = lxml.etree.fromstring(xml.encode("utf-8"))
    captions = _captions_by_src(tree)
    caption_texts = set(captions.values())
    placed: set[str] = set()
    main = doc.find("main")
    out: list[tuple[str, str]] = []
    for el in main.iter("p", "head", "item", "quote", "row", "graphic") if main is not None else ():
        if el.tag == "graphic":
            if (caption := captions.get(el.get("src") or "")) and caption not in placed:
                out.append(("caption", caption))
                placed.add(caption)
            continue
        if el.tag == "p" and el.getparent() is not None and el.getparent().tag in ("quote", "item"):
            continue  # counted with its container
        text = normalize_text(" ".join("".join(el.itertext()).split()))
        if not text or (el.tag == "head" and title and title_key(text) == title_key(title)):
            continue
        if text in caption_texts:  # a figcaption's own <p>: the caption, once
            if text not in placed:
                out.append(("caption", text))
                placed.add(text)
            continue
        out.append(("body", text))
    return out
