"""Counterfeit cue phrases ("replica", "1:1", "AAA", "KW super", "高仿", "งานก๊อป"...).

Latin phrases are found by a spaCy rule component: a blank English pipeline (no trained model)
and a ``PhraseMatcher`` on lower case, so "1:1" and "first copy" match as token sequences. Phrases
in scripts written without spaces (Chinese, Thai, Japanese) are found as strings in the text,
which is what a character-segmented pipeline would do, without its cost. The phrases and their
sources are in ``data/cue_phrases.txt``; texts and phrases are compared folded ("hàng nhái" is
found as "hang nhai").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from matcher.data_files import cue_phrases, cue_phrases_not_after_number
from matcher.normalise import RUN_RE, fold


@dataclass(frozen=True, slots=True)
class Cue:
    phrase: str  # the cue as listed
    span: str  # the listing text it matched
    start: int = 0  # character offsets in the text given to ``find``
    end: int = 0


class CueFinder:
    def __init__(self) -> None:
        import spacy  # imported here: building an index must not pay for it twice
        from spacy.matcher import PhraseMatcher

        self._en = spacy.blank("en")
        self._en_matcher = PhraseMatcher(self._en.vocab, attr="LOWER")
        self._runs: list[str] = []
        self._listed: dict[str, str] = {}  # folded -> as listed ("hang nhai" -> "hàng nhái")
        self._not_after_number = frozenset(fold(p) for p in cue_phrases_not_after_number())
        latin_first: set[str] = set()
        for phrase, kind in cue_phrases():
            folded = fold(phrase)
            self._listed.setdefault(folded, phrase)
            if kind == "run":
                self._runs.append(folded)
            else:
                self._en_matcher.add("CUE", [self._en.make_doc(folded)])
                latin_first.add(folded.split()[0])
        # a cheap superset test first: a Latin phrase can only match if its first word is there
        self._first_words = re.compile("|".join(re.escape(w) for w in sorted(latin_first, key=len)))

    def find(self, text: str) -> list[Cue]:
        """Cue phrases in ``text`` (already bounded and folded), in order of appearance."""
        found: list[Cue] = []
        if self._first_words.search(text.casefold()):
            doc = self._en.make_doc(text)
            for _, start, end in self._en_matcher(doc):
                sp = doc[start:end]
                key = sp.text.lower()
                if key in self._not_after_number and start > 0 and doc[start - 1].like_num:
                    continue  # "2 KW": kilowatts, not a grade of copy
                found.append(Cue(self._listed.get(key, key), sp.text, sp.start_char, sp.end_char))
        if RUN_RE.search(text):
            for phrase in self._runs:
                at = text.find(phrase)
                if at >= 0:
                    found.append(Cue(self._listed.get(phrase, phrase), phrase, at, at + len(phrase)))
        # a cue inside a longer one is the same cue ("ก๊อป" in "งานก๊อป", "nhái" in "hàng nhái")
        found = [c for c in found if not any(o is not c and o.start <= c.start and c.end <= o.end
                                             and o.end - o.start > c.end - c.start for o in found)]
        found.sort(key=lambda c: c.start)
        return found


@cache
def cue_finder() -> CueFinder:
    return CueFinder()
