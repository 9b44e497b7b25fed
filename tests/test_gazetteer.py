import csv
from importlib import resources

from huunghi.enrich.gazetteer import load_gazetteer


def _rows():
    text = resources.files("huunghi").joinpath("data/provinces.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def test_reference_data_counts():
    rows = _rows()
    vn = [r for r in rows if r["country"] == "VN"]
    la = [r for r in rows if r["country"] == "LA"]
    assert len(vn) == 63  # before 1 July 2025
    assert len({r["iso_code_2025"] for r in vn}) == 34  # provincial units since
    assert len(la) == 18  # 17 provinces and Vientiane Capital
    codes = {r["iso_code"] for r in rows}
    assert all(r["iso_code_2025"] in codes for r in vn)


def test_sample_spellings_resolve():
    g = load_gazetteer()
    found = {
        m.surface: m.entity_id
        for m in g.find(
            "Quảng Bình và Sạ-vẳn-na-khệt; Savannakhet, Savanakhet; Khăm Muộn, Khăm Muồn, Khammuon; Xay Sổm Bun; "
            "Attapu; Vientian; Thừa Thiên Huế; TP.HCM; Sê Kông; Champasak; Salavan"
        )
    }
    assert found == {
        "Quảng Bình": "VN-24",
        "Sạ-vẳn-na-khệt": "LA-SV",
        "Savannakhet": "LA-SV",
        "Savanakhet": "LA-SV",
        "Khăm Muộn": "LA-KH",
        "Khăm Muồn": "LA-KH",
        "Khammuon": "LA-KH",
        "Xay Sổm Bun": "LA-XS",
        "Attapu": "LA-AT",
        "Vientian": "LA-VT",
        "Thừa Thiên Huế": "VN-26",
        "TP.HCM": "VN-SG",
        "Sê Kông": "LA-XE",
        "Champasak": "LA-CH",
        "Salavan": "LA-SL",
    }


def test_longest_spelling_wins_and_stop_phrases_block():
    g = load_gazetteer()
    assert [m.entity_id for m in g.find("tỉnh Lào Cai giáp Lào")] == ["VN-02", "LA"]  # the province, then the country
    assert [m.entity_id for m in g.find("khu vực châu Á - Thái Bình Dương")] == []
    assert [m.entity_id for m in g.find("Tư tưởng Hồ Chí Minh; TP. Hồ Chí Minh")] == ["VN-SG"]
    assert [m.entity_id for m in g.find("hòa bình và hữu nghị")] == []  # 'peace', not Hòa Bình
