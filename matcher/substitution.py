"""Word substitution: a multi-word mark with one word swapped for a look-alike ("Kestrel Trial"
for KESTREL TRAIL), the other words standing as registered.

Each word of a multi-word form is a key of ``by_word`` (its loose form -> (form id, position)). A
word of the listing found there anchors the forms it stands in. A word shared by many marks
("Kestrel" in KESTREL TRAIL, KESTREL PEAK, ...) must not cost one comparison per mark for every
listing: for the two-word forms an anchor stands in (most multi-word marks), the word beside it
is compared with all their other words at once, by RapidFuzz (``process.extract`` with a score
cutoff) and a table of Metaphone keys, built per anchor word on first use. Only the forms that
pass, and the longer forms, are then checked one by one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import jellyfish
from rapidfuzz import fuzz, process

from matcher.candidates import Token
from matcher.forms import Hit, Variant, add

MAX_ANCHOR_MARKS = 64  # a word standing in more multi-word marks than this anchors no substitution
MIN_RATIO = 60  # RapidFuzz ratio of the swapped word and the registered one
MAX_REMEMBERED = 4096  # neighbouring words remembered per anchor word and side (titles repeat)


def close(got: str, want: str) -> bool:
    """The listing's word could stand for the registered one: spelled alike or sounding alike."""
    return fuzz.ratio(got, want) >= MIN_RATIO or (
        got.isalpha() and want.isalpha() and jellyfish.metaphone(got) == jellyfish.metaphone(want))


@dataclass(slots=True)
class _Side:
    """Two-word forms whose other word stands on one side of the anchor."""

    wants: list[str] = field(default_factory=list)  # the other word, as registered
    entries: list[int] = field(default_factory=list)  # its index in the anchor's entry list
    by_phon: dict[str, list[int]] = field(default_factory=dict)  # Metaphone key -> entry indices
    seen: dict[str, tuple[int, ...]] = field(default_factory=dict)  # ``passing``, remembered

    def passing(self, got: str) -> tuple[int, ...]:
        """Entry indices whose other word is ``close`` to ``got`` (the same test, in bulk)."""
        found = self.seen.get(got)
        if found is None:
            out = [self.entries[k] for _, _, k in process.extract(
                got, self.wants, scorer=fuzz.ratio, score_cutoff=MIN_RATIO, limit=None)]
            if got.isalpha() and self.by_phon:
                out.extend(self.by_phon.get(jellyfish.metaphone(got), ()))
            if len(self.seen) >= MAX_REMEMBERED:
                self.seen.clear()
            found = self.seen[got] = tuple(out)
        return found


@dataclass(slots=True)
class _Anchor:
    """What one anchor word stands in: forms of three words or more (checked one by one) and
    two-word forms by the side their other word is on (after the anchor, before it)."""

    longer: list[int]
    sides: tuple[_Side, _Side]


class SubstitutionTable:
    def __init__(self) -> None:
        # loose form of a word -> (form id, position), or a list of them (see ``forms.add``)
        self.by_word: dict[str, tuple[int, int] | list[tuple[int, int]]] = {}
        self._anchors: dict[str, _Anchor] = {}

    def add(self, vid: int, loose_words: Sequence[str]) -> None:
        for pos, w in enumerate(loose_words):
            add(self.by_word, w, (vid, pos))

    def anchors(self, word: str) -> bool:
        """The word (loose form) anchors a substitution."""
        entry = self.by_word.get(word)
        return entry is not None and not (isinstance(entry, list) and len(entry) > MAX_ANCHOR_MARKS)

    def _anchor(self, word: str, entry: list[tuple[int, int]], variants: list[Variant]) -> _Anchor:
        found = self._anchors.get(word)
        if found is None:
            found = _Anchor([], (_Side(), _Side()))
            for k, (vid, pos) in enumerate(entry):
                v = variants[vid]
                if len(v.words) != 2:
                    found.longer.append(k)
                    continue
                side = found.sides[pos]  # the anchor first: the other word follows it
                want = v.words[1 - pos]
                side.wants.append(want)
                side.entries.append(k)
                if want.isalpha():
                    side.by_phon.setdefault(jellyfish.metaphone(want), []).append(k)
            self._anchors[word] = found  # one assignment: a concurrent first use builds the same
        return found

    def hits(self, variants: list[Variant], toks: list[Token], folded: str,
             ltoks: list[str]) -> list[Hit]:
        """Multi-word marks with one word swapped for a look-alike, the rest standing."""
        out: list[Hit] = []
        if not self.by_word:
            return out
        done: set[tuple[int, int]] = set()
        for i, t in enumerate(toks):
            if t.run:
                continue
            entry = self.by_word.get(ltoks[i])
            if entry is None:
                continue
            if not isinstance(entry, list):
                entry, picks = [entry], [0]
            elif len(entry) > MAX_ANCHOR_MARKS:
                continue  # a word in that many marks anchors nothing
            else:
                anchor = self._anchor(ltoks[i], entry, variants)
                picks = list(anchor.longer)
                for side, nb in zip(anchor.sides, (i + 1, i - 1), strict=True):
                    if side.wants and 0 <= nb < len(toks):
                        picks.extend(side.passing(toks[nb].text))
                picks = sorted(set(picks))  # in the table's order, as one by one
            for k in picks:
                vid, pos = entry[k]
                start = i - pos
                v = variants[vid]
                n = len(v.words)
                if start < 0 or start + n > len(toks) or (vid, start) in done:
                    continue
                done.add((vid, start))
                # one word differs, the others stand as registered (cheapest test first)
                diff = [j for j in range(n) if ltoks[start + j] != v.loose_words[j]]
                if len(diff) != 1:
                    continue
                window = toks[start : start + n]
                if any(w.run for w in window) or any(
                    len(folded[a.end : b.start]) > 3 or any(ch.isalnum() for ch in folded[a.end : b.start])
                    for a, b in itertools.pairwise(window)
                ):
                    continue
                j = diff[0]
                got, want = window[j].text, v.words[j]
                if close(got, want):
                    out.append(Hit(vid, "word_substitution", window[0].start, window[-1].end, 66,
                                   f'"{v.text}" with "{want}" swapped for "{got}"'))
        return out
