"""Property tests: the normaliser is idempotent, an exact mark always matches, and the fast
path (hash tables, deletion neighbourhoods) agrees with a slow brute-force reference."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import ListingText, MarkRecord, build_index
from matcher.normalise import fold, loose
from matcher.reference import fast_word_checks, reference_word_checks

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LETTERS = "abcdefghiklmnoprstuvwy"
words = st.text(alphabet=LETTERS, min_size=4, max_size=12)


@FAST
@given(st.text(max_size=60))
def test_fold_is_idempotent(text):
    once = fold(text)
    assert fold(once) == once


@FAST
@given(st.text(max_size=60))
def test_loose_is_idempotent(text):
    once = loose(fold(text))
    assert loose(once) == once


MARK_WORDS = ["kestrel", "voltaris", "aurelia", "gucci", "adidas", "samsung", "vuitton", "rolex",
              "swatch", "chanel", "prada", "hermes", "seiko", "nike", "sony", "clarks", "marmot",
              "kestrel trail", "louis vuitton", "trimaxion", "quorvela", "brindlewood"]
INDEX = build_index([MarkRecord(f"m{i}", w.upper(), nice_classes=frozenset({25}))
                     for i, w in enumerate(MARK_WORDS)])


@st.composite
def near_words(draw):
    """A registered word with a few random edits (insert, delete, substitute, swap, double)."""
    word = draw(st.sampled_from([w for w in MARK_WORDS if " " not in w]))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["ins", "del", "sub", "swap", "dbl", "leet"]))
        i = draw(st.integers(0, max(0, len(word) - 1)))
        ch = draw(st.sampled_from(LETTERS + "013457$"))
        if op == "ins":
            word = word[:i] + ch + word[i:]
        elif op == "del" and len(word) > 1:
            word = word[:i] + word[i + 1 :]
        elif op == "sub":
            word = word[:i] + ch + word[i + 1 :]
        elif op == "swap" and i + 1 < len(word):
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif op == "dbl":
            word = word[:i] + word[i] + word[i:]
        elif op == "leet":
            word = word.replace(draw(st.sampled_from("aeiost")), draw(st.sampled_from("4310$7")))
    return word


@FAST
@given(st.one_of(near_words(), words))
def test_fast_path_agrees_with_reference(word):
    word = fold(word)
    if not word.replace("$", "").isalnum():
        return
    assert fast_word_checks(INDEX, word) == reference_word_checks(INDEX, word)


@FAST
@given(words, st.lists(st.sampled_from(["shoes", "new", "black", "size", "42", "men", "sale"]),
                       max_size=6), st.integers(0, 6))
def test_exact_mark_always_matches(mark, context, pos):
    index = build_index([MarkRecord("x", mark.upper(), nice_classes=frozenset({25}))])
    pos = min(pos, len(context))
    title = " ".join([*context[:pos], mark.title(), *context[pos:]])
    matches = index.match(ListingText("l", title))
    assert any(m.mark_id == "x" for m in matches), title


@FAST
@given(st.text(alphabet=string.ascii_letters + string.digits + " -.", max_size=40))
def test_scores_and_tiers_are_sane(title):
    for m in INDEX.match(ListingText("l", title, category="Shoes")):
        assert 0 <= m.score <= 100
        assert m.tier is INDEX.config.tier_for(m.score)
        assert m.score >= INDEX.config.low


CATEGORIES = st.sampled_from([None, "Shoes", "Books", "Phone Accessories", "Toys", "Kitchen"])
TITLE_WORDS = st.sampled_from(["kestrel", "K3STREL", "case", "for", "compatible", "replica", "new",
                               "shoes", "polo", "neck", "louis", "vuitton", "gucci", "bag", "style",
                               "seiko", "watch", "2024", "-", "k e s t r e l", "sony", "with"])


@FAST
@given(st.lists(TITLE_WORDS, min_size=1, max_size=10), CATEGORIES)
def test_alertable_only_is_the_alertable_part(words, category):
    listing = ListingText("l", " ".join(words), category=category)
    full = [m for m in INDEX.match(listing) if m.alertable]
    assert INDEX.match(listing, alertable_only=True) == full
