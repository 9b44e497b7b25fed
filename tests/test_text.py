import unicodedata

from huunghi.text import is_slug, normalize_text, stable_id, strip_media_tag, title_key, undouble


def test_undouble_with_and_without_space():
    assert undouble("Quảng Bình và Khăm Muộn (Lào) hợp tác Quảng Bình và Khăm Muộn (Lào) hợp tác") == (
        "Quảng Bình và Khăm Muộn (Lào) hợp tác"
    )
    assert undouble("Công tác Mặt trậnCông tác Mặt trận") == "Công tác Mặt trận"


def test_undouble_refuses_ordinary_lines():
    assert undouble("Hai bên đã ký kết biên bản ghi nhớ hợp tác.") is None
    assert undouble("aa aa") is None  # too short to be a title


def test_slugs_are_unaccented_lowercase_words():
    assert is_slug("infographic quan he huu nghi viet nam lao")
    assert not is_slug("Quan hệ hữu nghị Việt Nam - Lào")
    assert not is_slug("Hạnh Trần (t/h)")
    assert not is_slug("two words")


def test_normalize_nfd_crlf_nbsp_zero_width():
    raw = unicodedata.normalize("NFD", "Quảng\u00a0Trị\u200b\r\nLào  \r\n")
    assert normalize_text(raw) == "Quảng Trị\nLào\n"


def test_title_key_ignores_case_punctuation_quotes_and_media_tags():
    assert title_key("[Video] Đêm hội múa lăm vông “bên dòng sông Mã”") == title_key(
        "đêm hội múa lăm vông bên dòng sông mã"
    )
    assert title_key("Giá lúa gạo ngày (11/5): ổn định") != title_key("Giá lúa gạo ngày (5/5): ổn định")
    assert strip_media_tag("[VIDEO] Tổ chức Cứu trợ") == "Tổ chức Cứu trợ"


def test_stable_id_depends_only_on_parts():
    assert stable_id("a", "b") == stable_id("a", "b") != stable_id("ab")
