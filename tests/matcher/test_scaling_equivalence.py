"""The matcher's faster look-ups find what the plain scans they replaced found.

A registry is generated with many marks sharing words (so one listing word anchors dozens of
marks) and listings are built from those words with look-alike swaps; each faster path is
compared, hit for hit and in the same order, with the one-by-one scan it replaced, written out
here as it was."""

from __future__ import annotations

import itertools
import random

import jellyfish
from rapidfuzz import fuzz

from matcher import MarkRecord, build_index
from matcher.candidates import tokens
from matcher.forms import Hit, get
from matcher.index import MarkIndex, deletes, typo_distance
from matcher.normalise import fold, fuzzy_key, loose
from matcher.substitution import MAX_ANCHOR_MARKS

SYLLABLES = ["ka", "ro", "mi", "tel", "van", "dor", "sil", "qua", "pen", "lux", "bra", "ve", "no",
             "cla", "ri", "sto", "fen", "gal", "mo", "ter"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def _swap(rng: random.Random, word: str) -> str:
    """A look-alike (or not) of a word: a letter changed, dropped, doubled, or another word."""
    r = rng.random()
    i = rng.randrange(len(word))
    if r < 0.25:
        return word[:i] + rng.choice("aeiouklmrst") + word[i + 1 :]
    if r < 0.5:
        return word[:i] + word[i + 1 :] or word
    if r < 0.7:
        return word[:i] + word[i] + word[i:]
    return _word(rng)


def _registry(seed: int = 3) -> list[MarkRecord]:
    rng = random.Random(seed)
    shared = [_word(rng) for _ in range(12)]  # each stands in dozens of marks
    marks, seen = [], set()
    while len(marks) < 1500:
        n = rng.choice((2, 2, 2, 3, 4))
        words = [rng.choice(shared) if rng.random() < 0.5 else _word(rng) for _ in range(n)]
        name = " ".join(words).upper()
        if name in seen:
            continue
        seen.add(name)
        marks.append(MarkRecord(f"m{len(marks)}", name, owner_id=f"o{len(marks) % 50}"))
    return marks


def _titles(marks: list[MarkRecord], n: int = 1500, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = fold(rng.choice(marks).mark).split()
        words = [_swap(rng, w) if rng.random() < 0.5 else w for w in words]
        other = fold(rng.choice(marks).mark).split()
        glue = rng.choice([" ", " ", "  ", " - ", ", "])
        out.append(glue.join([*words, *rng.sample(other, k=min(len(other), 2))]))
    return out


def scan_substitutions(index: MarkIndex, folded: str) -> list[Hit]:
    """The one-by-one scan that ``SubstitutionTable.hits`` replaced: every form an anchor word
    stands in, compared on its own."""
    toks = tokens(folded)
    ltoks = [t.text if t.run else loose(t.text) for t in toks]
    by_word = index._substitutions.by_word
    out: list[Hit] = []
    done: set[tuple[int, int]] = set()
    for i, t in enumerate(toks):
        if t.run:
            continue
        entry = get(by_word, ltoks[i])
        if len(entry) > MAX_ANCHOR_MARKS:
            continue
        for vid, pos in entry:
            start = i - pos
            v = index.variants[vid]
            n = len(v.words)
            if start < 0 or start + n > len(toks) or (vid, start) in done:
                continue
            done.add((vid, start))
            diff = [j for j in range(n) if ltoks[start + j] != v.loose_words[j]]
            if len(diff) != 1:
                continue
            window = toks[start : start + n]
            if any(w.run for w in window) or any(
                    len(folded[a.end : b.start]) > 3 or any(ch.isalnum() for ch in folded[a.end : b.start])
                    for a, b in itertools.pairwise(window)):
                continue
            j = diff[0]
            got, want = window[j].text, v.words[j]
            if fuzz.ratio(got, want) >= 60 or (got.isalpha() and want.isalpha()
                                               and jellyfish.metaphone(got) == jellyfish.metaphone(want)):
                out.append(Hit(vid, "word_substitution", window[0].start, window[-1].end, 66,
                               f'"{v.text}" with "{want}" swapped for "{got}"'))
    return out


def test_substitution_table_finds_what_the_scan_found():
    marks = _registry()
    index = build_index(marks)
    table = index._substitutions
    assert max(len(get(table.by_word, w)) for w in table.by_word) > 20  # words shared by many marks
    found = 0
    for title in _titles(marks):
        folded = fold(title)
        toks = tokens(folded)
        ltoks = [t.text if t.run else loose(t.text) for t in toks]
        fast = table.hits(index.variants, toks, folded, ltoks)
        assert fast == scan_substitutions(index, folded), title
        found += len(fast)
    assert found > 300  # the titles do swap words of registered marks


def _edit(rng: random.Random, word: str, edits: int) -> str:
    for _ in range(edits):
        i = rng.randrange(len(word))
        r = rng.random()
        if r < 0.3:
            word = word[:i] + rng.choice("abcdeiklmnorstuv") + word[i + 1 :]
        elif r < 0.6 and len(word) > 2:
            word = word[:i] + word[i + 1 :]
        elif r < 0.8:
            word = word[:i] + rng.choice("abcdeiklmnorstuv") + word[i:]
        elif i + 1 < len(word):
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word


def scan_near(index: MarkIndex, fz: str) -> list[int]:
    """The deletion-table scan ``MarkIndex._near`` replaced: every form the table gives."""
    out: list[int] = []
    for d in deletes(fz, 2 if len(fz) >= 4 else 1):
        for vid in get(index._deletes, d):
            if vid not in out:
                out.append(vid)
    return out


def test_typo_candidates_keep_every_form_typo_distance_accepts():
    rng = random.Random(9)
    names: set[str] = set()
    while len(names) < 4000:  # one-word coined marks, many of them a few edits apart
        names.add(_word(rng) if rng.random() < 0.5 else _edit(rng, _word(rng), 1))
    index = build_index([MarkRecord(f"m{i}", n.upper(), owner_id="o") for i, n in enumerate(sorted(names))])
    queries = [_edit(rng, rng.choice(sorted(names)), rng.randint(0, 3)) for _ in range(2000)]
    kept = 0
    for q in queries:
        lk = loose(q)
        fz = fuzzy_key(lk)
        old = scan_near(index, fz)
        new = index._near(fz)
        assert set(new) <= set(old)
        accepted = [v for v in old if typo_distance(index.variants[v], lk, fz) is not None]
        assert [v for v in new if v in set(accepted)] == accepted, q
        kept += len(accepted)
        assert len(new) <= len(old)
    assert kept > 1000
