"""Latin marks in other scripts: pinyin keys for Chinese, romanised skeletons for Thai and kana.

pypinyin gives the reading of each Han character. Readings are taken per character (cached) and
without tones, the same way for registered aliases and for listing text, so the comparison is
symmetric: 墨郎 (mo lang) and 墨朗 (mo lang) have the same key; 耐克 reads "naike".

Thai and kana words are romanised and reduced to consonant skeletons (below), so ไนกี้ and ナイキ
are found for NIKE although nobody registered them.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65_536)
def char_pinyin(ch: str) -> str:
    reading = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
    return reading[0] if reading else ""


def pinyin_of(han: str) -> tuple[str, ...]:
    """Toneless syllables of a run of Han characters, one per character ("" if unknown)."""
    return tuple(char_pinyin(ch) for ch in han)


# ----- Thai and Japanese kana: a romanised consonant skeleton -----
#
# An unregistered Thai or katakana spelling of a Latin mark (ไนกี้ and ナイキ for NIKE) is found
# by romanising the listing's word (PyThaiNLP's Royal Institute system for Thai, jaconv's Hepburn
# for kana) and comparing consonant skeletons: vowels differ too much between a spelling and its
# borrowing to compare ("naiki" / "nike"), the consonants stay. Each script has its own sound
# classes, applied alike to the romanised listing word and to the Latin mark:
#
# Thai     a Thai syllable ends in k, t, p, n, m, ng or a vowel: a final s, ch or j reads t, l and r
#          read n or nothing (อาดิดาส "adidat" for ADIDAS, ชาแนล "chanaen" for CHANEL); g is
#          written k (ก), v is w (ว), f and ph both occur.
# Japanese l and r are one sound (シャネル "shaneru"); vowels the syllables add after a final
#          consonant ("adeidasu") fall with the other vowels. Folded text has lost the voicing
#          marks (ダ is タ, バ and パ are ハ), so voiced and voiceless consonants are one class
#          and h, b, p and f are one.
#
# The class rules are written here: no library maps both a Latin brand and a Thai or Japanese
# romanisation onto one phonetic key (Metaphone and Soundex know English spelling only).

_VOWELS = frozenset("aeiouy")  # y too: ยู and ユ write a "u" as "yu"
_LATIN_DIGRAPHS = (("sch", "C"), ("ph", "f"), ("th", "t"), ("sh", "C"), ("ch", "C"), ("ck", "k"),
                   ("qu", "kw"), ("gh", ""), ("x", "ks"))
_THAI_DIGRAPHS = (("ng", "N"), ("ph", "p"), ("th", "t"), ("kh", "k"), ("ch", "C"))
_KANA_DIGRAPHS = (("shi", "si"), ("cch", "C"), ("sh", "C"), ("ch", "C"), ("ts", "t"), ("j", "C"))
_CLASS = {"g": "k", "q": "k", "c": "k", "j": "C", "z": "s", "v": "w", "h": "", "b": "p", "d": "t",
          "x": "k"}
_THAI_FINAL = {"s": "t", "C": "t", "l": "n", "r": "", "f": "p", "w": "", "y": "", "N": "n"}


def _latin_letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if "a" <= ch <= "z")


def _skeleton(letters: str, digraphs: tuple[tuple[str, str], ...], script: str) -> str:
    s = letters
    if script == "ja" and s.endswith("ng"):
        s = s[:-1]  # "samsung": サムスン has no final g
    if script == "th":
        s = s.replace("ng", "N")
    for src, dst in digraphs:
        s = s.replace(src, dst)
    out: list[str] = []  # consonant classes, "" where a vowel stood
    n = len(s)
    for i, ch in enumerate(s):
        if ch in _VOWELS:
            out.append("")
            continue
        c = _CLASS.get(ch, ch)
        nxt = s[i + 1] if i + 1 < n else ""
        final = (not nxt or nxt not in _VOWELS) and nxt != ch  # "chch", "tt": a doubled letter
        if script == "th" and final:
            if out and out[-1] == "":
                c = _THAI_FINAL.get(c, c)  # the consonant closing a syllable
            elif not nxt and out:
                c = ""  # a cluster after it at the end of the word is silent (โรเล็กซ์ "rolek")
        elif script == "th" and c == "N":
            c = "n"
        if script == "ja":
            if ch in "hfp":
                c = "p"  # folded kana: ハ is also バ and パ (voicing marks are folded away)
            if ch == "r" and final:
                c = ""  # "super": スーパー has no r (an l stays: シャネル)
            elif c == "l":
                c = "r"
        out.append(c)
    skel: list[str] = []
    prev = ""
    for c in out:
        if c and c != prev:
            skel.append(c)
        prev = c
    return "".join(skel)


def latin_skeleton(mark: str, script: str) -> str:
    """Consonant skeleton of a Latin mark as ``script`` ("th" or "ja") would borrow it."""
    letters = _latin_letters(mark)
    s = letters
    # a soft c (before e, i, y) is an s; an Italian "cci"/"ce" a ch
    s = s.replace("cci", "Ci").replace("cce", "Ce")
    s = "".join("s" if ch == "c" and s[i + 1 : i + 2] in ("e", "i", "y") else ch for i, ch in enumerate(s))
    return _skeleton(s.replace("C", "ch"), _LATIN_DIGRAPHS, script)


@lru_cache(maxsize=65_536)
def thai_roman(word: str) -> str:
    """Royal Institute romanisation of a Thai word (PyThaiNLP ``royin``: rules only, no model)."""
    from pythainlp.transliterate import romanize

    return _latin_letters(romanize(word, engine="royin"))


@lru_cache(maxsize=65_536)
def kana_roman(word: str) -> str:
    """Hepburn romanisation of a kana word (jaconv), letters only."""
    import jaconv

    return _latin_letters(jaconv.kana2alphabet(jaconv.kata2hira(word)))


def thai_skeleton(word: str) -> str:
    return _skeleton(thai_roman(word), _THAI_DIGRAPHS, "th")


def thai_roman_words(words: tuple[str, ...]) -> str:
    """Romanisation of consecutive Thai words, one cached word at a time (royin romanises word
    by word too; listing vocabulary repeats, so most words are romanised once per process)."""
    return "".join(thai_roman(w) for w in words)


def thai_skeleton_of_roman(roman: str) -> str:
    return _skeleton(roman, _THAI_DIGRAPHS, "th")


def thai_consonant_letters(text: str) -> int:
    """Thai consonant letters (ก to ฮ) in ``text``: a bound on its skeleton's length."""
    return sum(1 for ch in text if "\u0e01" <= ch <= "\u0e2e")


