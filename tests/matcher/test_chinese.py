"""Chinese names of a mark: word boundaries for short aliases, traditional characters, short
forms of a long alias."""

from __future__ import annotations

import pytest

from matcher import ListingText, MarkRecord, build_index
from matcher.normalise import fold

MARKS = [
    MarkRecord("xiaomi", "XIAOMI", owner_id="x", aliases=("小米",), nice_classes=frozenset({9})),
    MarkRecord("huawei", "HUAWEI", owner_id="h", aliases=("华为",), nice_classes=frozenset({9})),
    MarkRecord("voltaris", "VOLTARIS", owner_id="v", aliases=("沃塔瑞斯",), nice_classes=frozenset({9})),
]
INDEX = build_index(MARKS)


def alerted(title: str, category: str) -> set[str]:
    return {m.mark_id for m in INDEX.match(ListingText("l", title, category=category)) if m.alertable}


@pytest.mark.parametrize(("title", "category", "expected", "why"), [
    ("小米手机 全新 正品", "手机配件", {"xiaomi"}, "the alias as a word of its own"),
    ("有机小米粥 500克", "数码电子", set(), "小米 inside 小米粥 (millet porridge)"),
    ("華為 充電器 快充", "充电器", {"huawei"}, "traditional characters fold to the alias"),
    ("沃塔 充电宝 20000毫安", "充电宝", {"voltaris"}, "the first two characters of a long alias"),
])
def test_chinese(title, category, expected, why):
    assert alerted(title, category) == expected, why


def test_short_form_reason():
    m = next(m for m in INDEX.match(ListingText("l", "沃塔 充电宝", category="充电宝")) if m.alertable)
    assert m.reasons[0].check == "short_form"


def test_traditional_folding_is_idempotent():
    assert fold("華為手機") == fold(fold("華為手機")) == "华为手机"
