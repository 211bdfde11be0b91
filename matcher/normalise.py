"""Text normalisation: the forms in which marks and listings are compared.

Three levels, each a per-character map (so each is idempotent and cheap through ``str.translate``
with a lazily filled table):

``fold``   Unicode compatibility forms folded (NFKC: fullwidth, mathematical letters, ligatures),
           case folded, diacritics stripped (NFD, combining marks dropped), default-ignorable code
           points deleted (zero-width space and joiners, soft hyphen, word joiner, BOM, bidi
           controls), other control characters, surrogates and private-use characters turned into
           spaces. Equal ``fold`` forms are the same word.
``loose``  ``fold`` plus the UTS #39 confusable skeleton (Cyrillic "е" -> "e"), the look-alike
           letter pairs UTS #39 leaves out (``rn``/``m``, ``vv``/``w``, ``cl``/``d``) and leetspeak
           (``0``/``o``, ``1``/``l``/``i``, ``$``/``s``...), from ``data/lookalikes.tsv``.
``fuzzy``  ``loose`` plus mirror letters (``b``/``d``) and doubled letters collapsed: the key the
           typo index is built on.

Hand-written rather than taken from a library: the ``confusables`` and ``homoglyphs`` packages
carry older Unicode data and no offsets; this module needs per-character maps it can run on
short tokens millions of times, so it reads the data files itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from matcher.data_files import confusable_prototypes, default_ignorable, han_variants, lookalikes

# Inputs are bounded before anything else runs: titles on real marketplaces are < 500 chars.
MAX_TITLE_CHARS = 1_000
MAX_DESCRIPTION_CHARS = 5_000

_HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Scripts written without spaces between words: Han, Thai, Lao, Hiragana and Katakana (with the
# Katakana prolonged sound mark). Their combining vowel and tone marks belong to the letters.
_RUN_RANGES = _HAN_RANGES + "\u0e01-\u0e4e\u0e81-\u0ece\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff"
# A word is a run of letters/digits (plus "$" and "@", which leetspeak uses as letters) outside
# those scripts; a run of them is kept whole and searched as a string (``matcher.segment`` finds
# its word boundaries where a short form needs them).
TOKEN_RE = re.compile(rf"(?P<run>[{_RUN_RANGES}]+)|(?P<word>(?:[^\W_{_RUN_RANGES}]|[$@])+)")
HAN_RE = re.compile(rf"[{_HAN_RANGES}]")
RUN_RE = re.compile(rf"[{_RUN_RANGES}]")
THAI_RE = re.compile(r"[\u0e01-\u0e4e]")
KANA_RE = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff]")
_THAI_LAO = re.compile(r"[\u0e01-\u0e7f\u0e81-\u0eff]")
# letters with a stroke have no decomposition, so stripping marks leaves them: Vietnamese đ is
# folded to d like its other diacritics ("Đà Lạt" and "Da Lat" are one word for matching)
_STROKE_LETTERS = {"đ": "d", "Đ": "d"}
# combining marks that are diacritics over Latin, Greek and Cyrillic letters (dropped by ``fold``);
# the vowel and tone marks of Thai and other scripts are letters and stay
_DIACRITIC_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
                              "\u3099\u309a]")


def is_han(ch: str) -> bool:
    return HAN_RE.match(ch) is not None


def is_run_char(ch: str) -> bool:
    """A character of a script written without spaces (Han, Thai, Lao, kana)."""
    return RUN_RE.match(ch) is not None


def _strip_marks(s: str) -> str:
    decomposed = unicodedata.normalize("NFD", s)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def _fold_char(cp: int) -> str | None:
    """The ``fold`` form of one code point (None deletes it), iterated to a fixed point so that
    folding is idempotent (NFKC and case folding are not closed under each other)."""
    s = _fold_char_once(cp)
    for _ in range(4):
        if s is None or s == " ":
            return s
        nxt = "".join(x for x in (_fold_char_once(ord(c)) for c in s) if x)
        if nxt == s:
            break
        s = nxt
    return s or None


def _fold_char_once(cp: int) -> str | None:
    if cp in default_ignorable():
        return None
    ch = chr(cp)
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cs", "Co", "Zl", "Zp") or cat == "Zs":
        return " "
    if cat == "Cf":  # format characters that are not default-ignorable (e.g. U+0600)
        return None
    if cat in ("Mn", "Me"):  # a combining mark on its own: diacritics are dropped
        return None if _DIACRITIC_MARKS.match(ch) or not is_run_char(ch) else ch
    if _THAI_LAO.match(ch):
        # Thai and Lao letters stay as written: NFKC would split SARA AM (ำ) into NIKHAHIT + SARA
        # AA, which no Thai dictionary or romaniser reads (สำหรับ would stop being a word)
        return ch
    if ch in _STROKE_LETTERS:
        return _STROKE_LETTERS[ch]
    s = unicodedata.normalize("NFKC", ch).casefold()
    if s.isascii():
        return s
    if len(s) == 1 and s in han_variants():  # 華為 and 华为 are one word
        return han_variants()[s]
    if s != ch.casefold():
        # a compatibility mapping into another letter of another script (U+03F9 GREEK CAPITAL
        # LUNATE SIGMA looks like C but NFKC makes it Σ): keep what it looks like
        proto = confusable_prototypes().get(ch)
        if proto and proto.isascii() and proto.isalpha():
            return proto.casefold()
    s = _strip_marks(s)
    return s


class _LazyTable(dict[int, str | None]):
    """A ``str.translate`` table that computes each entry on first use."""

    def __init__(self, fn):
        super().__init__()
        self._fn = fn

    def __missing__(self, cp: int) -> str | None:
        value = self._fn(cp)
        self[cp] = value
        return value


FOLD_TABLE = _LazyTable(_fold_char)


def fold(text: str) -> str:
    """NFKC + casefold + strip diacritics + drop invisible characters. Idempotent."""
    if text.isascii() and text.isprintable():
        return text.lower()
    return text.translate(FOLD_TABLE)


# ----- loose (confusable + look-alike + leetspeak) -----

def _digraphs() -> list[tuple[str, str]]:
    return [(s, t) for s, (t, group) in lookalikes().items() if group == "digraph"]


def _leet() -> dict[str, str]:
    return {s: t for s, (t, group) in lookalikes().items() if group == "leet"}


def _shape() -> dict[str, str]:
    return {s: t for s, (t, group) in lookalikes().items() if group == "shape"}


def _skeleton_char(ch: str) -> str:
    """UTS #39 prototype of one (already folded) character, lowercased, ASCII where possible."""
    protos = confusable_prototypes()
    best = None
    for cand in (ch, ch.upper()):
        s = cand
        for _ in range(3):  # prototypes are meant to be final; guard anyway
            nxt = "".join(protos.get(c, c) for c in s)
            if nxt == s:
                break
            s = nxt
        s = _strip_marks(s).casefold()
        if s.isascii():
            return s
        best = best or s
    return best or ch


