"""South-East Asian and Japanese listings: Thai, Vietnamese, Indonesian, Malay and kana titles
written the way sellers there write them. Registered aliases on word boundaries, unregistered
Thai and katakana spellings of Latin marks, counterfeit cues and compatibility words in each
language, and the hard negatives next to each positive."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import Kind, ListingText, MarkRecord, build_index
from matcher.crossscript import kana_skeleton, latin_skeleton, thai_roman, thai_skeleton
from matcher.cues import cue_finder
from matcher.normalise import fold
from matcher.segment import word_breaks, words_of

MARKS = [
    MarkRecord("nike", "NIKE", owner_id="o1", nice_classes=frozenset({25})),
    MarkRecord("adidas", "ADIDAS", owner_id="o2", nice_classes=frozenset({25})),
    MarkRecord("samsung", "SAMSUNG", owner_id="o3", nice_classes=frozenset({9})),
    MarkRecord("chanel", "CHANEL", owner_id="o4", aliases=("ชาแนล",), nice_classes=frozenset({3, 18, 25})),
    MarkRecord("changbeer", "CHANG", owner_id="o5", aliases=("ช้าง",), nice_classes=frozenset({32})),
    MarkRecord("uniqlo", "UNIQLO", owner_id="o6", aliases=("ユニクロ",), nice_classes=frozenset({25})),
    MarkRecord("trung", "TRUNG NGUYEN", owner_id="o7", aliases=("Trung Nguyên",),
               nice_classes=frozenset({30})),
    MarkRecord("voltaris", "VOLTARIS", owner_id="o8", aliases=("沃塔瑞斯", "โวลตาริส"),
               nice_classes=frozenset({9})),
    MarkRecord("apple", "APPLE", owner_id="o9", nice_classes=frozenset({9})),
    MarkRecord("galaxy", "SAMSUNG GALAXY", owner_id="o3", aliases=("삼성",), nice_classes=frozenset({9})),
    MarkRecord("fila", "FILA", owner_id="o10", aliases=("휠라",), nice_classes=frozenset({25})),
    MarkRecord("kestrel", "KESTREL", owner_id="o11", nice_classes=frozenset({25, 28})),
    MarkRecord("molang", "墨朗", owner_id="o12", aliases=("MOLANG", "Mo Lang"), nice_classes=frozenset({3})),
]
INDEX = build_index(MARKS)


def finding(title: str, category: str, mark_id: str):
    found = [m for m in INDEX.match(ListingText("l", title, category=category)) if m.mark_id == mark_id]
    return found[0] if found else None


# (title, category, mark, expected kind (None: no finding at all), why)
TABLE = [
    # --- Thai ---
    ("รองเท้าผ้าใบไนกี้ แอร์ฟอร์ซ 1 งานก๊อป", "รองเท้า", "nike", Kind.TRADEMARK,
     "unregistered Thai spelling of NIKE inside unsegmented text, with a copy cue"),
    ("อาดิดาส ซุปเปอร์สตาร์ ของแท้ 100%", "รองเท้า", "adidas", Kind.TRADEMARK,
     "Thai spelling of ADIDAS opening the title"),
    ("กระเป๋าชาแนล งานมิเรอร์ หนังแท้", "กระเป๋า", "chanel", Kind.TRADEMARK,
     "the registered Thai alias inside a run, on word boundaries"),
    ("เคสสำหรับซัมซุง Galaxy A54 กันกระแทก", "เคสโทรศัพท์", "samsung", Kind.NOMINATIVE,
     "สำหรับ (for) right before the brand: a case that fits the phone"),
    ("นกแก้วพูดได้ ของเล่นเด็ก", "ของเล่น", "nike", None,
     "นก (bird) has NIKE's consonants but is an ordinary Thai word"),
    ("ตุ๊กตาช้างน้อย ผ้ากำมะหยี่", "ของเล่น", "changbeer", None,
     "ช้าง inside the word ช้างน้อย (little elephant): only whole words count"),
    ("เบียร์ช้าง กระป๋อง 6 แพ็ค", "เครื่องดื่ม", "changbeer", Kind.TRADEMARK,
     "the registered Thai alias as a word of its own after เบียร์ (beer)"),
    ("รองเท้าวิ่งเคสเตรล สีดำ", "รองเท้า", "kestrel", Kind.TRADEMARK,
     "Thai spelling of an English-word mark: Thai has its own word for the bird"),
    ("แอปเปิ้ลเขียว ผลไม้สด", "ผลไม้", "apple", None,
     "แอปเปิ้ล is the Thai dictionary's word for the fruit"),
    ("เซรั่มโมลัง หน้าใส ของแท้", "เครื่องสำอาง", "molang", Kind.TRADEMARK,
     "Thai spelling of a registered Latin alias (MOLANG for 墨朗)"),
    ("กระเป๋าเดินทาง สำหรับ ขวดเซรั่ม Molang", "กระเป๋า", "molang", Kind.NOMINATIVE,
     "สำหรับ (for), then the product noun the brand modifies"),
    ("รองเท้า สไตล์ Kestrel ราคาถูก", "รองเท้า", "kestrel", Kind.TRADEMARK,
     "สไตล์ (style) before the mark: brand abuse"),
    # --- Vietnamese ---
    ("Giày Nike Air Force 1 hàng nhái rep 1:1 full box", "Giày dép", "nike", Kind.TRADEMARK,
     "Vietnamese copy cues"),
    ("Ốp lưng cho Samsung Galaxy A54 chống sốc", "Ốp lưng", "samsung", Kind.NOMINATIVE,
     "cho (for) before the brand"),
    ("Sạc nhanh tương thích với Samsung 25W", "Phụ kiện điện thoại", "samsung", Kind.NOMINATIVE,
     "tương thích với (compatible with) before the brand"),
    ("Cà phê Trung Nguyên Sáng Tạo 8 hàng giả", "Cà phê", "trung", Kind.TRADEMARK,
     "a registered Vietnamese form with its own diacritics"),
    ("Túi du lịch tương thích chai serum Molang", "Túi xách", "molang", Kind.NOMINATIVE,
     "tương thích (compatible), then the bottle the brand modifies"),
    ("Giày chạy bộ Kestrel Trail Runner 2 màu đen", "Giày", "kestrel", Kind.TRADEMARK,
     "in a Vietnamese title the brand follows the noun; an English word there is a name"),
    # --- Indonesian and Malay ---
    ("Sepatu Adidas Samba OG KW super premium", "Sepatu Pria", "adidas", Kind.TRADEMARK,
     "Indonesian grade of a copy"),
    ("Tas Chanel Classic Flap grade ori mirror", "Tas Wanita", "chanel", Kind.TRADEMARK,
     "grade ori: a copy graded like the original"),
    ("Casing untuk HP Samsung A54 silikon bening", "Casing HP", "samsung", Kind.NOMINATIVE,
     "untuk (for) before the brand"),
    ("Pengecas pantas sesuai untuk Samsung Galaxy", "Aksesoris HP", "samsung", Kind.NOMINATIVE,
     "Malay sesuai untuk (suitable for) before the brand"),
    ("Kasut Nike replika murah", "Kasut", "nike", Kind.TRADEMARK, "Malay replika"),
    ("Pouch Travel sesuai botol serum Molang", "Tas", "molang", Kind.NOMINATIVE,
     "sesuai (fits), then the bottle the brand modifies"),
    ("Sepatu Lari Kestrel Trail Runner hitam", "Sepatu", "kestrel", Kind.TRADEMARK,
     "Sepatu Kestrel: Kestrel shoes, the brand after the noun"),
    ("Sepatu untuk pria Kestrel Trail", "Sepatu", "kestrel", Kind.TRADEMARK,
     "untuk pria is 'for men', not 'for a Kestrel product'"),
    ("Kabel Data USB-C Voltaris PowerLink Cable tiruan murah", "Aksesoris HP", "voltaris",
     Kind.TRADEMARK, "Kabel Data Voltaris is Voltaris's own cable: a part's noun before the "
     "brand names no other product in a head-first language"),
    ("Kabel Data USB-C untuk Voltaris PowerCell 20000", "Aksesoris HP", "voltaris",
     Kind.NOMINATIVE, "untuk (for) does"),
    ("อะแดปเตอร์ชาร์จเร็วโวลตาริส GaN Charger 65W", "อุปกรณ์เสริมมือถือ", "voltaris",
     Kind.TRADEMARK, "the registered Thai alias fused to the Thai product noun before it"),
    ("Sepatu lari model Kestrel", "Sepatu", "kestrel", Kind.TRADEMARK,
     "model (in the model of) before the mark: brand abuse"),
    ("Running shoes Kestrel bird print", "Shoes", "kestrel", Kind.GENERIC,
     "the same words in English: a dictionary-word mark that does not open the title"),
    # --- Korean ---
    ("휠라운동화 디스럽터2 정품", "Shoes", "fila", Kind.TRADEMARK,
     "the registered Korean form opening a compound written without a space"),
    ("정품 휠라의 신상 슬리퍼", "Shoes", "fila", Kind.TRADEMARK,
     "the registered Korean form with a particle (의, of)"),
    ("서울 삼성동 원룸 월세", "Real Estate", "galaxy", None,
     "삼성동 is a district of Seoul: one syllable after the form makes another word"),
    ("삼성 호환 고속 충전기 25W", "Chargers", "galaxy", Kind.NOMINATIVE,
     "호환 (compatible) after the brand"),
    # --- Japanese ---
    ("ナイキ エアマックス 90 スニーカー", "Shoes", "nike", Kind.TRADEMARK,
     "unregistered katakana spelling of NIKE"),
    ("ユニクロ ウルトラライトダウン ジャケット", "Clothing", "uniqlo", Kind.TRADEMARK,
     "the registered katakana alias"),
    ("アップルパイ 手作り", "Food", "apple", None,
     "APPLE is an English word: a katakana apple is an apple, not the mark"),
]


@pytest.mark.parametrize(("title", "category", "mark", "expected", "why"), TABLE)
def test_sea_listing(title, category, mark, expected, why):
    m = finding(title, category, mark)
    if expected is None:
        assert m is None, f"{why}: got {m}"
        return
    assert m is not None, why
    assert m.kind is expected, f"{why}: {m.kind} {[r.as_dict() for r in m.reasons]}"
    if expected is Kind.TRADEMARK:
        assert m.alertable and m.score >= 50, why


def test_thai_transliteration_has_its_own_reason():
    m = finding("รองเท้าไนกี้ ของแท้", "รองเท้า", "nike")
    assert m is not None and m.reasons[0].check == "transliteration"
    assert m.reasons[0].span == "ไนกี้"
    assert "naiki" in m.reasons[0].detail


def test_katakana_transliteration_reason():
    m = finding("アディダス ジャージ 上下", "Clothing", "adidas")
    assert m is not None and m.reasons[0].check == "transliteration"
    assert m.reasons[0].span == "アディダス"
    assert '"adeidasu"' in m.reasons[0].detail, "the reading of the listing's spelling, voiced"
    m = finding("ｱﾃﾞｨﾀﾞｽ ジャージ", "Clothing", "adidas")  # halfwidth katakana
    assert m is not None and '"adeidasu"' in m.reasons[0].detail


def test_registered_thai_alias_reason():
    m = finding("กระเป๋าชาแนลของแท้", "กระเป๋า", "chanel")
    assert m is not None and m.reasons[0].check == "alias"
    assert "Thai" in m.reasons[0].detail


def test_vietnamese_accents_kept_in_reasons():
    m = finding("Giày Nike hàng nhái loại 1", "Giày dép", "nike")
    assert m is not None
    cue = next(r for r in m.reasons if r.check == "cue_phrase")
    assert "hàng nhái" in cue.detail
    m = finding("Cà phê Trung Nguyên chính hãng", "Cà phê", "trung")
    assert m is not None and m.reasons[0].span == "Trung Nguyên"
    assert m.reasons[0].check == "exact", "the registered spelling is not a diacritic disguise"


def test_vietnamese_folding():
    assert fold("HÀNG NHÁI") == "hang nhai"
    assert fold("Đà Lạt") == "da lat"
    assert fold(fold("Đà Lạt")) == fold("Đà Lạt")


def test_thai_letters_survive_folding():
    # NFKC would split SARA AM into two characters, and สำหรับ would no longer be a word
    assert fold("สำหรับ") == "สำหรับ"
    assert fold("ก๊อป") == "ก๊อป"


def test_thai_word_breaks_know_registered_forms():
    assert words_of("รองเท้าชาแนลของแท้", frozenset({"ชาแนล"})) == [
        (0, "รองเท้า"), (7, "ชาแนล"), (12, "ของแท้")]
    # ช้อนส้อม (cutlery) is one word: ช้อน inside it is no word boundary
    assert word_breaks("ช้อนส้อม") == frozenset({0, 8})


def test_korean_alias_reason_and_span():
    m = finding("휠라운동화 디스럽터2", "Shoes", "fila")
    assert m is not None and m.reasons[0].check == "alias"
    assert "Korean" in m.reasons[0].detail and m.reasons[0].span == "휠라운동화"


def test_kana_breaks_by_script():
    assert words_of("ナイキの靴") == [(0, "ナイキ"), (3, "の"), (4, "靴")]


@pytest.mark.parametrize(("native", "latin", "script"), [
    ("ไนกี้", "NIKE", "th"), ("อาดิดาส", "ADIDAS", "th"), ("ชาแนล", "CHANEL", "th"),
    ("ซัมซุง", "SAMSUNG", "th"), ("โรเล็กซ์", "ROLEX", "th"), ("ไอโฟน", "IPHONE", "th"),
    ("ナイキ", "NIKE", "ja"), ("シャネル", "CHANEL", "ja"), ("ロレックス", "ROLEX", "ja"),
    ("サムスン", "SAMSUNG", "ja"),
])
def test_skeletons_agree(native, latin, script):
    native = fold(native)
    got = thai_skeleton(native) if script == "th" else kana_skeleton(native)
    assert got == latin_skeleton(latin, script)


def test_thai_romanisation_is_royin():
    assert thai_roman("ไนกี้") == "naiki"


def test_brand_abuse_reason_in_thai():
    m = finding("รองเท้า สไตล์ Kestrel", "รองเท้า", "kestrel")
    assert m is not None and any(r.check == "brand_abuse" and "สไตล์" in r.detail for r in m.reasons)


@pytest.mark.parametrize(("text", "cue"), [
    ("Sepatu Kestrel KW", "kw"), ("Tas KW super", "kw super"), ("Class A replica bag", "class a"),
    ("Sepatu KW super", "kw super"), ("tas replika", "replika"), ("barang tiruan", "barang tiruan"),
    ("hàng nhái giá rẻ", "hàng nhái"), ("hàng fake", "hàng fake"), ("super fake", "super fake"),
    ("rep 1:1", "rep 1:1"), ("งานก๊อป เกรดดี", "งานก๊อป"), ("ก๊อปปี้", "ก๊อปปี้"),
])
def test_cues_per_language(text, cue):
    assert cue in {c.phrase for c in cue_finder().find(fold(text))}


@pytest.mark.parametrize("text", ["Motor listrik 2 KW 220V", "Mesin genset 1.5 kw", "Hàng mới về",
                                  "รองเท้าของแท้"])
def test_no_cue(text):
    assert cue_finder().find(fold(text)) == []


def test_a_replica_part_is_a_copy_not_a_fit():
    # a cable named after a brand in an English title reads as a part that fits it ...
    plain = finding("USB-C Cable 2m Voltaris PowerLink Cable Gold", "Cables", "voltaris")
    assert plain is not None and plain.kind is Kind.NOMINATIVE
    # ... unless the listing calls it a copy: then it is a copy of the brand's own cable
    copy = finding("USB-C Cable 2m Voltaris PowerLink Cable class A Gold", "Cables", "voltaris")
    assert copy is not None and copy.kind is Kind.TRADEMARK and copy.alertable


# Thai and kana letters, their lone vowel and tone marks, invisible joiners and spaces
_SEA_CHARS = st.sampled_from([chr(c) for c in range(0x0E01, 0x0E5C)]
                             + [chr(c) for c in range(0x3041, 0x3100)]
                             + ["\u200b", "\u200d", "\ufeff", " ", "小", "米", "A", "1"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_SEA_CHARS, max_size=80).map("".join))
def test_any_thai_or_kana_text_is_matched_without_error(text):
    found = INDEX.match(ListingText("l", text, description=text * 10))
    for m in found:
        assert 0 <= m.score <= 100 and m.reasons


@pytest.mark.parametrize("text", ["\u0e48" * 8, "\u0e44" * 50, "\u0e4e" * 10, "ๆๆๆ ฯลฯ"])
def test_marks_without_letters_find_nothing(text):
    assert INDEX.match(ListingText("l", text)) == []
