"""Structures found on real pages of the site (read through the search tool's page corpus), each on a page
written in our own words: same lines and markers, invented titles and sentences.

- Reader-mode dumps (tacnghiep.thoidai.com.vn 2020, thoidai.com.vn 2023): no header, the title on the first
  line, every paragraph one line with no blank line between, each image an empty slot `![]() |` (several in a
  row), its caption on the next line closed by ` |`, with or without an "(Ảnh: …)" credit.
- A kicker: a short line ending with ':' between the time line and the title.
"""

from __future__ import annotations

from huunghi.parsing.lines import parse_page

READER_PAGE = """Hai huyện biên giới Kỳ Sơn và Mường Mộc ký kết kế hoạch tuần tra chung
![]() |
![]() |
Lễ ký kết diễn ra tại nhà văn hóa bản Huồi Cáng. |
Sáng 14/8, huyện Kỳ Sơn (Nghệ An) và huyện Mường Mộc (Xiêng Khoảng, Lào) đã ký kết kế hoạch tuần tra chung năm 2021.
Hai bên thống nhất duy trì giao ban định kỳ mỗi quý và trao đổi thông tin về an ninh khu vực giáp ranh.
![]() |
Đại diện hai huyện trao biên bản đã ký. (Ảnh: Hoài Thu) |
Cũng tại buổi lễ, huyện Kỳ Sơn trao tặng huyện bạn 200 bao xi măng để sửa chữa trụ sở bản.
Kết thúc chương trình, đoàn công tác hai bên cùng trồng cây lưu niệm
Thanh Hà
"""


def test_reader_dump_keeps_markup_out_of_the_article():
    page = parse_page(READER_PAGE)
    assert page.title.startswith("Hai huyện biên giới")
    assert page.lead.startswith("Sáng 14/8")
    body = [text for kind, text in page.paragraphs if kind == "body"]
    assert body == [
        "Hai bên thống nhất duy trì giao ban định kỳ mỗi quý và trao đổi thông tin về an ninh khu vực giáp ranh.",
        "Cũng tại buổi lễ, huyện Kỳ Sơn trao tặng huyện bạn 200 bao xi măng để sửa chữa trụ sở bản.",
        "Kết thúc chương trình, đoàn công tác hai bên cùng trồng cây lưu niệm",
    ]
    captions = [text for kind, text in page.paragraphs if kind == "caption"]
    assert captions == [
        "Lễ ký kết diễn ra tại nhà văn hóa bản Huồi Cáng.",
        "Đại diện hai huyện trao biên bản đã ký. (Ảnh: Hoài Thu)",
    ]
    assert page.author == "Thanh Hà"
    assert not any("|" in text or text.startswith("![") for _, text in page.paragraphs)
    assert page.stories == []  # a caption is not a teaser, the line after it not a teaser's summary


def test_a_line_closed_by_a_pipe_without_an_image_before_it_is_text():
    text = "Tiêu đề bài viết về hợp tác\n\nĐoạn mở đầu, đủ dài để là một câu.\n\nSố liệu năm nay | năm trước |\n"
    page = parse_page(text)
    assert ("body", "Số liệu năm nay | năm trước |") in page.paragraphs
    assert page.rendering == "save"


KICKER_PAGE = """Trang chủ Hữu nghị Bốn phương kết bạn
10:20 | 05/06/2019 GMT+7
Nhìn lại một năm hợp tác:

Hà Giang và Phongsaly mở rộng giao thương qua cửa khẩu phụ

aa
Sau một năm thực hiện biên bản ghi nhớ, lượng hàng hóa qua cửa khẩu phụ giữa hai tỉnh tăng gần gấp đôi.

Các thương nhân hai bên cho biết thủ tục thông quan đã nhanh hơn trước nhiều.

Minh Anh
Nguồn:
"""


def test_kicker_is_kept_apart_from_the_title():
    page = parse_page(KICKER_PAGE)
    assert page.kicker == "Nhìn lại một năm hợp tác"
    assert page.title == "Hà Giang và Phongsaly mở rộng giao thương qua cửa khẩu phụ"
    assert [kind for kind, _ in page.paragraphs] == ["lead", "body"]
    assert page.author == "Minh Anh"


def test_a_title_ending_with_a_colon_without_a_headline_after_it_stays_the_title():
    text = KICKER_PAGE.replace("Hà Giang và Phongsaly mở rộng giao thương qua cửa khẩu phụ\n\naa\n", "aa\n")
    page = parse_page(text)
    assert page.title == "Nhìn lại một năm hợp tác:" and page.kicker is None


# The Lao edition (huunghivietlao.thoidai.com.vn, 2023): the title first, then a time line without "GMT", the
# lead opened by the agency's initials and a dash, doubled teaser titles in Lao under it. Invented Lao text.
LAO_PAGE = """ແຂວງ ກວາງຈິ ແລະ ແຂວງ ສະຫວັນນະເຂດ ເຊັນບົດບັນທຶກການຮ່ວມມື

09:30 | 12/03/2024

ຍສໝ - ວັນທີ 11 ມີນາ, ຄະນະຜູ້ແທນສອງແຂວງ ໄດ້ພົບປະ ແລະ ເຊັນບົດບັນທຶກການຮ່ວມມືດ້ານການສຶກສາ ແລະ ສາທາລະນະສຸກ.
ນັກສຶກສາລາວ ຮ່ວມງານບຸນປີໃໝ່ ນັກສຶກສາລາວ ຮ່ວມງານບຸນປີໃໝ່

ສອງຝ່າຍ ຕົກລົງ ແລກປ່ຽນ ນັກສຶກສາ ແລະ ອາຈານ ທຸກໆປີ, ພ້ອມທັງ ຮ່ວມກັນ ກໍ່ສ້າງ ໂຮງຮຽນ ຢູ່ເຂດຊາຍແດນ.

ໃນໂອກາດນີ້, ແຂວງ ກວາງຈິ ໄດ້ມອບ ອຸປະກອນການແພດ ໃຫ້ແກ່ ໂຮງໝໍແຂວງ ສະຫວັນນະເຂດ.
"""


def test_lao_edition_page_is_read_as_a_lao_article():
    from huunghi.parsing.clean import clean_page
    from huunghi.records import RawPage

    page = parse_page(LAO_PAGE)
    assert page.title.startswith("ແຂວງ ກວາງຈິ")
    assert page.published_at is not None and page.published_at.year == 2024
    assert page.lead.startswith("ຍສໝ - ")  # the time line is not the lead
    assert [s.title for s in page.stories] == ["ນັກສຶກສາລາວ ຮ່ວມງານບຸນປີໃໝ່"]
    assert len([t for k, t in page.paragraphs if k == "body"]) == 2
    raw = RawPage("file:///lao.txt", "0" * 64, page.published_at, "text", len(LAO_PAGE), LAO_PAGE)
    assert clean_page(raw).language == "lo"


def test_language_by_script():
    from huunghi.text import language_of

    assert language_of("广治省与沙湾拿吉省签署合作协议，双方将在教育和卫生领域加强合作。") == "zh"
    assert language_of("Hai tỉnh ký kết biên bản ghi nhớ hợp tác về giáo dục và y tế.") == "vi"
    assert language_of("The two provinces signed a memorandum on education and health care.") == "en"
    assert language_of("ok") == "und"