def _loose_char(cp: int, depth: int = 0) -> str:
    ch = chr(cp)
    leet = _LEET
    if ch.isascii():
        return leet.get(ch, ch)
    if is_han(ch):
        return ch
    s = _skeleton_char(ch)
    out = []
    for c in s:
        if c.isascii() or is_han(c) or c == ch or depth >= 3:
            out.append(leet.get(c, c))
        else:  # a prototype that has a prototype of its own: follow it ("ʤ" -> "dʒ" -> "d3")
            out.append(_loose_char(ord(c), depth + 1))
    return "".join(out)


_LEET: dict[str, str] = {}
_DIGRAPHS: list[tuple[str, str]] = []
LOOSE_TABLE = _LazyTable(_loose_char)


def _init_tables() -> None:
    if not _LEET:
        table = _leet()
        for src, dst in table.items():  # close the map: "£" -> "l" -> "i"
            for _ in range(4):
                dst = "".join(table.get(c, c) for c in dst)
            _LEET[src] = dst
        _DIGRAPHS.extend(_digraphs())


def loose(folded: str, digraphs: bool = True) -> str:
    """The confusable/look-alike/leetspeak key of an already folded string. Idempotent.

    With ``digraphs=False`` letter pairs are read one letter at a time ("GUCCl" is "gucci", not
    "gucd"): a listing token with a pair is looked up both ways."""
    _init_tables()
    s = folded
    if digraphs:
        for src, dst in _DIGRAPHS:
            if src in s:
                s = s.replace(src, dst)
    s = s.translate(LOOSE_TABLE)
    if digraphs:
        for src, dst in _DIGRAPHS:  # a skeleton may produce a pair again ("ɱ" -> "rn")
            if src in s:
                s = s.replace(src, dst)
    return s


