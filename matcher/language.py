"""Is a listing written in a head-first language of South-East Asia (Vietnamese, Indonesian,
Malay, Filipino)?

There the product's noun comes first and the brand after it ("Sepatu Kestrel", "Giày Kestrel":
Kestrel shoes), and an English word in the title is a name, not a word of the sentence: a
dictionary-word mark there is read as a brand, as it is in Chinese or Thai text. English titles
put the brand first, which is what ``matcher.usage.leading`` looks for.

Vietnamese is told by its letters (ă, đ, ơ, ư and the letters of Unicode's Latin Extended
Additional block, which only Vietnamese uses); Indonesian, Malay and Filipino by common listing
words of those languages that English does not have (``data/head_first_words.txt``). A language
identifier would also do; none small enough ships without a downloaded model, and the question
here is narrower than "which language".
"""

from __future__ import annotations

import unicodedata
from functools import cache

from matcher.data_files import _lines
from matcher.normalise import fold, word_tokens

_VIETNAMESE_LETTERS = frozenset("ăđơưĂĐƠƯ")


@cache
def _words() -> frozenset[str]:
    return frozenset(fold(line.strip()) for line in _lines("head_first_words.txt"))


def is_vietnamese(text: str) -> bool:
    for ch in unicodedata.normalize("NFC", text):
        if ch in _VIETNAMESE_LETTERS or "\u1ea0" <= ch <= "\u1ef9":
            return True
    return False


def head_first(title: str, folded: str | None = None) -> bool:
    """The title (and its ``fold`` form, if the caller has it) is in Vietnamese, Indonesian,
    Malay or Filipino."""
    if not title:
        return False
    if not title.isascii() and is_vietnamese(title):
        return True
    words = _words()
    return any(w in words for w in word_tokens(fold(title) if folded is None else folded))
