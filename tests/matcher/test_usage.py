"""How a mark is used: referential (compatibility, parts, lists of devices), an ordinary word,
the listing's own brand. One table of titles written the way marketplaces write them."""

from __future__ import annotations

import pytest

from matcher import Kind, ListingText, MarkRecord, build_index

MARKS = [
    MarkRecord("samsung", "SAMSUNG", owner_id="o1", nice_classes=frozenset({9})),
    MarkRecord("apple", "APPLE", owner_id="o2", nice_classes=frozenset({9, 14, 42})),
    MarkRecord("honda", "HONDA", owner_id="o3", nice_classes=frozenset({12})),
    MarkRecord("hp", "HP", owner_id="o4", nice_classes=frozenset({9})),
    MarkRecord("polo", "POLO", owner_id="o5", nice_classes=frozenset({25})),
    MarkRecord("orange", "ORANGE", owner_id="o6", nice_classes=frozenset({9, 25})),
    MarkRecord("noise", "NOISE", owner_id="o7", nice_classes=frozenset({9, 14})),
    MarkRecord("kestrel", "KESTREL", owner_id="o8", nice_classes=frozenset({25, 28})),
    MarkRecord("voltaris", "VOLTARIS", owner_id="o9", nice_classes=frozenset({9})),
    MarkRecord("nikon", "NIKON", owner_id="o10", nice_classes=frozenset({9})),
]
INDEX = build_index(MARKS)

# (title, category, mark, expected kind of the mark's finding (None: no finding), why)
TABLE = [
    # referential: the brand names the product an accessory fits
    ("Back Cover for Samsung Galaxy S21 Ultra", "Mobiles & Accessories > Cases & Covers", "samsung",
     Kind.NOMINATIVE, "'for' right before the brand"),
    ("Holder Stand for Tablet, iPad, Samsung, Lenovo and other devices", "Stands & Holders",
     "samsung", Kind.NOMINATIVE, "the brand in a list of devices after 'for'"),
    ("Compatible Samsung LED TV Remote Control", "Remote Controls", "samsung", Kind.NOMINATIVE,
     "'compatible' before the brand"),
    ("Lapcare HP Pavilion 15-ab032TX Compatible 6 Cell Laptop Battery", "Laptop Accessories",
     "hp", Kind.NOMINATIVE, "'compatible' after the brand and its model"),
    ("Autofurnish Car Mat Honda Amaze", "Automotive > Car Accessories", "honda", Kind.NOMINATIVE,
     "a car mat right before the car's brand"),
    ("Gripwell Seat Cover For Honda City 2017", "Car Accessories", "honda", Kind.NOMINATIVE,
     "'for' before the brand and its model"),
    ("boAt Lightning Cable Apple MFi Certified for iPhone", "Cables & Connectors", "apple",
     Kind.NOMINATIVE, "another brand first; 'certified' after the brand"),
    ("Camera Strap compatible with Canon, Nikon, Sony DSLR", "Camera Accessories", "nikon",
     Kind.NOMINATIVE, "the brand in a list after 'compatible with'"),
    # ... but not for fashion goods of a fashion mark
    ("Replacement laces for Kestrel trail shoes", "Shoes", "kestrel", Kind.TRADEMARK,
     "referential use of a class 25 mark on class 25 goods is not allowed"),
    # the listing's own brand
    ("Samsung Galaxy S21 Ultra 5G (Phantom Black, 128 GB)", "Mobiles & Accessories > Mobile Phones",
     "samsung", Kind.TRADEMARK, "the brand opens the title"),
    ("Voltaris 20000mAh Power Bank compatible with iPhone and Samsung", "Power Banks", "voltaris",
     Kind.TRADEMARK, "the brand's own goods, compatible with others"),
    ("Genuine Voltaris Fast Charger 65W", "Chargers", "voltaris", Kind.TRADEMARK,
     "marketing words before the brand"),
    # dictionary-word marks used as words
    ("Komfy Men's Solid Polo Neck T-Shirt", "Clothing > Men > Topwear", "polo", Kind.GENERIC,
     "a kind of collar"),
    ("Orange Colour Cotton Kurti for Women", "Clothing > Women", "orange", Kind.GENERIC,
     "a colour, although it opens the title"),
    ("ZX Wireless Headphones with Active Noise Cancelling", "Headphones & Earphones", "noise",
     Kind.GENERIC, "noise cancelling"),
    ("Noise ColorFit Pro 4 Smart Watch", "Smart Watches", "noise", Kind.TRADEMARK,
     "the brand opens the title"),
    ("Kestrel Bird Feeder Hanging Seed Feeder", "Garden > Bird Feeders", "kestrel", Kind.OTHER_CLASS,
     "the bird, in another class"),
    # brand abuse
    ("Trail Running Shoes Kestrel Style", "Shoes", "kestrel", Kind.TRADEMARK,
     "the mark as a keyword: 'style'"),
]


@pytest.mark.parametrize(("title", "category", "mark", "kind", "why"), TABLE,
                         ids=[f"{i:02d}-{row[4]}" for i, row in enumerate(TABLE)])
def test_usage(title, category, mark, kind, why):
    matches = [m for m in INDEX.match(ListingText("l", title, category=category)) if m.mark_id == mark]
    got = matches[0].kind if matches else None
    assert got == kind, (why, matches)


def test_referential_reason_names_the_words():
    m = INDEX.match(ListingText("l", "Flip Cover for Samsung Galaxy Tab A7",
                                category="Tablet Accessories"))[0]
    assert m.kind is Kind.NOMINATIVE
    nominative = next(r for r in m.reasons if r.check == "nominative")
    assert nominative.span == "cover for"  # the longest phrase in the list


def test_fashion_referential_names_the_rule():
    m = next(m for m in INDEX.match(ListingText("l", "Laces for Kestrel running shoes", category="Shoes"))
             if m.mark_id == "kestrel")
    assert m.alertable
    assert "nominative_forbidden" in {r.check for r in m.reasons}
