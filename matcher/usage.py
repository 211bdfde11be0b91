"""How a mark is used in a listing, read from the words around it.

A mark in a title is not always the listing's own brand. Real marketplace titles name other
companies' products all the time, and a dictionary-word mark is mostly an ordinary word:

``referential``  the mark names the product an accessory or part fits: after a phrase such as
                 "for", "compatible with", "suitable for", possibly through a list of other
                 devices and brands ("Holder for iPhone, Android, Samsung, OnePlus"); before a
                 word such as "compatible" or "certified", possibly after its model numbers ("HP
                 Pavilion dv6159EA Compatible Battery"); or in a title whose goods are an
                 accessory or part and whose first words are another brand or a description
                 ("Allure Auto Car Mat Maruti Swift Dzire", "Cellbazaar Blackberry 8520 LCD").
``leading``      the mark opens the title, after marketing words, numbers and cue phrases only
                 ("New Kestrel trail shoes", "【爆款】KESTREL"): the way sellers name their brand.
``descriptive``  a dictionary-word mark used as that word: not opening the title, not disguised,
                 with no cue phrase, no brand-abuse word and no product of the rights holder
                 ("Men's Polo Neck T-Shirt", "Double Apple Hookah Flavor", "Digital Crown").
``abuse``        the mark as a keyword for other goods ("Kestrel Style sneakers", "like Kestrel").

All of it works on the folded text and its word tokens (``matcher.candidates.tokens``); every
word list is a data file (``data/nominative_*.txt``, ``list_items.txt``, ``accessory_nouns.txt``,
``preamble_words.txt``, ``brand_abuse_cues.txt``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import cache, cached_property

from matcher.candidates import Token
from matcher.data_files import _lines, head_first_phrases, nominative_phrases
from matcher.normalise import RUN_RE, fold

MAX_CHAIN = 14  # tokens walked back from the mark through a list of devices
MAX_AFTER = 5  # tokens walked forward from the mark through its model numbers
MAX_HEAD_NOUNS = 3  # product nouns between a head-first phrase and the brand ("untuk botol serum X")
BREAKS = frozenset("|;!?\n")
OPENERS = {"[": "]", "【": "】", "(": ")", "（": "）", "{": "}", "<": ">", "《": "》"}
UNITS = ("mah", "w", "v", "kw", "mm", "cm", "m", "ft", "in", "inch", "l", "ml", "g", "kg", "gb",
         "tb", "mb", "mbps", "hz", "ghz", "k", "x", "pcs", "pc", "pack", "db", "a", "p", "gen", "th",
         "nd", "rd", "st")


@cache
def _words(name: str) -> frozenset[str]:
    return frozenset(fold(line.strip()) for line in _lines(name))


@cache
def _phrases(name: str) -> tuple[tuple[str, ...], ...]:
    """Multi-word entries as word tuples, longest first."""
    out = {tuple(fold(line).split()) for line in _lines(name)}
    return tuple(sorted(out, key=len, reverse=True))


@cache
def _before_phrases() -> tuple[tuple[str, ...], ...]:
    # folded like the text: "tương thích với" is matched as "tuong thich voi"
    latin = {tuple(fold(p).split()) for p in nominative_phrases() if not RUN_RE.match(p[:1])}
    return tuple(sorted(latin, key=len, reverse=True))


@cache
def _han_before() -> tuple[str, ...]:
    return tuple(fold(p) for p in nominative_phrases() if RUN_RE.match(p[:1]))


@cache
def _before_by_last_word() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Referential phrases keyed by their last word (the word right before the mark or its
    list), longest first."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for p in _before_phrases():
        out.setdefault(p[-1], []).append(p)
    return {w: tuple(ps) for w, ps in out.items()}


@cache
def _head_first() -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(fold(p).split()) for p in head_first_phrases())


@cache
def _run_head_first() -> tuple[str, ...]:
    """Head-first phrases in a script without spaces (Thai สำหรับ): the end of a run token."""
    return tuple(fold(p) for p in head_first_phrases() if RUN_RE.match(p[:1]))


def _names_people(word: str) -> bool:
    people = _words("nominative_people.txt")
    return word in people or (RUN_RE.match(word[:1]) is not None
                              and any(word.endswith(p) for p in people if RUN_RE.match(p[:1])))


@cache
def _postfix() -> tuple[str, ...]:
    return tuple(fold(w.strip()) for w in _lines("nominative_postfix.txt"))


@cache
def _abuse() -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    before: set[tuple[str, ...]] = set()
    after: set[tuple[str, ...]] = set()
    for line in _lines("brand_abuse_cues.txt"):
        where, _, phrase = line.partition("\t")
        words = tuple(fold(phrase.strip()).replace("-", " ").split()) or (fold(phrase.strip()),)
        (before if where.strip() == "before" else after).add(words)
    return tuple(before), tuple(after)


def is_model(word: str) -> bool:
    """A model number: letters and digits mixed, or a bare number that is not a quantity
    ("8520", "dv6159ea", "sm-p610" yield True; "65w", "20000mah", "2" yield False)."""
    if not any(ch.isdigit() for ch in word):
        return False
    digits = word.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = word[len(digits):]
    if digits.isdigit() and unit in UNITS:
        return unit == "" and len(digits) >= 3
    return True


def _breaks(gap: str) -> bool:
    return any(ch in BREAKS for ch in gap) or ". " in gap or " - " in gap or gap.endswith(".")


class TextView:
    """One listing's folded text as word tokens, with the extent of its title."""

    def __init__(self, folded: str, toks: list[Token], title_end: int, cue_spans=(),
                 head_first: bool = False) -> None:
        self.folded = folded
        # written in a head-first language (Thai, Vietnamese, Indonesian, Malay, Filipino):
        # the brand follows the product's noun ("Kabel Data Voltaris" is Voltaris's own cable)
        self.head_first = head_first
        self.toks = toks
        self.title_end = title_end
        self.words = [t.text for t in toks]
        self._cue_tokens = {i for i, t in enumerate(toks)
                            for a, b in cue_spans if t.start >= a and t.end <= b}
        self.has_cue = bool(cue_spans)  # a counterfeit cue phrase anywhere in the listing
        self._first: int | None = None
        self._starts = [t.start for t in toks]
        self._broken: list[bool] | None = None

    # --- positions ---
    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """First and last token overlapping [start, end)."""
        starts = self._starts
        first = bisect_right(starts, start) - 1
        if first < 0 or self.toks[first].end <= start:
            first += 1
        if first >= len(self.toks) or self.toks[first].start >= end:
            return -1, -1
        last = bisect_left(starts, end) - 1
        return first, last

    def gap(self, i: int) -> str:
        """The text between token i and token i + 1."""
        return self.folded[self.toks[i].end : self.toks[i + 1].start]

    def broken(self, i: int) -> bool:
        """A clause ends between token i and token i + 1."""
        flags = self._broken
        if flags is None:
            flags = self._broken = [_breaks(self.gap(j)) for j in range(len(self.toks) - 1)]
        return flags[i]

    def first_content(self) -> int:
        """Index of the title's first token that is not preamble (marketing words, numbers,
        cue phrases, a bracketed opener)."""
        if self._first is not None:
            return self._first
        pre = _words("preamble_words.txt")
        i, n = 0, len(self.toks)
        head = self.folded[: self.toks[0].start] if self.toks else ""
        closing = None
        stripped = head.strip()
        if stripped and stripped[-1] in OPENERS:
            closing = OPENERS[stripped[-1]]
        while i < n and self.toks[i].start < self.title_end:
            t = self.toks[i]
            if closing is not None:
                if closing in self.folded[t.end : self.toks[i + 1].start if i + 1 < n else len(self.folded)]:
                    closing = None
                i += 1
                continue
            if t.text in pre or t.text.isdigit() or i in self._cue_tokens:
                i += 1
                if i < n:
                    g = self.gap(i - 1).strip()
                    if g and g[-1] in OPENERS:
                        closing = OPENERS[g[-1]]
                continue
            break
        self._first = i
        return i


