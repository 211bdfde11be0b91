"""A slow, obviously correct reference for the index's word checks, for property tests.

It compares one candidate word with every registered form, one by one, using the same
definitions (``fold``, ``loose``, ``fuzzy_key``, ``typo_distance``, Metaphone) but no hash tables
and no deletion neighbourhoods. The fast path must find exactly the same (form, check) pairs.
"""

from __future__ import annotations

import jellyfish
from rapidfuzz import fuzz

from matcher.index import MarkIndex, loose_forms, stretch_edits, typo_distance
from matcher.normalise import fuzzy_key, loose


def reference_word_checks(index: MarkIndex, word: str) -> set[tuple[int, str]]:
    """(variant id, check) for a single folded word, by brute force over every registered form."""
    out: set[tuple[int, str]] = set()
    found: set[int] = set()
    latin = [v for v in index.variants if not v.han]
    for v in latin:
        if v.key == word and not (v.source == "romanised" and index.is_word(word)):
            out.add((v.vid, "exact"))
            found.add(v.vid)
    if word.isdigit() or len(word) < 3 or index.is_common(word):
        return out
    lkey = loose(word)
    forms = set(loose_forms(word, lkey))
    for v in latin:
        if v.vid in found:
            continue
        mark_forms = {v.loose, loose(v.key, digraphs=False)}
        if forms & mark_forms:
            out.add((v.vid, "loose"))
            found.add(v.vid)
    if len(word) < 3 or len(word) > index._max_fuzzy_len:
        return out
    for v in latin:
        if v.vid in found or len(v.key) < 4 or not stretch_edits(len(v.key)):
            continue
        for lk in forms:
            if typo_distance(v, lk, fuzzy_key(lk)) is not None:
                out.add((v.vid, "typo"))
                found.add(v.vid)
                break
    if word.isascii() and word.isalpha():
        phon = jellyfish.metaphone(word)
        for v in latin:
            if v.vid in found or not v.phon:
                continue
            if v.phon == phon and len(v.phon) >= 2 and fuzz.ratio(word, v.key) >= 70:
                out.add((v.vid, "phonetic"))
                found.add(v.vid)
    return out


def fast_word_checks(index: MarkIndex, word: str) -> set[tuple[int, str]]:
    """The same question answered by the index's fast path (fused hits left out)."""
    from matcher.candidates import Candidate, Token

    toks = [Token(word, 0, len(word), False)]
    cand = Candidate(word, 0, len(word), "token", 1, 0)
    hits = index._latin_hits(cand, toks, [index.is_common(word)], [loose(word)])
    return {(h.vid, "exact" if h.check == "exact" else h.check) for h in hits if h.check != "fused"}
