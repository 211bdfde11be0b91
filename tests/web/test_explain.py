"""Every check the matcher can name reads in plain words, and the glossary file is well formed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from matcher.calibration import CHECK_FAMILY, REASON_OF
from matcher.scoring import DISGUISES
from web.explain import (
    TEMPLATES,
    GlossaryError,
    explain,
    glossary,
    glossary_for,
    load_glossary,
)

REPO = Path(__file__).resolve().parents[2]


def _checks_in_matcher() -> set[str]:
    """Every check name the matcher writes into a Reason, read from its source."""
    names: set[str] = set(CHECK_FAMILY) | set(REASON_OF.values()) | set(DISGUISES) | {"typo", "fused"}
    for path in (REPO / "matcher").glob("*.py"):
        names |= set(re.findall(r'Reason\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    return names


def test_every_check_of_the_matcher_has_a_template():
    missing = sorted(_checks_in_matcher() - set(TEMPLATES))
    assert not missing, f"checks without a plain-language template: {missing}"


@pytest.mark.parametrize("check", sorted(TEMPLATES))
def test_each_template_names_the_matched_text(check):
    e = explain({"check": check, "detail": "d", "span": "K3STREL", "points": 5})
    assert e.heading and e.sentence.endswith((".", ").", "\u201d."))
    if "{span}" in TEMPLATES[check][1]:
        assert "\u201cK3STREL\u201d" in e.sentence
    # without a span the sentence still reads
    assert "{" not in explain({"check": check}).sentence


def test_odd_reasons_do_not_break_the_page():
    assert explain({}).heading == "Unknown"
    assert explain({"check": "x", "span": "<b>" * 100, "points": "7"}).points is None
    assert len(explain({"check": "exact", "span": "a" * 5000}).sentence) < 400


def test_the_glossary_file_loads_and_finds_the_longest_phrase_once():
    terms = glossary()
    assert len(terms) >= 40 and len({t.phrase for t in terms}) == len(terms)
    found = [t.phrase for t in glossary_for("KESTREL 顶级复刻 鞋 高仿", None)]
    assert found == ["高仿", "顶级复刻"]
    # Latin phrases are words: "rep"-like entries do not fire inside other words
    assert [t.phrase for t in glossary_for("the oem part", "aaa")] == ["aaa", "oem"]
    assert glossary_for("boatman", "doemstic") == []


def test_a_malformed_glossary_line_names_the_file_and_line(tmp_path):
    bad = tmp_path / "words.tsv"
    bad.write_text("# a comment\n高仿\tzh\thigh-grade imitation\n复刻 zh replica\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"words\.tsv line 3: expected phrase"):
        load_glossary(bad)