def leading(view: TextView, first: int, start: int) -> bool:
    """The mark opens the title: it starts at the first content token, or inside it after
    preamble characters only ("正品墨朗" as one run of Chinese)."""
    if first < 0 or view.toks[first].start >= view.title_end:
        return False
    fc = view.first_content()
    if first != fc:
        return first < fc  # the mark is itself a preamble word ("TOP", "PREMIUM")
    t = view.toks[first]
    prefix = view.folded[t.start : start]
    return not prefix or prefix.isdigit() or prefix in _words("preamble_words.txt")


def _list_item(index, word: str) -> bool:
    return (word in _words("list_items.txt") or word in _words("nominative_fillers.txt")
            or is_model(word) or len(word) <= 2 or not index.is_word(word) or index.is_brand(word))


def referential_before(index, view: TextView, first: int) -> str | None:
    """A referential phrase before the mark, perhaps through a list of other devices, or, in a
    head-first language, through the nouns of the product the brand modifies ("Casing untuk HP
    Samsung", "Túi tương thích chai serum Molang", "สำหรับ ขวดเซรั่ม Molang"), but not
    through words for people ("Sepatu untuk pria Kestrel": a Kestrel shoe for men)."""
    if first <= 0:
        return None
    by_last = _before_by_last_word()
    head_first = _head_first()
    j = first - 1
    steps = 0
    nouns = 0  # words passed that only a head-first phrase may stand before
    while j >= 0 and steps < MAX_CHAIN:
        if view.broken(j):
            return None
        w = view.words[j]
        for p in by_last.get(w, ()):
            k = len(p)
            if j - k + 1 >= 0 and tuple(view.words[j - k + 1 : j + 1]) == p:
                return " ".join(p) if not nouns or p in head_first else None
        if view.head_first:
            if _names_people(w):
                return None
            if view.toks[j].run:
                for rp in _run_head_first():
                    if w.endswith(rp):
                        return rp
        if view.toks[j].run or not _list_item(index, w):
            nouns += 1
            if not view.head_first or nouns > MAX_HEAD_NOUNS:
                return None
        j -= 1
        steps += 1
    return None


