"""Enrichment on the three real samples and on pages written for the hard cases."""

from __future__ import annotations

from datetime import date

import pytest

from huunghi.enrich import enrich_chunk
from huunghi.enrich.amounts import find_amounts
from huunghi.enrich.dates import event_dates, periods, resolve, signed_period
from huunghi.enrich.gazetteer import load_gazetteer, variants
from huunghi.enrich.partnerships import find_partnerships, partner_provinces
from huunghi.enrich.people import find_people, merge
from huunghi.parsing.lines import parse_page
from huunghi.records import ArticleText
from tests.conftest import needs_samples, sample_files


def _enrich(page, aid="a"):
    paragraphs = tuple((i, kind, text) for i, (kind, text) in enumerate(page.paragraphs) if kind in ("lead", "body"))
    published = page.published_at.date() if page.published_at else None
    return enrich_chunk([ArticleText(aid, page.title, published, paragraphs)])


# -- the samples -------------------------------------------------------------------------------------
SAMPLE_EXPECTED = [
    {  # talks of three provinces: two pairs; the 2020-2022 period is the one reviewed
        "pairs": [("VN-25", "LA-SL"), ("VN-25", "LA-SV")],
        "event_type": "signing",
        "event_date": date(2022, 12, 27),
        "agreement_kind": "cooperation_agreement",
        "period": (2023, 2025),
        "people": {("Lê Quang Tùng", "VN-25", "ORG-TINH_UY-VN-25"), ("Võ Văn Hưng", "VN-25", "ORG-UBND-VN-25")},
        "amounts": [],
        "not_partners": {"LA-CH", "VN-DN"},  # consulate seats
    },
    {  # a visit; the students' provinces are named in passing
        "pairs": [("VN-26", "LA-XE")],
        "event_type": "visit",
        "event_date": date(2022, 6, 10),
        "agreement_kind": None,
        "period": (None, None),
        "people": {
            ("Leklay Sivilay", "LA-XE", "ORG-CHINH_QUYEN-LA-XE"),
            ("Nguyễn Văn Phương", "VN-26", "ORG-UBND-VN-26"),
        },
        "amounts": [(2e9, "VND"), (1e8, "VND")],
        "not_partners": {"LA-AT", "LA-CH", "LA-KH", "LA-SV", "LA-VT"},
    },
    {  # a memorandum for 2022-2026; 2017-2022 is reviewed
        "pairs": [("VN-58", "LA-CH")],
        "event_type": "signing",
        "event_date": date(2022, 8, 22),
        "agreement_kind": "memorandum",
        "period": (2022, 2026),
        "people": {
            ("Nguyễn Mạnh Cường", "VN-58", "ORG-TINH_UY-VN-58"),
            ("Vilayvong Butdakham", "LA-CH", "ORG-CHINH_QUYEN-LA-CH"),
        },
        "amounts": [],
        "not_partners": set(),
    },
]


@needs_samples
@pytest.mark.parametrize("index", range(3))
def test_samples(index):
    page = parse_page(sample_files()[index].read_text("utf-8"))
    want = SAMPLE_EXPECTED[index]
    rows = _enrich(page)
    pairs = sorted((r[1], r[2]) for r in rows["partnerships"])
    assert pairs == want["pairs"]
    for row in rows["partnerships"]:
        assert row[3] == want["event_type"] and row[5] == want["event_date"]
        assert row[7] == want["agreement_kind"] and (row[8], row[9]) == want["period"]
    assert {(r[1], r[4], r[3]) for r in rows["people"]} == want["people"]
    assert [(r[1], r[2]) for r in rows["amounts"]] == want["amounts"]
    partners = {code for pair in pairs for code in pair}
    assert not partners & want["not_partners"]


