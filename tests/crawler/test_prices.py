"""Prices read by each currency's local number format (crawler/prices.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.prices import PriceError, currency_in, parse_money
from fixtures.marketplaces.sea import display_price


@pytest.mark.parametrize(("text", "currency", "amount", "code"), [
    ("Rp 1.250.000", None, "1250000", "IDR"),
    ("Rp1.250.000", None, "1250000", "IDR"),
    ("IDR 1.250.000", None, "1250000", "IDR"),
    ("1.290.000₫", None, "1290000", "VND"),
    ("1.290.000 đ", None, "1290000", "VND"),
    ("1.290.000 VNĐ", None, "1290000", "VND"),
    ("฿1,290", None, "1290", "THB"),
    ("1,290 บาท", None, "1290", "THB"),
    ("฿ 1,290.50", None, "1290.50", "THB"),
    ("RM 89.90", None, "89.90", "MYR"),
    ("RM 1,089.90", None, "1089.90", "MYR"),
    ("₱1,299.00", None, "1299.00", "PHP"),
    ("PHP 1,299", None, "1299", "PHP"),
    ("S$ 59.90", None, "59.90", "SGD"),
    ("1.250.000", "IDR", "1250000", "IDR"),
    ("89,90", "EUR", "89.90", "EUR"),
    ("1.290.000\u00a0₫", None, "1290000", "VND"),
    ("5", "THB", "5", "THB"),
])
def test_reads_each_format(text, currency, amount, code) -> None:
    assert parse_money(text, currency) == (Decimal(amount), code)


@pytest.mark.parametrize(("text", "currency", "why"), [
    ("Rp 1,250,000", None, "not written as a IDR price"),  # separators the wrong way round
    ("฿1,29", None, "not written as a THB price"),
    ("1.25.000", "IDR", "not written as a IDR price"),
    ("RM 89.90", "IDR", "is in MYR, expected IDR"),
    ("1.250.000", None, "no currency"),
    ("Rp", None, "no number"),
    ("Rp 100.000 - Rp 200.000", None, "more than one number"),
    ("12 XTS", "XTS", "no number format"),
    ("Rp " + "1" * 300, None, "not a price text"),
])
def test_refuses_what_it_cannot_read(text, currency, why) -> None:
    with pytest.raises(PriceError, match=why):
        parse_money(text, currency)


def test_not_a_string() -> None:
    with pytest.raises(PriceError):
        parse_money(1250000)  # type: ignore[arg-type]


def test_currency_in() -> None:
    assert currency_in("Rp 5.000") == "IDR"
    assert currency_in("US$ 5") == "USD"
    assert currency_in("5") is None


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
       st.sampled_from(["THB", "MYR", "PHP"]))
def test_shown_prices_read_back_with_cents(amount, currency) -> None:
    shown = display_price(amount, currency)
    assert parse_money(shown) == (amount, currency)


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["IDR", "VND"]))
def test_shown_prices_read_back_in_thousands(amount, currency) -> None:
    shown = display_price(Decimal(amount), currency)
    assert parse_money(shown) == (Decimal(amount), currency)