def referential_before_han(view: TextView, start: int) -> str | None:
    """适用于/兼容/适配 right before the mark, in the same run of Chinese or just before it."""
    window = view.folded[max(0, start - 12) : start]
    stripped = window.rstrip()
    for phrase in _han_before():
        if stripped.endswith(phrase):
            return phrase
    return None


def referential_after(index, view: TextView, last: int, end: int) -> str | None:
    """A compatibility word after the mark, perhaps after its model numbers ("Samsung
    compatible", "HP Pavilion dv6159EA Compatible", "墨朗面霜适用", "Apple MFi Certified")."""
    post = _postfix()
    after = view.folded[end : end + 40]
    # Chinese: within the same run, up to 4 characters of product noun in between
    nxt = view.toks[last + 1] if last + 1 < len(view.toks) else None
    if nxt is not None and nxt.run and nxt.start == end:
        for phrase in post:
            if RUN_RE.match(phrase[:1]) and phrase in nxt.text[: 4 + len(phrase)]:
                return phrase
    if view.toks[last].run and not after[:1].isspace():
        run = after.split(" ", 1)[0]
        for phrase in post:
            if RUN_RE.match(phrase[:1]) and phrase in run[: 4 + len(phrase)]:
                return phrase
    dictionary_words = 0
    for j in range(last + 1, min(len(view.toks), last + 1 + MAX_AFTER)):
        if view.broken(j - 1) or view.toks[j].run:
            return None
        w = view.words[j]
        if w in post:
            return w
        if is_model(w) or len(w) <= 2 or not index.is_word(w) or w in _words("list_items.txt"):
            continue
        if w in _words("accessory_nouns.txt") or dictionary_words:
            return None
        dictionary_words += 1  # one product-line word ("Pavilion") before a model number
        if not (j + 1 < len(view.toks) and is_model(view.words[j + 1])):
            return None
    return None


def clause(view: TextView, first: int, last: int) -> tuple[int, int]:
    """The tokens of the title clause around tokens first..last (no break in between)."""
    a = first
    while a > 0 and not view.broken(a - 1) and view.toks[a - 1].start < view.title_end:
        a -= 1
    b = last
    while b + 1 < len(view.toks) and not view.broken(b) and view.toks[b + 1].start < view.title_end:
        b += 1
    return a, b