def has_digraph(folded: str) -> bool:
    _init_tables()
    return any(src in folded for src, _ in _DIGRAPHS)


_SHAPE_TABLE = str.maketrans(_shape())


def dedup(s: str) -> str:
    """Collapse runs of the same character: "kestrell" -> "kestrel", "chaanel" -> "chanel"."""
    if len(s) < 2:
        return s
    out = [s[0]]
    for ch in s[1:]:
        if ch != out[-1]:
            out.append(ch)
    return "".join(out)


def fuzzy_key(loose_key: str) -> str:
    """Key of the typo index: loose form, mirror letters merged, doubled letters collapsed."""
    return dedup(loose_key.translate(_SHAPE_TABLE))


def compact(folded: str) -> str:
    """Only the letters and digits (and Han characters) of a folded string."""
    return "".join(m.group(0) for m in TOKEN_RE.finditer(folded))


def word_tokens(folded: str) -> list[str]:
    return [m.group(0) for m in TOKEN_RE.finditer(folded)]


def normalise_seller(name: str) -> str:
    """A seller or store name as compared with the authorised list."""
    return " ".join(word_tokens(fold(name or "")))


def bound(text: str | None, limit: int) -> str:
    """Cut untrusted text to ``limit`` characters before any other work."""
    if not text:
        return ""
    return text[:limit]


@dataclass(frozen=True, slots=True)
class Disguises:
    """Which transformations a matched span needed: names of the checks that explain it."""

    invisible: bool = False
    compatibility: bool = False
    diacritic: bool = False
    confusable: bool = False
    leetspeak: bool = False
    lookalike: bool = False

    def names(self) -> list[str]:
        return [n for n in ("invisible", "compatibility", "diacritic", "confusable", "leetspeak",
                            "lookalike") if getattr(self, n)]


def describe_span(span: str) -> Disguises:
    """Explain how an original text span differs from plain lowercase ASCII letters."""
    invisible = compatibility = diacritic = confusable = leet = look = False
    ign = default_ignorable()
    _init_tables()
    for ch in span:
        cp = ord(ch)
        if cp in ign:
            invisible = True
            continue
        if ch.isascii():
            if ch in _LEET and not ch.isalpha():
                leet = True
            continue
        nfkc = unicodedata.normalize("NFKC", ch)
        if nfkc != ch:
            compatibility = True
            ch = nfkc
            if ch.isascii():
                continue
        base = _strip_marks(ch)
        if base != ch and base.isascii():
            diacritic = True
            continue
        if unicodedata.combining(ch) and _DIACRITIC_MARKS.match(ch):
            diacritic = True
            continue
        if ch.isalpha() and not is_han(ch) and not unicodedata.name(ch, "").startswith("LATIN"):
            confusable = True
    low = fold(span)
    if any(src in low for src, _ in _DIGRAPHS):
        look = True
    return Disguises(invisible, compatibility, diacritic, confusable, leet, look)