@needs_samples
def test_sample_sectors_and_mentions():
    page = parse_page(sample_files()[2].read_text("utf-8"))
    rows = _enrich(page)
    sectors = set(rows["partnerships"][0][10])
    assert {"investment_trade", "education_training", "agriculture", "health", "culture_tourism"} <= sectors
    assert {r[1] for r in rows["mentions"]} >= {"VN-58", "LA-CH", "VN", "LA"}
    assert all(r[1] in load_gazetteer().entities for r in rows["mentions"])


# -- hard cases, written for these tests ---------------------------------------------------------------
TEASER_PAGE = "\n".join(
    [
        "Trang chủ Hữu nghị Bốn phương kết bạn",
        "09:15 | 05/01/2024 GMT+7",
        "",
        "Nghệ An và Xiêng Khoảng ký kết biên bản ghi nhớ hợp tác giai đoạn 2024 - 2028",
        "",
        "Ngày 28/12, tại TP. Vinh, hai tỉnh Nghệ An và Xiêng Khoảng đã tổng kết văn bản thỏa thuận giai đoạn "
        "2019 - 2023 và ký kết biên bản ghi nhớ hợp tác giai đoạn 2024 - 2028.",
        "Quảng Bình trao tặng quà cho tỉnh Khăm Muồn Quảng Bình trao tặng quà cho tỉnh Khăm Muồn",  # a teaser
        "",
        "Phó Chủ tịch UBND tỉnh Nghệ An Bùi Đình Long và Phó Tỉnh trưởng tỉnh Xiêng Khoảng Khăm-phăn Phôm-ma-thắt "
        "cùng ký biên bản; dự lễ có đại diện Tổng Lãnh sự quán Lào tại Vinh và Tổng Lãnh sự quán Việt Nam tại "
        "Luông Pha Bang.",
        "",
        "Theo biên bản, tỉnh Nghệ An hỗ trợ tỉnh bạn 7,3 tỉ đồng xây trường và 192.926 USD mua thiết bị y tế; hiện "
        "có 1.249 lưu học sinh của các tỉnh Hủa Phăn, Bò Kẹo, Sầm Nưa và Phông Sa Lỳ học tại tỉnh.",
        "",
        "Minh Anh",
        "Nguồn:",
        "",
    ]
)


def test_hard_cases_in_one_page():
    page = parse_page(TEASER_PAGE)
    assert [s.title for s in page.stories] == ["Quảng Bình trao tặng quà cho tỉnh Khăm Muồn"]
    rows = _enrich(page)
    # The teaser's provinces, the consulates' seats and the students' provinces are not partners.
    assert [(r[1], r[2]) for r in rows["partnerships"]] == [("VN-22", "LA-XI")]
    (row,) = rows["partnerships"]
    assert row[3] == "signing" and "review" in row[4]
    assert row[5] == date(2023, 12, 28)  # "Ngày 28/12" in an article of 5 January 2024
    assert (row[7], row[8], row[9]) == ("memorandum", 2024, 2028)  # signed, not the reviewed 2019 - 2023
    assert {(r[1], r[2], r[4]) for r in rows["people"]} == {  # two people in one sentence
        ("Bùi Đình Long", "Phó Chủ tịch UBND tỉnh", "VN-22"),
        ("Khăm-phăn Phôm-ma-thắt", "Phó Tỉnh trưởng", "LA-XI"),
    }
    assert [(r[1], r[2], r[4]) for r in rows["amounts"]] == [
        (7.3e9, "VND", "7,3 tỉ đồng"),
        (192926, "USD", "192.926 USD"),
    ]
    usd = rows["amounts"][1]
    assert usd[3] == pytest.approx(192926 * 25000)  # the 2024 reference rate
    places = {(r[1], r[6]) for r in rows["mentions"] if r[6]}
    assert ("VN-22", "TP. Vinh") in places


