"""One table of listings against the demo registry: what must alert, what must not, and why.

KESTREL (25, 28), KESTREL TRAIL (25), AURELIA / 奥蕾莉亚 (14, 18), VOLTARIS / 沃塔瑞斯 (9),
墨朗 / MOLANG / Mo Lang (3).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from matcher import Kind, ListingText

KESTREL, TRAIL, AURELIA, VOLTARIS, MOLANG = "018245771", "018245790", "UK00003512345", "40201912345Q", "41234567"

# (title, category, expected alertable mark_id or None, expected check or kind, reason)
TABLE = [
    # --- positives: the mark or a disguise of it, in the mark's classes ---
    ("KESTREL trail running shoes", "Shoes", KESTREL, "exact", "the mark itself"),
    ("K3STREL running shoes", "Shoes > Running", KESTREL, "leetspeak", "3 for E"),
    ("K E S T R E L waterproof boots", "Shoes", KESTREL, "separators", "spaced letters"),
    ("K.E.S.T.R.E.L hiking jacket", "Clothing > Jackets", KESTREL, "separators", "dotted letters"),
    ("KESTR\u0415L outdoor shoes", "Shoes", KESTREL, "confusable", "Cyrillic capital IE"),
    ("kestr\u0435l windbreaker", "Clothing", KESTREL, "confusable", "Cyrillic small ie"),
    ("ＫＥＳＴＲＥＬ sneakers", "Shoes", KESTREL, "compatibility", "fullwidth letters"),
    ("KES\u200bTREL sneakers", "Shoes", KESTREL, "invisible", "zero-width space inside the mark"),
    ("KES\u00adTREL sneakers", "Shoes", KESTREL, "invisible", "soft hyphen inside the mark"),
    ("Késtrél trail shoes", "Shoes", KESTREL, "diacritic", "accents added"),
    ("KESTRELL trail shoes", "Shoes", KESTREL, "typo", "doubled letter"),
    ("KESTERL running shoes", "Shoes", KESTREL, "typo", "transposition"),
    ("KestrelRunner sneakers men", "Shoes", KESTREL, "fused", "mark fused with a word"),
    ("Kestrel-style sneakers", "Shoes", KESTREL, "exact", "brand abuse: mark as a keyword"),
    ("laces for Kestrel trail shoes", "Shoes", KESTREL, "exact", "nominative use of a class 25 mark is not allowed"),
    ("VOLTAR1S 20000mAh power bank", "Chargers & Power Banks", VOLTARIS, "leetspeak", "1 for I"),
    ("V0LTARIS fast charger", "Electronics", VOLTARIS, "leetspeak", "0 for O"),
    ("沃塔瑞斯 充电宝 20000毫安", "充电器/充电宝", VOLTARIS, "alias", "registered Chinese alias"),
    ("沃塔瑞丝 充电宝", "充电器/充电宝", VOLTARIS, "homophone", "丝 reads si like 斯"),
    ("MOLANG 玉容精华液 正品", "美妆护肤", MOLANG, "exact", "romanised alias in a Chinese title"),
    ("墨郎精华液 补水", "护肤品", MOLANG, "homophone", "郎 reads lang like 朗"),
    ("Mo Lang jade serum", "Skincare", MOLANG, "exact", "registered romanised alias with a space"),
    ("Aurelia inspired pendant 1:1", "Jewellery", AURELIA, "exact", "mark with cue phrases"),
    ("奥蕾莉亚 项链 高仿", "珠宝首饰", AURELIA, "alias", "Chinese alias in unsegmented text"),
    ("Running shoes KT-2201 new season", "Shoes", KESTREL, "model_number", "model number without the mark"),
    ("VPC-20K power bank 20000mAh", "Electronics", VOLTARIS, "model_number", "model number without the mark"),
    ("KESTREL jacket", None, KESTREL, "exact", "unknown category: no class evidence either way"),
    ("AS-MINI top handle bag one size", "Handbags", AURELIA, "model_number", "letter-only model number"),
    ("Kestrel compatible insoles", "Shoes", KESTREL, "exact", "compatibility use of a class 25 mark"),
    # --- negatives: innocent uses and near misses ---
    ("kestrel bird feeder cedar wood", "Garden > Bird Feeders", None, Kind.OTHER_CLASS, "the bird, in another class"),
    ("Molang bunny plush toy", "Toys", None, Kind.OTHER_CLASS, "the cartoon rabbit, in another class"),
    ("Aurelia moon jellyfish art print", "Art & Posters", None, Kind.OTHER_CLASS, "the jellyfish genus, art print"),
    ("charger compatible with Voltaris PowerCell", "Phone Accessories", None, Kind.NOMINATIVE, "compatibility use"),
    ("replacement cable for Voltaris power bank", "Electronics", None, Kind.NOMINATIVE, "nominative use, class 9"),
    ("墨朗面霜适用 挖勺 分装盒", "美妆护肤", None, Kind.NOMINATIVE, "适用 after the mark: a scoop for it"),
    ("Voltaris compatible USB-C cable", "Electronics", None, Kind.NOMINATIVE, "compatible after the mark"),
    ("mini tote bag one size", "Handbags", None, None, "ordinary words of a product name"),
    ("eyes on you poster", "Art & Posters", None, None, "no mark at all"),
    ("Audio Return Channel HDMI cable", "Electronics", None, None, "words never fused across spaces"),
    ("trail running shoes for men", "Shoes", None, None, "generic words of KESTREL TRAIL alone"),
    ("kestrels of the world book", "Books", None, None, "plural dictionary word in another class"),
    ("volts and amperes multimeter", "Electronics", None, None, "shares letters with VOLTARIS only"),
]


@pytest.mark.parametrize(("title", "category", "mark_id", "expect", "why"), TABLE,
                         ids=[f"{i:02d}-{row[4]}" for i, row in enumerate(TABLE)])
def test_table(demo_index, title, category, mark_id, expect, why):
    listing = ListingText("l1", title, category=category, price=Decimal("99"), currency="EUR")
    matches = demo_index.match(listing)
    alertable = [m for m in matches if m.alertable]
    if mark_id is None:
        assert alertable == [], why
        if isinstance(expect, Kind):
            assert any(m.kind is expect for m in matches), why
        return
    hits = [m for m in alertable if m.mark_id == mark_id]
    assert hits, f"{why}: {matches}"
    checks = {r.check for m in hits for r in m.reasons}
    assert expect in checks, f"{why}: {checks}"
    for m in hits:
        assert 0 <= m.score <= 100
        assert m.reasons and all(r.check for r in m.reasons)
        assert m.reasons[0].span, "the main reason names the text it matched"


def test_authorised_seller_never_alerts(demo_index):
    listing = ListingText("l2", "Kestrel Trail Runner 2 KT-2201", seller="Kestrel Official Store",
                          marketplace="shopa", category="Shoes")
    matches = demo_index.match(listing)
    assert matches and all(m.kind is Kind.AUTHORISED for m in matches)


def test_authorised_on_other_marketplace_only_where_listed(demo_index):
    listing = ListingText("l3", "Kestrel Trail Runner 2", seller="SportHaus Berlin",
                          marketplace="shopb", category="Shoes")
    assert any(m.alertable for m in demo_index.match(listing))


def test_seller_for_all_marketplaces(demo_index):
    listing = ListingText("l4", "VOLTARIS PowerCell 20000", seller="voltaris  OFFICIAL",
                          marketplace="shopc", category="Electronics")
    assert all(m.kind is Kind.AUTHORISED for m in demo_index.match(listing))


def test_price_far_below_retail_raises_score(demo_index):
    cheap = ListingText("a", "Aurelia Lune Pendant", category="Jewellery", price=Decimal("20"), currency="GBP")
    full = ListingText("b", "Aurelia Lune Pendant", category="Jewellery", price=Decimal("480"), currency="GBP")
    s_cheap = max(m.score for m in demo_index.match(cheap) if m.mark_id == AURELIA and m.product_id is None)
    s_full = max(m.score for m in demo_index.match(full) if m.mark_id == AURELIA and m.product_id is None)
    assert s_cheap > s_full


def test_tiers_follow_config(demo_index):
    for m in demo_index.match(ListingText("c", "KESTREL shoes 1:1 replica", category="Shoes")):
        assert m.tier is demo_index.config.tier_for(m.score)
