"""Story and article deduplication: what is one story, what is one article."""

from __future__ import annotations

from huunghi.dedup.articles import DedupState, dedup
from huunghi.dedup.stories import cluster_titles
from huunghi.records import CleanedPage
from huunghi.signatures import minhash
from huunghi.text import title_key


def ids(*titles: str, existing: dict[str, str] | None = None) -> list[str]:
    keys = [title_key(t) for t in titles]
    found = cluster_titles(set(keys), existing or {})
    return [found[k] for k in keys]


def test_near_identical_titles_are_one_story():
    a, b, c, d, e = ids(
        "Hai tỉnh Hà Tĩnh - Bolikhamxay mở lớp tập huấn phòng cháy rừng cho kiểm lâm (Lào)",
        "Hai tỉnh Hà Tĩnh - Bolikhamxai mở lớp tập huấn phòng cháy rừng cho kiểm lâm (Lào)",  # a letter changed
        "HAI TỈNH Hà Tĩnh – Bolikhamxay mở lớp tập huấn phòng cháy rừng cho kiểm lâm (Lào)",  # case, dashes
        "“Hai tỉnh Hà Tĩnh - Bolikhamxay mở lớp tập huấn phòng cháy rừng cho kiểm lâm (Lào)”",  # quotes
        "Hai tỉnh Hà Tĩnh -Bolikhamxay mở lớp tập huấn phòng cháy rừng cho kiểm lâm(Lào)",  # spacing
    )
    assert a == b == c == d == e


def test_template_stories_stay_distinct():
    found = ids(
        "Giá lúa gạo ngày (11/5): vùng đồng bằng ổn định",
        "Giá lúa gạo ngày (5/5): vùng đồng bằng ổn định",
        "Giá lúa gạo ngày (15/5): vùng đồng bằng ổn định",
        "Đoàn đại biểu Bắc Ninh thăm tỉnh Luang Prabang",
        "Đoàn đại biểu Bắc Kinh thăm tỉnh Luang Prabang",  # one letter, but a short word: another story
    )
    assert len(set(found)) == 5


def test_existing_story_keeps_its_id():
    old = title_key("Giao lưu văn nghệ hữu nghị Hà Tĩnh - Oudomxay")
    (new,) = ids("Giao lưu văn nghệ hữu nghị Hà Tĩnh - Udomxay", existing={old: "0123456789abcdef"})
    assert new == "0123456789abcdef"


def _record(uri: str, body: list[str], title: str = "Hà Giang và Phongsaly ký kết hợp tác") -> CleanedPage:
    from huunghi.parsing.lines import content_hash

    lead = "Ngày 2/4, hai tỉnh Hà Giang và Phongsaly đã ký kết biên bản ghi nhớ hợp tác giai đoạn 2024-2026."
    return CleanedPage(
        source_uri=uri,
        sha256="0" * 64,
        url=None,
        extractor="layout",
        title=title,
        kicker=None,
        language="vi",
        published_at=None,
        section=None,
        author=None,
        lead=lead,
        paragraphs=[("lead", lead)] + [("body", b) for b in body],
        stories=[],
        learned_titles=[],
        headline_lines=[],
        needs_knowledge=False,
        content_hash=content_hash(title, lead, body),
        minhash=minhash("\n".join([title, lead, *body])),
    )


BODY = [
    "Theo biên bản, hai bên sẽ phối hợp quản lý biên giới, phòng chống buôn lậu và tội phạm ma túy.",
    "Tỉnh Hà Giang hỗ trợ tỉnh Phongsaly đào tạo cán bộ y tế và cung cấp trang thiết bị cho bệnh viện.",
    "Hai tỉnh thống nhất tổ chức giao lưu văn hóa, thể thao nhân dịp kỷ niệm các ngày lễ lớn của hai nước.",
    "Lãnh đạo hai tỉnh cũng trao đổi về việc mở rộng hoạt động thương mại qua cửa khẩu trong năm tới.",
]


