"""Context the matcher reads besides the text: categories, purity of the package, the eval gate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from matcher.scoring import listing_classes

MARKETPLACE_CATEGORIES = [
    "Shoes", "Shoes > Running", "Clothing", "Clothing > Jackets", "Sports & Outdoors", "Jewellery",
    "Watches", "Bags & Luggage", "Handbags", "Phone Accessories", "Electronics", "Chargers & Power Banks",
    "Beauty", "Skincare", "Toys", "Home & Garden", "Garden > Bird Feeders", "Kitchen", "Art & Posters",
    "Books", "Pet Supplies", "Automotive", "Stationery",
    "鞋靴", "运动鞋", "服装", "户外运动", "珠宝首饰", "手表", "箱包", "手机配件", "数码电子", "充电器/充电宝",
    "美妆护肤", "护肤品", "玩具", "家居园艺", "厨房用品", "图书", "宠物用品",
]


@pytest.mark.parametrize("category", MARKETPLACE_CATEGORIES)
def test_marketplace_categories_have_classes(category):
    assert listing_classes(category), category
    assert listing_classes(category.upper()) == listing_classes(category)


@pytest.mark.parametrize(("category", "expected"), [
    ("Shoes > Running", {25}), ("SHOES > trail", {25}), ("Garden > Bird Feeders", {21}),
    ("Watches", {14}), ("Phone Accessories", {9}), ("充电器/充电宝", {9}), ("Toys", {28}),
])
def test_class_values(category, expected):
    assert listing_classes(category) == frozenset(expected)


@pytest.mark.parametrize("category", [None, "", "Misc", "Everything Else > Other"])
def test_unknown_category_is_no_evidence(category):
    assert listing_classes(category) is None


def test_matcher_imports_no_infrastructure():
    code = ("import sys, matcher; i = matcher.build_index([matcher.MarkRecord('m', 'KESTREL')]); "
            "i.match(matcher.ListingText('l', 'KESTREL replica 1:1')); "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('db', 'tasks', 'crawler', 'web', 'scrapy', 'celery', 'sqlalchemy')]; print(bad)")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def test_evaluation_meets_targets():
    import io

    from matcher.evaluate import evaluate

    result = evaluate(out=io.StringIO())
    assert result["precision"] >= 0.95
    assert result["recall"] >= 0.90
    assert result["nominative_rate"] <= 0.02
