"""Prices as shops show them, read by each currency's local number format.

``Rp 1.250.000`` (Indonesia) and ``RM 1,250.00`` (Malaysia) use the separators the other way
round, so a price can only be read once its currency is known. The separators come from the
Unicode CLDR data shipped with Babel (``babel.numbers.parse_decimal`` in strict mode, which also
refuses misplaced group separators such as ``1.25.000``); this module only finds the currency and
the number in the text.

    parse_money("Rp 1.250.000")        # Money(Decimal("1250000"), "IDR")
    parse_money("1.290.000₫")          # Money(Decimal("1290000"), "VND")
    parse_money("฿1,290")              # Money(Decimal("1290"), "THB")
    parse_money("RM 89.90")            # Money(Decimal("89.90"), "MYR")
    parse_money("₱1,299.00")           # Money(Decimal("1299.00"), "PHP")
    parse_money("1.250.000", "IDR")    # the currency may come from elsewhere on the page
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

from babel.numbers import NumberFormatError, parse_decimal

# the locale whose number format a currency's prices are written in
LOCALE_OF = {
    "IDR": "id_ID",
    "VND": "vi_VN",
    "THB": "th_TH",
    "MYR": "ms_MY",
    "PHP": "fil_PH",
    "SGD": "en_SG",
    "USD": "en_US",
    "GBP": "en_GB",
    "EUR": "de_DE",
    "CNY": "zh_CN",
    "JPY": "ja_JP",
}
# signs and local abbreviations, longest first where one contains another
_SIGNS = (
    ("Rp", "IDR"), ("RM", "MYR"), ("US$", "USD"), ("S$", "SGD"), ("₫", "VND"), ("đ", "VND"),
    ("VNĐ", "VND"), ("฿", "THB"), ("บาท", "THB"), ("₱", "PHP"), ("£", "GBP"), ("€", "EUR"),
    ("¥", "CNY"), ("￥", "CNY"), ("元", "CNY"), ("$", "USD"),
)
_CODE = re.compile(r"\b(IDR|VND|THB|MYR|PHP|SGD|USD|GBP|EUR|CNY|JPY)\b")
_NUMBER = re.compile(r"\d[\d.,\s\u00a0\u202f]*\d|\d")


class Money(NamedTuple):
    amount: Decimal
    currency: str


class PriceError(ValueError):
    """A price text that cannot be read: no number, no currency, or separators that do not fit
    the currency's format."""


def currency_in(text: str) -> str | None:
    """The ISO 4217 code a price text names by code or sign, if any."""
    m = _CODE.search(text.upper())
    if m:
        return m.group(1)
    for sign, code in _SIGNS:
        if sign in text:
            return code
    return None


def parse_money(text: str, currency: str | None = None) -> Money:
    """Read ``text``; ``currency`` (ISO 4217) is used when the text names none, and must agree
    with it when it does. Raises :class:`PriceError`."""
    if not isinstance(text, str) or len(text) > 200:
        raise PriceError("not a price text")
    named = currency_in(text)
    cur = (currency or "").upper() or named
    if named and currency and named != cur:
        raise PriceError(f"{text!r} is in {named}, expected {cur}")
    if not cur:
        raise PriceError(f"no currency in {text!r}")
    locale = LOCALE_OF.get(cur)
    if locale is None:
        raise PriceError(f"no number format known for {cur}")
    numbers = _NUMBER.findall(text)
    if len(numbers) != 1:
        raise PriceError(f"{'no' if not numbers else 'more than one'} number in {text!r}")
    digits = re.sub(r"[\s\u00a0\u202f]", "", numbers[0])
    try:
        amount = parse_decimal(digits, locale=locale, strict=True)
    except NumberFormatError as exc:
        raise PriceError(f"{text!r} is not written as a {cur} price: {exc}") from None
    if not amount.is_finite() or amount < 0:
        raise PriceError(f"{text!r} is not a price")
    return Money(amount, cur)
