"""The generator: deterministic, complete ground truth, the mix the matcher is measured on."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path
from statistics import median

import pytest

from fixtures.marketplaces import generate, load_labels, load_listings, watch_terms, write
from fixtures.marketplaces.disguises import INDEPENDENT_DISGUISES
from fixtures.marketplaces.generator import (
    CATEGORY_WEIGHTS,
    CLASSIC_SHOPS,
    DEMO_DIR,
    INFRINGING,
    LATIN_DISGUISES,
    shops,
)
from fixtures.marketplaces.shops import make_shop

SEED, COUNT = 20261124, 2400
EN_CATEGORIES = {
    "Shoes",
    "Shoes > Running",
    "Clothing",
    "Clothing > Jackets",
    "Sports & Outdoors",
    "Jewellery",
    "Watches",
    "Bags & Luggage",
    "Handbags",
    "Phone Accessories",
    "Electronics",
    "Chargers & Power Banks",
    "Beauty",
    "Skincare",
    "Toys",
    "Home & Garden",
    "Garden > Bird Feeders",
    "Kitchen",
    "Art & Posters",
    "Books",
    "Pet Supplies",
    "Automotive",
    "Stationery",
}
CN_CATEGORIES = {
    "鞋靴",
    "运动鞋",
    "服装",
    "户外运动",
    "珠宝首饰",
    "手表",
    "箱包",
    "手机配件",
    "数码电子",
    "充电器/充电宝",
    "美妆护肤",
    "护肤品",
    "玩具",
    "家居园艺",
    "厨房用品",
    "图书",
    "宠物用品",
}


@pytest.fixture(scope="module")
def cat():
    return generate(SEED, COUNT)


def _csv(name: str) -> list[dict[str, str]]:
    with (DEMO_DIR / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_same_seed_gives_byte_identical_files(tmp_path: Path, cat) -> None:
    write(cat, tmp_path / "one")
    write(generate(SEED, COUNT), tmp_path / "two")
    for name in ("listings.jsonl", "labels.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    write(generate(SEED + 1, COUNT), tmp_path / "three")
    assert (tmp_path / "three" / "listings.jsonl").read_bytes() != (
        tmp_path / "one" / "listings.jsonl"
    ).read_bytes()


def test_files_round_trip(tmp_path: Path, cat) -> None:
    write(cat, tmp_path)
    assert load_labels(tmp_path) == cat.labels
    assert load_listings(tmp_path / "listings.jsonl") == cat.listings


def test_count_and_one_label_per_listing(cat) -> None:
    assert len(cat.listings) == COUNT == len(cat.labels)
    keys = [(li.marketplace, li.listing_id) for li in cat.listings]
    assert len(set(keys)) == COUNT
    assert keys == [(lab.marketplace, lab.listing_id) for lab in cat.labels]


def test_mix_is_roughly_balanced_and_complete(cat) -> None:
    counts = Counter(lab.category for lab in cat.labels)
    assert set(counts) == {
        "authorised",
        "counterfeit_exact",
        "counterfeit_disguised",
        "product",
        "brand_abuse",
        "compatible",
        "compatible_fashion",
        "other_class",
        "unrelated",
    }
    share = sum(lab.infringing for lab in cat.labels) / COUNT
    assert 0.4 <= share <= 0.6
    for lab in cat.labels:
        assert lab.infringing == (lab.category in INFRINGING)
        assert (lab.disguise is not None) == (lab.category == "counterfeit_disguised")
        assert (lab.mark_registration is None) == (lab.category == "unrelated")


def test_every_disguise_appears(cat) -> None:
    by_shop = Counter((lab.marketplace, lab.disguise) for lab in cat.labels if lab.disguise)
    for code in ("shopa", "shopb", "shopc"):
        assert all(by_shop[(code, d)] for d in LATIN_DISGUISES), code
        assert all(by_shop[(code, d)] >= 5 for d in INDEPENDENT_DISGUISES), code
    for d in ("alias_cjk", "homophone_cjk", "romanised"):
        assert by_shop[("shopc", d)], d
        assert not by_shop[("shopa", d)] and not by_shop[("shopb", d)]


def test_independent_disguises_are_a_share_beside_the_checked_ones(cat) -> None:
    """The disguises drawn independently of the matcher are about a tenth of the listings, and
    the kinds the generator always made keep their shares."""
    kinds = Counter(
        "independent" if (lab.disguise or "").startswith("indep_") else lab.category
        for lab in cat.labels
    )
    slots = COUNT * 0.9  # the background share is made apart from the weights
    total = sum(CATEGORY_WEIGHTS.values())
    assert 0.07 <= kinds["independent"] / COUNT <= 0.12
    for cat_name in ("counterfeit_exact", "product", "brand_abuse", "other_class"):
        expected = slots * CATEGORY_WEIGHTS[cat_name] / total
        assert abs(kinds[cat_name] - expected) <= 0.1 * expected + 3, cat_name
    # every independent kind on every watched (mark, shop) with enough listings
    per_slot = Counter(
        (lab.marketplace, lab.mark_registration)
        for lab in cat.labels if (lab.disguise or "").startswith("indep_")
    )
    assert len(per_slot) == len({(w["marketplace"], w["mark_registration"])
                                 for w in _csv("watches.csv")
                                 if w["marketplace"] in CLASSIC_SHOPS})
    assert min(per_slot.values()) >= len(INDEPENDENT_DISGUISES)


def test_marks_only_where_watched(cat) -> None:
    watched = {(w["marketplace"], w["mark_registration"]) for w in _csv("watches.csv")}
    for lab in cat.labels:
        if lab.mark_registration:
            assert (lab.marketplace, lab.mark_registration) in watched


def test_compatible_depends_on_the_marks_classes(cat) -> None:
    fashion = {
        m["registration_number"]
        for m in _csv("marks.csv")
        if {"14", "18", "25"} & set(m["nice_classes"].split("|"))
    }
    for lab in cat.labels:
        if lab.category == "compatible_fashion":
            assert lab.mark_registration in fashion and lab.infringing
        if lab.category == "compatible":
            assert lab.mark_registration not in fashion and not lab.infringing


def test_authorised_listings_are_by_authorised_sellers(cat) -> None:
    holder = {w["mark_registration"]: w["rights_holder"] for w in _csv("watches.csv")}
    allowed = {(r["rights_holder"], r["marketplace"], r["seller"]) for r in _csv("sellers.csv")}
    labels = cat.labels_by_key()
    for li in cat.listings:
        lab = labels[(li.marketplace, li.listing_id)]
        ok = {
            (holder.get(lab.mark_registration), m, li.seller) for m in ("", li.marketplace)
        } & allowed
        assert bool(ok) == (lab.category == "authorised"), (li.seller, lab)


def test_fields_use_the_shop_vocabulary(cat) -> None:
    currency = {code: s.currency for code, s in shops().items()}
    for li in cat.listings:
        allowed = CN_CATEGORIES if li.marketplace == "shopc" else EN_CATEGORIES
        assert li.category in allowed
        assert li.currency == currency[li.marketplace]
        assert isinstance(li.price, Decimal) and li.price > 0
        assert li.condition in {"new", "used", "refurbished"}
        assert li.title and li.seller and li.images


def test_counterfeits_are_mostly_far_below_retail(cat) -> None:
    labels = cat.labels_by_key()
    for code in ("shopa", "shopb", "shopc"):
        for reg in watch_terms(code):
            rows = [
                (labels[(code, li.listing_id)].category, li.price)
                for li in cat.for_shop(code)
                if labels[(code, li.listing_id)].mark_registration == reg
            ]
            fakes = [p for c, p in rows if c == "counterfeit_exact"]
            real = [p for c, p in rows if c == "authorised"]
            if real:
                assert median(fakes) < Decimal("0.5") * median(real)


def test_every_infringing_listing_is_found_by_its_watch_terms(cat) -> None:
    for code in CLASSIC_SHOPS:
        shop = make_shop(shops()[code], cat.for_shop(code))
        found = set()
        for terms in watch_terms(code).values():
            for t in terms:
                # within the spiders' default 20 pages of results
                found |= {li.listing_id for li in shop.search(t)[: 20 * shop.page_size]}
        missing = [
            lab
            for lab in cat.labels
            if lab.marketplace == code and lab.infringing and lab.listing_id not in found
        ]
        assert not missing
        # and search noise: unrelated listings come up too
        assert any(
            lab.category == "unrelated"
            for lab in cat.labels
            if lab.marketplace == code and lab.listing_id in found
        )


def test_large_catalogues_are_quick() -> None:
    import time

    t = time.perf_counter()
    big = generate(SEED, 30_000)
    assert len(big.listings) == 30_000
    assert time.perf_counter() - t < 5