def test_republished_article_with_a_trimmed_sentence_is_a_near_duplicate():
    original = _record("file:///a/original.txt", BODY)
    mirror = _record(
        "file:///m/mirror.txt",
        [*BODY[:3], "Lãnh đạo hai tỉnh cũng trao đổi về việc mở rộng hoạt động thương mại qua cửa khẩu."],
    )
    other = _record(
        "file:///b/other.txt",
        [b.replace("Hà Giang", "Lai Châu") for b in reversed(BODY)],
        title="Lai Châu và Phongsaly ký kết hợp tác",
    )
    result = dedup([mirror, other, original], DedupState(), "run")
    marks = dict(
        zip(result.articles["source_uri"].to_pylist(), result.articles["duplicate_of"].to_pylist(), strict=True)
    )
    assert marks["file:///b/other.txt"] is None
    copies = {marks["file:///a/original.txt"], marks["file:///m/mirror.txt"]}
    assert None in copies and len(copies) == 2, "exactly one of the two is marked, pointing at the other"
    # Same decision whatever the order.
    again = dedup([original, other, mirror], DedupState(), "run")
    assert again.articles.to_pylist() == result.articles.to_pylist()


def test_article_already_in_the_warehouse_stays_canonical():
    original = _record("file:///z/late.txt", BODY)
    known = DedupState(signatures={"aaaaaaaaaaaaaaaa": minhash("\n".join([original.title, original.lead, *BODY]))})
    result = dedup([original], known, "run")
    assert result.articles["duplicate_of"].to_pylist() == ["aaaaaaaaaaaaaaaa"]


def test_a_rewritten_article_and_a_copy_of_its_new_text_make_no_cycle():
    """The warehouse holds an article; this run brings its edited text and, elsewhere, a copy of that text:
    the held article stays canonical (matched by its new text, not its old one) and the copy points at it."""
    from huunghi.signatures import article_id

    edited = [BODY[0].replace("buôn lậu", "buôn bán người"), *BODY[1:]]
    held = _record("file:///w/held.txt", BODY)
    rewritten = _record("file:///w/held.txt", edited)
    copy = _record("file:///c/copy2.txt", edited)
    held_id, copy_id = article_id(held.source_uri), article_id(copy.source_uri)
    assert copy_id < held_id  # the smallest id would win among new articles
    for first, second in ((rewritten, copy), (copy, rewritten)):
        known = DedupState(content={held.content_hash: held_id}, signatures={held_id: held.minhash})
        marks = dict(zip(*(dedup([first, second], known, "run").articles[c].to_pylist()
                          for c in ("article_id", "duplicate_of")), strict=True))  # fmt: skip
        assert marks == {held_id: None, copy_id: held_id}


def test_a_copy_of_a_near_duplicate_points_at_the_canonical_article():
    """One run brings an article P, a republished T that nearly repeats it, and an exact copy H of T (its HTML
    form, say). When T is H's canonical by content but itself a near-duplicate of P, H must point at P: a copy
    pointing at a copy broke the warehouse audit (`duplicates_of_missing_articles`) and stopped the run."""
    from huunghi.signatures import article_id

    def uri(name: str, after: str = "") -> str:  # the first name whose id sorts after `after`'s
        return next(u for n in range(1000) if article_id(u := f"file:///{name}{n}.txt") > after)

    p = uri("p")
    t = uri("t", article_id(p))
    h = uri("h", article_id(t))
    trimmed = [*BODY[:3], "Lãnh đạo hai tỉnh cũng trao đổi về việc mở rộng hoạt động thương mại qua cửa khẩu."]
    pages = [_record(p, BODY), _record(t, trimmed), _record(h, trimmed)]
    for order in (pages, pages[::-1]):
        marks = dict(zip(*(dedup(order, DedupState(), "run").articles[c].to_pylist()
                          for c in ("source_uri", "duplicate_of")), strict=True))  # fmt: skip
        assert marks == {p: None, t: article_id(p), h: article_id(p)}
