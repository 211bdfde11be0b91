"""Price evidence: the product's retail price stands behind the mark it is sold as, and an
accessory's price says nothing of the product it fits."""

from __future__ import annotations

from decimal import Decimal

from matcher import ListingText, build_index
from tests.matcher.conftest import demo_marks, demo_products, demo_sellers

KESTREL, KESTREL_TRAIL = "018245771", "018245790"  # one holder's two marks; products under the first


def _findings(title: str, price: str = "24", currency: str = "CNY"):
    index = build_index(demo_marks(), demo_products(), demo_sellers())
    return index.match(ListingText(listing_id="x", title=title, price=Decimal(price),
                                   currency=currency), alertable_only=True)


def test_the_holders_second_mark_carries_the_price_of_the_product_named_with_it() -> None:
    found = {m.mark_id: m for m in _findings("KESTREL TRAIL trail running shoes replica")}
    assert KESTREL_TRAIL in found
    prices = [r.detail for r in found[KESTREL_TRAIL].reasons if r.check == "price"]
    assert prices and "of retail" in prices[0], found[KESTREL_TRAIL].reasons


def test_an_accessory_that_fits_the_product_gets_no_price_evidence() -> None:
    assert _findings("适配 KT2201 鞋垫 透气 减震") == []


def test_a_mark_with_no_product_named_with_it_has_no_price() -> None:
    index = build_index(demo_marks(), demo_products(), demo_sellers())
    priced = {index.marks[i].mark_id for i in range(len(index.marks))
              if index.retail_usd(i) is not None}
    assert KESTREL in priced and KESTREL_TRAIL in priced
    owner = {m.mark_id: m.owner_id for m in index.marks}
    with_products = {p.mark_id for p in demo_products()}
    for i, m in enumerate(index.marks):
        if m.mark_id not in with_products:
            named = any(owner[p.mark_id] == m.owner_id
                        and f" {m.mark.lower()} " in f" {p.name.lower()} " for p in demo_products())
            assert (index.retail_usd(i) is not None) == named, m.mark