@cache
def _accessories_by_first_word() -> dict[str, tuple[tuple[str, ...], ...]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    for p in _phrases("accessory_nouns.txt"):
        out.setdefault(p[0], []).append(p)
    return {w: tuple(sorted(ps, key=len, reverse=True)) for w, ps in out.items()}


def accessory_noun(view: TextView, a: int, b: int) -> tuple[str, int] | None:
    """An accessory or part noun among tokens a..b ("car mat", "back panel", "lcd"), and where."""
    table = _accessories_by_first_word()
    words = view.words
    for s in range(a, b + 1):
        for p in table.get(words[s], ()):
            k = len(p)
            if s + k <= b + 1 and tuple(words[s : s + k]) == p:
                return " ".join(p), s
    return None


def referential_accessory(index, view: TextView, first: int, last: int) -> str | None:
    """The title sells an accessory or part, someone else's brand or a description opens it,
    and the mark names the product it fits: right after a fitting part ("Car Mat Honda Jazz"),
    or with a model after it, or behind another brand."""
    a, b = clause(view, first, last)
    found = accessory_noun(view, a, b)
    if found is None:
        return None
    noun, at = found
    if at + len(noun.split()) == first and noun in _words("fitting_nouns.txt"):
        return noun
    fc = view.first_content()
    other_brand_first = fc < first and not view.toks[fc].run and not index.is_word(view.words[fc])
    model_next = any(is_model(view.words[j]) or not index.is_word(view.words[j])
                     for j in range(last + 1, min(len(view.toks), last + 3))
                     if not view.toks[j].run and view.toks[j].start < view.title_end
                     and view.words[j] not in _words("accessory_nouns.txt"))
    if other_brand_first or model_next:
        return noun
    return None


@cache
def _abuse_by_word() -> tuple[dict[str, tuple[tuple[str, ...], ...]], dict[str, tuple[tuple[str, ...], ...]]]:
    """Brand-abuse phrases keyed by the word next to the mark (the last word of a phrase
    before it, the first word of one after it)."""
    before, after = _abuse()
    b: dict[str, list[tuple[str, ...]]] = {}
    a: dict[str, list[tuple[str, ...]]] = {}
    for ph in before:
        b.setdefault(ph[-1], []).append(ph)
    for ph in after:
        a.setdefault(ph[0], []).append(ph)
    return ({k: tuple(v) for k, v in b.items()}, {k: tuple(v) for k, v in a.items()})


def abuse_cue(view: TextView, first: int, last: int) -> str | None:
    before, after = _abuse_by_word()
    words = view.words
    if first > 0:
        for p in before.get(words[first - 1], ()):
            k = len(p)
            if first - k >= 0 and tuple(words[first - k : first]) == p:
                return " ".join(p)
    if last + 1 < len(words):
        nxt = words[last + 1]
        for p in after.get(nxt, ()):
            if tuple(words[last + 1 : last + 1 + len(p)]) == p:
                return " ".join(p)
        if view.toks[last + 1].run:
            for w, ps in after.items():
                if RUN_RE.match(w[:1]) and nxt.startswith(w):
                    return ps[0][0]
    return None


def marked_as_brand(view: TextView, end: int) -> str | None:
    """®, ™ or "brand" right after the mark."""
    after = view.folded[end : end + 8].lstrip()
    if after[:1] in ("®", "™") or after.startswith(("(r)", "(tm)")):
        return after[:1]
    return None


class Usage:
    """What the words around one occurrence of a mark (at [start, end) of the folded text) say
    about its use. Each answer is worked out when first asked: most findings need only some."""

    def __init__(self, index, view: TextView, start: int, end: int, product: bool = False) -> None:
        self._index = index
        self._view = view
        self._start = start
        self._end = end
        self._product = product  # a model number or product name, not the brand
        self._first, self._last = view.token_range(start, end)

    @cached_property
    def leading(self) -> bool:
        """The mark opens the title."""
        return self._first >= 0 and leading(self._view, self._first, self._start)

    @cached_property
    def _referential(self) -> tuple[str | None, str | None]:
        index, view, first, last = self._index, self._view, self._first, self._last
        if first < 0:
            return None, None
        if not self.leading:
            ref = referential_before(index, view, first) or referential_before_han(view, self._start)
            if ref:
                return ref, "phrase before"
        ref = referential_after(index, view, last, self._end)
        if ref:
            return ref, "word after"
        if not self.leading and not self._product and not view.head_first and not view.has_cue:
            # (a model number of the holder's product is the product itself, not what a part
            # fits; in a head-first language a part's noun before the brand is the brand's own
            # part, and only the words for "for" make the use referential; and a part sold as
            # a "replica" is a copy of the brand's part, whatever it fits)
            ref = referential_accessory(index, view, first, last)
            if ref:
                return ref, "accessory"
        return None, None

    @property
    def referential(self) -> str | None:
        """The words that make the use referential ("for", "compatible", "car mat")."""
        return self._referential[0]

    @property
    def how(self) -> str | None:
        """Where those words stand: "phrase before", "word after" or "accessory"."""
        return self._referential[1]

    @cached_property
    def abuse(self) -> str | None:
        """A brand-abuse word next to the mark ("style", "like")."""
        return abuse_cue(self._view, self._first, self._last) if self._first >= 0 else None

    @cached_property
    def marked(self) -> str | None:
        """®, ™ right after the mark."""
        return marked_as_brand(self._view, self._end)

    @cached_property
    def describes(self) -> str | None:
        """The word after the mark shows it describes the goods ("colour", "neck")."""
        view, last = self._view, self._last
        if last < 0 or last + 1 >= len(view.toks) or view.broken(last):
            return None
        nxt = view.words[last + 1]
        return nxt if nxt in _words("descriptor_heads.txt") else None


def usage_of(index, view: TextView, start: int, end: int, product: bool = False) -> Usage:
    """The use of the mark (or, with ``product``, the product name or model number) found at
    [start, end) of the folded text."""
    return Usage(index, view, start, end, product)