def test_passing_mentions():
    students = "Trường đón thêm sinh viên đến từ Sê Kông, Khammuon, Champasak, Attapu và Savannakhet."
    assert partner_provinces(students) == {}
    consulate = "Buổi gặp có mặt cán bộ Lãnh sự quán Lào tại Đà Nẵng và Lãnh sự quán Việt Nam tại Savannakhet."
    assert partner_provinces(consulate) == {}
    talks = "Lãnh đạo Quảng Trị gặp gỡ đoàn Savannakhet và đoàn Salavan bên bờ sông Sê Pôn."
    assert partner_provinces(talks) == {"VN-25": 1, "LA-SV": 1, "LA-SL": 1}


def test_no_partnership_without_both_countries():
    assert find_partnerships("Hà Nội tổ chức lễ hội", "Ngày 2/9, Hà Nội tổ chức lễ hội.", [], date(2024, 9, 3)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hỗ trợ 3 tỷ đồng", [(3e9, "VND")]),
        ("trị giá 7,3 tỉ đồng", [(7.3e9, "VND")]),
        ("gần 100 triệu đồng", [(1e8, "VND")]),
        ("293.800 EUR", [(293800, "EUR")]),
        ("1,5 triệu USD", [(1.5e6, "USD")]),
        ("500 nghìn đồng và 2 triệu kíp", [(5e5, "VND"), (2e6, "LAK")]),
        ("1.249 lưu học sinh, năm 2022, 2 suất học bổng", []),
    ],
)
def test_amounts(text, expected):
    assert [(a.value, a.currency) for a in find_amounts(text, 2022)] == expected


def test_dates_around_the_new_year_and_ranges():
    assert resolve(27, 12, None, date(2023, 1, 3)) == date(2022, 12, 27)
    assert resolve(2, 1, None, date(2022, 12, 30)) == date(2023, 1, 2)
    assert resolve(31, 2, None, date(2022, 3, 1)) is None
    assert event_dates("sáng 19/9, tại", date(2022, 9, 20)) == [(date(2022, 9, 19), date(2022, 9, 19))]
    assert event_dates("từ ngày 31/3-03/4", date(2023, 4, 5)) == [(date(2023, 3, 31), date(2023, 4, 3))]
    assert event_dates("ngày 10-12/10/2025", date(2025, 10, 13)) == [(date(2025, 10, 10), date(2025, 10, 12))]
    assert event_dates("Ngày 28/12-02/1", date(2023, 1, 5)) == [(date(2022, 12, 28), date(2023, 1, 2))]


def test_periods_signed_versus_reviewed():
    text = (
        "Hai bên rà soát, đánh giá kết quả triển khai kế hoạch chung giai đoạn 2020 - 2022, "
        "sau đó ký kết bản kế hoạch hợp tác mới giai đoạn 2023 - 2025."
    )
    assert periods(text) == [(2020, 2022, "reviewed"), (2023, 2025, "signed")]
    assert signed_period([text, "trong dự thảo giai đoạn 2030 - 2035"]) == (2023, 2025)


def test_people_names_and_posts():
    text = (
        "Bí thư Tỉnh ủy Quảng Bình Vũ Đại Thắng, Chủ tịch UBND tỉnh Trần Thắng và Tỉnh trưởng tỉnh Khăm Muộn "
        "Bun-hiên Bun-chít tiếp đoàn; Chủ tịch Hồ Chí Minh từng nói."
    )
    found = [(p.name, p.role, p.province_entity_id) for p in find_people(text)]
    assert found == [
        ("Vũ Đại Thắng", "Bí thư Tỉnh ủy", "VN-24"),
        ("Trần Thắng", "Chủ tịch UBND tỉnh", None),
        ("Bun-hiên Bun-chít", "Tỉnh trưởng", "LA-KH"),
    ]
    later = find_people("Chủ tịch UBND tỉnh Quảng Bình Trần Thắng phát biểu.")
    merged = merge([(0, p) for p in find_people(text)] + [(3, p) for p in later])
    assert {p.name: p.province_entity_id for _, p in merged}["Trần Thắng"] == "VN-24"


