"""The structured-data reader: value parsers and each kind of markup."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.extract import (
    StructuredDataError,
    currency_from_text,
    extract_product,
    inline_json,
    normalise_condition,
    parse_price,
)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("£1,234.50", Decimal("1234.50")),
        ("1234.5", Decimal("1234.5")),
        (12, Decimal("12")),
        ("¥ 298.00", Decimal("298.00")),
        ("1.234,50 €", Decimal("1234.50")),
        ("19,99", Decimal("19.99")),
        ("1,299", Decimal("1299")),
        ("Price unavailable", None),
        (None, None),
        ("", None),
        (True, None),
    ],
)
def test_parse_price(text, want) -> None:
    assert parse_price(text) == want


@given(st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False))
def test_parse_price_round_trips_plain_and_grouped_numbers(d: Decimal) -> None:
    assert parse_price(str(d)) == d
    assert parse_price(f"£{d:,}") == d


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("https://schema.org/NewCondition", "new"),
        ("http://schema.org/UsedCondition", "used"),
        ("RefurbishedCondition", "refurbished"),
        ("全新", "new"),
        ("二手", "used"),
        ("官方翻新", "refurbished"),
        ("mint-ish", None),
        (None, None),
    ],
)
def test_normalise_condition(value, want) -> None:
    assert normalise_condition(value) == want


def test_currency_from_text() -> None:
    assert currency_from_text("gbp") == "GBP"
    assert currency_from_text("¥") == "CNY"
    assert currency_from_text("$") == "USD"
    assert currency_from_text("dollars-ish") is None


def test_inline_json() -> None:
    page = '<script>var x = 1; window.__DATA__ = {"a": [1, "}"]};</script>'
    assert inline_json(page, "window.__DATA__") == {"a": [1, "}"]}
    assert inline_json("<p>none</p>", "window.__DATA__") is None
    with pytest.raises(StructuredDataError):
        inline_json('window.__DATA__ = {"a": ', "window.__DATA__")


def test_jsonld_graph_and_relative_urls() -> None:
    html = """<html><head><script type="application/ld+json">
    {"@context": "https://schema.org", "@graph": [
      {"@type": "BreadcrumbList"},
      {"@type": ["Product"], "name": " K\u0435strel ", "image": "/img/1.png", "brand": "Kestrel",
       "offers": [{"@type": "Offer", "price": 19.5, "priceCurrency": "eur",
                   "seller": {"@type": "Organization", "name": "Shop", "url": "/s/1"}}]}]}
    </script></head><body></body></html>"""
    p = extract_product(html, "http://shop.example/item/1")
    assert p is not None and p.title == "K\u0435strel"  # trimmed, Cyrillic kept
    assert p.price == Decimal("19.5") and p.currency == "EUR"
    assert p.images == ["http://shop.example/img/1.png"]
    assert p.seller == "Shop" and p.seller_url == "http://shop.example/s/1"
    assert p.brand == "Kestrel"


def test_invalid_jsonld_raises() -> None:
    html = '<script type="application/ld+json">{"@type": "Product", "name": </script>'
    with pytest.raises(StructuredDataError):
        extract_product(html, "http://x/", sources=("json-ld",))


def test_opengraph_fills_gaps_left_by_microdata() -> None:
    html = """<html><head>
    <meta property="og:title" content="OG title"><meta property="og:image" content="http://x/i.png">
    <meta property="product:price:amount" content="9.90">
    <meta property="product:price:currency" content="CNY"></head>
    <body><div itemscope itemtype="https://schema.org/Product"><span itemprop="name">MD title</span>
    </div></body></html>"""
    p = extract_product(html, "http://x/p", sources=("microdata", "opengraph"))
    assert p.title == "MD title" and p.price == Decimal("9.90") and p.currency == "CNY"
    assert p.images == ["http://x/i.png"]
    assert extract_product("<html><body>plain</body></html>", "http://x/") is None


def test_prices_in_whole_unit_currencies() -> None:
    from crawler.extract import parse_price

    assert parse_price("Rp 1.250.000") == Decimal("1250000")
    assert parse_price("Rp 125.000", whole_units=True) == Decimal("125000")
    assert parse_price("Rp 125.000") == Decimal("125.000")  # without the hint: a decimal point
    assert parse_price("Rp 125.000,50", whole_units=True) == Decimal("125000.50")
    assert parse_price("¥1,280", whole_units=True) == Decimal("1280")
