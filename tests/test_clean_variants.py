"""Layout variants of the archive (2019–2026), each on a small page written for it.

The pages are fictional but follow the site's layout; `page()` assembles one from its parts.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta, timezone

from huunghi.knowledge import Knowledge
from huunghi.parsing.layout import load_layout
from huunghi.parsing.lines import parse_page
from huunghi.text import title_key

ICT = timezone(timedelta(hours=7))
TITLE = "Tỉnh Kon Tum và tỉnh Attapeu (Lào) ký kết biên bản hợp tác giai đoạn 2024-2028"
LEAD = "Ngày 12/3, tại thành phố Kon Tum, lãnh đạo hai tỉnh Kon Tum và Attapeu đã hội đàm và ký kết biên bản hợp tác."
BODY = [
    "Hai bên đánh giá cao kết quả hợp tác trong lĩnh vực giáo dục, y tế và quản lý biên giới thời gian qua.",
    "Tỉnh Kon Tum tiếp tục nhận đào tạo lưu học sinh của tỉnh Attapeu tại các trường cao đẳng của tỉnh.",
    "Nhân dịp này, tỉnh Kon Tum trao tặng tỉnh Attapeu 2 tỷ đồng để xây dựng trường học ở huyện biên giới.",
]
STORY_A = "Gia Lai và Champasak tăng cường hợp tác nông nghiệp"
STORY_B = "Thanh niên Quảng Nam giao lưu với thanh niên Sekong"
STORY_C = "Hội hữu nghị Việt Nam - Lào tỉnh Nghệ An tổng kết năm 2025"
SIDEBAR = [
    "",
    "Tin bài liên quan",
    "",
    STORY_C,
    "",
    STORY_C,
    "",
    "Hai bên trao đổi kinh nghiệm.",
    "",
    "Đọc nhiều",
    "",
    STORY_A,
    "",
    STORY_A,
    "",
    "Phiên bản di động",
]


def page(*parts: list[str] | str, header: list[str] | None = None, sidebar: list[str] | None = None) -> str:
    lines = (
        header
        if header is not None
        else [
            "Trang chủ Hữu nghị Bốn phương kết bạn",
            "09:30 | 12/03/2024 GMT+7",
            "Theo dõi thoidai.com.vn trên",
            "",
            TITLE,
            "",
            "aa",
        ]
    )
    for part in parts:
        lines += [part] if isinstance(part, str) else part
    return "\n".join(lines + (SIDEBAR if sidebar is None else sidebar)) + "\n"


def body_of(parsed) -> list[str]:
    return [text for kind, text in parsed.paragraphs if kind == "body"]


def end(*teasers: str) -> list[str]:
    return ["", BODY[2], "", *teasers, "Minh Anh", "Nguồn:"]


def test_plain_teaser_titles_under_the_lead_and_again_doubled_at_the_end():
    parsed = parse_page(page([LEAD, STORY_A, STORY_B, "", BODY[0], "", BODY[1]], end(f"{STORY_A} {STORY_A}")))
    assert parsed.lead == LEAD
    assert body_of(parsed) == BODY
    assert [(s.block, s.title) for s in parsed.stories][:3] == [
        ("inline", STORY_A),
        ("inline", STORY_B),
        ("inline", STORY_A),
    ]


def test_teaser_titles_joined_on_one_line_are_split_on_known_titles():
    text = page([LEAD, f"{STORY_B} {STORY_A}", "", BODY[0], "", BODY[1]], end())
    parsed = parse_page(text)  # STORY_A stands in this page's sidebar: enough to split
    assert [s.title for s in parsed.stories if s.block == "inline"] == [STORY_B, STORY_A]
    assert body_of(parsed) == BODY
    unknown = page([LEAD, f"{STORY_B} {STORY_C}", "", BODY[0]], end(), sidebar=["", "Phiên bản di động"])
    assert parse_page(unknown).needs_knowledge  # nothing known yet: the run looks again with what it learns
    learned = Knowledge(titles=frozenset({title_key(STORY_C)}))
    assert [s.title for s in parse_page(unknown, learned).stories] == [STORY_B, STORY_C]


def test_old_teaser_box_slug_and_title_then_cut_summary():
    slug = "gia lai va champasak tang cuong hop tac nong nghiep"
    cut = "Ngày 5/3, đoàn công tác tỉnh Gia Lai đã làm việc với Sở Nông nghiệp tỉnh Champasak về..."
    parsed = parse_page(page([LEAD, "", BODY[0], "", f"{slug} {STORY_A}", "", cut, "", BODY[1]], end()))
    assert body_of(parsed) == BODY
    inline = [s for s in parsed.stories if s.block == "inline"]
    assert [(s.title, s.summary) for s in inline] == [(STORY_A, cut)]


def test_image_alts_captions_and_credit_styles():
    caption_1 = "Quang cảnh buổi hội đàm (Ảnh: Báo Kon Tum)."
    caption_2 = "Lãnh đạo hai tỉnh ký kết biên bản hợp tác - Ảnh: T.H"
    caption_3 = "Trao quà cho lưu học sinh Lào Ảnh: Minh Anh"
    parsed = parse_page(
        page(
            [LEAD, "", BODY[0], ""],
            [TITLE, caption_1, ""],  # alt repeating the page title
            ["lanh dao hai tinh ky ket bien ban hop tac", caption_2, ""],  # unaccented slug alt
            ["Trao quà cho lưu học sinh Lào (Ảnh: Báo Kon Tum)", caption_3, ""],  # two variants of one caption
            [BODY[1]],
            end(),
        )
    )
    assert body_of(parsed) == BODY
    assert [t for k, t in parsed.paragraphs if k == "caption"] == [caption_1, caption_2, caption_3]
    assert "alt" in parsed.labels


def test_doubled_title_without_space_empty_box_no_follow_line_no_widget():
    header = ["Trang chủ Hữu nghị Bốn phương kết bạn", "09:30 | 12/03/2024 GMT+7", "", TITLE, ""]
    sidebar = ["", "Tin bài liên quan", "", "Các tin bài khác", "", STORY_C, "", STORY_C, "", "Phiên bản di động"]
    parsed = parse_page(page([LEAD, "", BODY[0], "", BODY[1]], end(STORY_B + STORY_B), header=header, sidebar=sidebar))
    assert body_of(parsed) == BODY
    assert [(s.block, s.title) for s in parsed.stories] == [("inline", STORY_B), ("other", STORY_C)]


def test_no_boxes_at_all():
    parsed = parse_page(page([LEAD, "", BODY[0], "", BODY[1]], end(), sidebar=[]))
    assert body_of(parsed) == BODY
    assert parsed.author == "Minh Anh"
    assert parsed.stories == []


def test_decomposed_unicode_and_crlf():
    text = unicodedata.normalize("NFD", page([LEAD, "", BODY[0], "", BODY[1]], end())).replace("\n", "\r\n")
    parsed = parse_page(text)
    assert parsed.title == TITLE
    assert body_of(parsed) == BODY
    assert parsed.published_at == datetime(2024, 3, 12, 9, 30, tzinfo=ICT)


def test_missing_or_unreadable_timestamp_gives_no_date():
    missing = ["Trang chủ Hữu nghị Bốn phương kết bạn", "", TITLE, ""]
    broken = ["Trang chủ Hữu nghị Bốn phương kết bạn", "Cập nhật: 31/02/2024", "", TITLE, ""]
    for header in (missing, broken):
        parsed = parse_page(page([LEAD, "", BODY[0], "", BODY[1]], end(), header=header))
        assert parsed.title == TITLE
        assert parsed.published_at is None
        assert body_of(parsed) == BODY


def test_known_story_standing_alone_in_the_body_is_a_teaser():
    text = page([LEAD, "", BODY[0], "", STORY_B, "", BODY[1]], end())
    assert STORY_B in body_of(parse_page(text))  # nothing says otherwise on this page alone
    parsed = parse_page(text, Knowledge(titles=frozenset({title_key(STORY_B)})))
    assert body_of(parsed) == BODY
    assert STORY_B in [s.title for s in parsed.stories]


def test_line_repeated_across_the_site_is_furniture():
    promo = "Đặt mua báo Thời Đại năm 2026"
    text = page([LEAD, "", BODY[0], "", promo, "", BODY[1]], end())
    assert parse_page(text).headline_lines == [promo]
    parsed = parse_page(text, Knowledge(lines=frozenset({title_key(promo)})))
    assert body_of(parsed) == BODY


def test_a_caption_repeated_across_pages_stays_a_caption():
    caption = "Lãnh đạo hai tỉnh ký kết biên bản hợp tác - Ảnh: T.H"
    text = page([LEAD, "", BODY[0], "", caption, "", BODY[1]], end())
    parsed = parse_page(text, Knowledge(lines=frozenset({title_key(caption)})))
    assert [t for k, t in parsed.paragraphs if k == "caption"] == [caption]
    assert parsed.headline_lines == []


def test_a_caption_credit_never_matches_without_its_word():
    """The parser searches a line for a credit only when the credit's word is in it (layout.json,
    caption_credit_words): no line without the word may match, or skipping the search would change a label."""
    layout = load_layout()
    pieces = ["(", ")", ":", " - ", "–", " ", ".", "x", "Ả", "nh", "Anh", "ảnh", "Nguồn", "Nguồ", "n", "Ảnh", "(Ảnh:",
              "(Nguồn:", "(Nguon:", "(Anh:", "Anh:", " TTXVN", "TTXVN)"]  # fmt: skip
    rng = random.Random(3)
    patterns = (layout.caption_credit, layout.caption_source_credit)
    for pattern, word in zip(patterns, layout.caption_credit_words, strict=True):
        matched = 0
        for _ in range(20000):
            line = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
            if pattern.search(line):
                matched += 1
                assert word in line, line
        assert matched > 100  # the lines do reach the pattern
