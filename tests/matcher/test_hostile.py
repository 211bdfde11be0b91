"""Hostile input: huge, invisible, bidirectional, broken. Must finish and return sane results."""

from __future__ import annotations

from matcher import ListingText, Match


def _sane(matches):
    assert isinstance(matches, list)
    for m in matches:
        assert isinstance(m, Match)
        assert 0 <= m.score <= 100


def test_ten_megabyte_title(demo_index):
    title = ("KESTREL " + "x" * 1000 + " ") * 10_000
    assert len(title) > 10_000_000
    matches = demo_index.match(ListingText("big", title, description=title, category="Shoes"))
    _sane(matches)
    assert any(m.mark_id == "018245771" for m in matches)  # the start of the text is still read


def test_hundred_thousand_combining_marks(demo_index):
    title = "KESTREL" + "\u0301" * 100_000 + " shoes"
    _sane(demo_index.match(ListingText("comb", title, category="Shoes")))
    title = "K" + "\u0308" * 50_000 + "ESTREL"
    _sane(demo_index.match(ListingText("comb2", title, category="Shoes")))


def test_right_to_left_override(demo_index):
    matches = demo_index.match(ListingText("rlo", "\u202eLERTSEK\u202c KES\u202eTREL shoes", category="Shoes"))
    _sane(matches)
    assert any(m.mark_id == "018245771" for m in matches)  # bidi controls are invisible


def test_lone_surrogates_and_nul(demo_index):
    title = "KES\ud800TREL \udfff shoes\x00KESTREL\x00"
    matches = demo_index.match(ListingText("sur", title, description="\x00" * 1000, category="Shoes"))
    _sane(matches)
    assert any(m.mark_id == "018245771" for m in matches)


def test_only_invisible_and_empty(demo_index):
    for title in ("", "\u200b" * 10_000, "\ufeff\u00ad\u2060", " " * 100_000, "\x00" * 1000):
        _sane(demo_index.match(ListingText("inv", title)))


def test_many_single_letters_and_long_han_run(demo_index):
    _sane(demo_index.match(ListingText("letters", "a " * 200_000)))
    _sane(demo_index.match(ListingText("han", "墨" * 200_000 + "朗")))
    _sane(demo_index.match(ListingText("long", "k" * 1_000_000)))