def kana_skeleton(word: str) -> str:
    return _skeleton(kana_roman(word), _KANA_DIGRAPHS, "ja")


_LATIN_RESPELL = (("ph", "f"), ("ck", "k"), ("qu", "kw"), ("q", "k"), ("x", "ks"), ("z", "s"),
                  ("cci", "chi"), ("cce", "che"), ("ce", "se"), ("ci", "si"), ("cy", "sy"), ("c", "k"))
_DEVOICE = str.maketrans({"d": "t", "g": "k", "b": "h", "p": "h", "f": "h", "z": "s", "j": "s",
                          "v": "u"})
_ROMAN_RESPELL = {"th": (("kh", "k"), ("ph", "p"), ("th", "t"), ("ng", "n")),
                  "ja": (("cch", "ch"), ("tsu", "tu"))}


def respelled(letters: str, script: str, latin: bool) -> str:
    """Letters spelled the way the other side spells the same sound, vowels kept: what RapidFuzz
    compares once the skeletons agree ("iphone" as "ifone" against ไอโฟน "aifon")."""
    s = letters
    if latin:
        for src, dst in _LATIN_RESPELL:
            s = s.replace(src, dst)
        if script == "th":
            s = s.replace("g", "k").replace("v", "w").replace("ng", "n")
        else:  # folded kana have lost their voicing marks (ダ is folded to タ): so does the mark
            s = s.translate(_DEVOICE)
        return s
    for src, dst in _ROMAN_RESPELL[script]:
        s = s.replace(src, dst)
    return s