def test_spelling_variants_cover_every_province():
    g = load_gazetteer()
    assert {m.entity_id for m in g.find("Sạ-vẳn-na-khệt, Sạ vẳn na khệt, Savannakhet, Savanakhet")} == {"LA-SV"}
    assert {m.entity_id for m in g.find("Khăm Muộn, Khăm Muồn, Khammuon")} == {"LA-KH"}
    assert {m.entity_id for m in g.find("Thanh Hoá, Thanh Hóa, Thanh Hoa")} == {"VN-21"}
    assert "Hòa Bình" in variants("Hoà Bình") and "Hoà Bình" in variants("Hòa Bình")
    for entity in g.entities.values():  # every province can be found by its own name and its unaccented form
        if entity.kind == "province" and entity.country == "VN":
            assert [m.entity_id for m in g.find(f"tỉnh {entity.name} ")] == [entity.entity_id], entity.name


# -- officials and periods as real pages write them (each sentence invented, the form seen on real pages) --------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # the name first, then a dash and the post
            "Tiếp đoàn có ông Trần Văn Xuân – Phó Chủ tịch Thường trực Hội hữu nghị tỉnh Hà Tĩnh.",
            [("Trần Văn Xuân", "Phó Chủ tịch Thường trực", None)],
        ),
        (  # a hyphenated Lao name, the post in parentheses
            "Dẫn đầu đoàn là bà Khăm-xay Vông-phết (Phó Tỉnh trưởng tỉnh Bolikhamxay) cùng các thành viên.",
            [("Khăm-xay Vông-phết", "Phó Tỉnh trưởng", "LA-BL")],
        ),
        (  # a Lao name written syllable by syllable
            "Tỉnh trưởng tỉnh Attapeu Bua Khăm Thíp Pha Vông cảm ơn sự giúp đỡ của tỉnh bạn.",
            [("Bua Khăm Thíp Pha Vông", "Tỉnh trưởng", "LA-AT")],
        ),
        (  # two officials in one sentence, one introduced with "ông" after a comma
            "Chủ tịch UBND tỉnh Kon Tum, ông Lê Ngọc Tuấn và Bí thư Tỉnh ủy Quảng Nam Phan Việt Cường cùng dự.",
            [("Lê Ngọc Tuấn", "Chủ tịch UBND tỉnh", "VN-28"), ("Phan Việt Cường", "Bí thư Tỉnh ủy", "VN-27")],
        ),
        (  # names before a post written in lower case, two in a sentence (a 2024 page)
            "Tại hội nghị, ông Bun-mi Xay-nha-vông, Phó tỉnh trưởng tỉnh Attapeu và ông Khăm-phon Sỉ-thạ-vông, "
            "Phó tỉnh trưởng tỉnh Sê Kông cảm ơn tỉnh bạn.",
            [
                ("Bun-mi Xay-nha-vông", "Phó tỉnh trưởng", "LA-AT"),
                ("Khăm-phon Sỉ-thạ-vông", "Phó tỉnh trưởng", "LA-XE"),
            ],
        ),
    ],
)
def test_officials_in_the_forms_real_pages_use(text, expected):
    assert [(p.name, p.role, p.province_entity_id) for p in find_people(text)] == expected


def test_periods_launched_and_written_as_terms_or_years():
    assert periods("Hai tỉnh đã khởi động chương trình hợp tác giai đoạn 2019-2022 với nhiều dự án.") == [
        (2019, 2022, "signed")
    ]
    text = "Hội nhiệm kỳ 2020–2025 đã ký kết kế hoạch hợp tác năm 2021 - 2025 với tỉnh bạn."
    assert periods(text) == [(2020, 2025, "other"), (2021, 2025, "signed")]
    assert periods("trong hai ngày 2022 - 2022") == []
    assert signed_period([text]) == (2021, 2025)
