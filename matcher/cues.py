"""Counterfeit cue phrases ("replica", "1:1", "AAA", "高仿"...), found by spaCy rule components.

Blank pipelines only (no trained model): an English tokenizer with a ``PhraseMatcher`` on lower
case for Latin phrases, and the Chinese blank pipeline (character segmentation) with its own
``PhraseMatcher`` for Chinese phrases. The phrases are in ``data/cue_phrases.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from matcher.data_files import cue_phrases
from matcher.normalise import HAN_RE, fold


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
        self._zh = spacy.blank("zh")  # default segmenter: one token per character
        # a cheap superset test first: a phrase can only match if its first word is a substring
        self._first_words = sorted({fold(p).split()[0] for p, k in cue_phrases() if k != "han"}
                                   | {fold(p) for p, k in cue_phrases() if k == "han"}, key=len)
        self._en_matcher = PhraseMatcher(self._en.vocab, attr="LOWER")
        self._zh_matcher = PhraseMatcher(self._zh.vocab, attr="LOWER")
        for phrase, kind in cue_phrases():
            folded = fold(phrase)  # texts are folded: "hàng nhái" is found as "hang nhai"
            if kind == "han":
                self._zh_matcher.add("CUE", [self._zh.make_doc(folded)])
            else:
                self._en_matcher.add("CUE", [self._en.make_doc(folded)])

    def find(self, text: str) -> list[Cue]:
        """Cue phrases in ``text`` (already bounded and folded), in order of appearance."""
        found: list[Cue] = []
        low = text.casefold()
        if not any(w in low for w in self._first_words):
            return found
        doc = self._en.make_doc(text)
        for _, start, end in self._en_matcher(doc):
            sp = doc[start:end]
            found.append(Cue(sp.text.lower(), sp.text, sp.start_char, sp.end_char))
        if HAN_RE.search(text):
            zdoc = self._zh.make_doc(text)
            for _, start, end in self._zh_matcher(zdoc):
                sp = zdoc[start:end]
                found.append(Cue(sp.text, sp.text, sp.start_char, sp.end_char))
        return found


@cache
def cue_finder() -> CueFinder:
    return CueFinder()
