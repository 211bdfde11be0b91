"""Cut a listing's folded text into candidate strings that a mark could hide in.

A candidate is a word, a word joined to its neighbours across punctuation or invisible
characters (``paypal-merchant``, ``KES.TREL``), a run of spaced single letters (``G U C C I``,
``L.V.``), or a short sequence of space-separated words (for multi-word marks and product names).
Ordinary word boundaries are never crossed for single-word marks: ``eyes on you`` yields the
candidates ``eyes``, ``on``, ``you`` and the phrases ``eyes on``... which only multi-word
registrations are compared with.
"""

from __future__ import annotations

from typing import NamedTuple

from matcher.normalise import TOKEN_RE

# punctuation that sits inside a word when there is no space around it: "N-I-K-E", "paypal-merchant"
TIGHT_PUNCT = frozenset(".-_·*'’/+~:|•")
MAX_JOIN = 4
# punctuation written for a letter inside a word (the zxcvbn l33t table): "P!g3on", "Trans(end",
# "Son@+a", "Have|ls". ("@" and "$" are word characters already.)
PUNCT_LETTERS = {"!": "i", "|": "l", "(": "c", "[": "c", "{": "c", "<": "c", "+": "t"}


class Token(NamedTuple):
    text: str
    start: int
    end: int
    han: bool


class Candidate(NamedTuple):
    """A string from the listing (folded form, letters and digits only) and where it came from."""

    key: str  # compact folded text: "kestrel", "gucci", "kestreltrail"
    start: int  # offsets in the folded text
    end: int
    kind: str  # "token" | "joined" | "spaced" | "phrase"
    ntok: int  # how many words it joins
    first: int  # index of its first word


def tokens(folded: str) -> list[Token]:
    return [Token(m.group(0), m.start(), m.end(), m.lastgroup == "han") for m in TOKEN_RE.finditer(folded)]


def _gap(folded: str, a: Token, b: Token) -> str:
    return folded[a.end : b.start]


def candidates(folded: str, toks: list[Token], max_phrase: int) -> list[Candidate]:
    out: list[Candidate] = []
    n = len(toks)
    for i, t in enumerate(toks):
        if t.han:
            continue
        out.append(Candidate(t.text, t.start, t.end, "token", 1, i))
        # words joined across tight punctuation: "n-i-k-e", "kes.trel", "paypal-merchant"
        key = t.text
        for j in range(i + 1, min(n, i + MAX_JOIN)):
            prev, cur = toks[j - 1], toks[j]
            gap = _gap(folded, prev, cur)
            if cur.han or not gap or len(gap) > 2 or not all(ch in TIGHT_PUNCT for ch in gap):
                break
            key += cur.text
            out.append(Candidate(key, t.start, cur.end, "joined", j - i + 1, i))
        out.extend(_punct_letter_joins(folded, toks, i))
        # phrases of space-separated words, for multi-word marks and product names
        key = t.text
        for j in range(i + 1, min(n, i + max_phrase) if max_phrase > 1 else 0):
            prev, cur = toks[j - 1], toks[j]
            gap = _gap(folded, prev, cur)
            if cur.han or len(gap) > 3 or any(ch.isalnum() for ch in gap):
                break
            key += cur.text
            out.append(Candidate(key, t.start, cur.end, "phrase", j - i + 1, i))
    # runs of spaced single letters: "g u c c i", "l.v.", "k e s t r e l"
    i = 0
    while i < n:
        if toks[i].han or len(toks[i].text) != 1:
            i += 1
            continue
        j = i
        while (j + 1 < n and not toks[j + 1].han and len(toks[j + 1].text) == 1
               and 0 < len(_gap(folded, toks[j], toks[j + 1])) <= 3
               and not any(ch.isalnum() for ch in _gap(folded, toks[j], toks[j + 1]))):
            j += 1
        if j > i:
            key = "".join(toks[k].text for k in range(i, j + 1))
            out.append(Candidate(key, toks[i].start, toks[j].end, "spaced", j - i + 1, i))
        i = j + 1
    return out


def _punct_letter_joins(folded: str, toks: list[Token], i: int) -> list[Candidate]:
    """Words joined across one punctuation character read as a letter ("p!g3on" -> "pig3on"),
    and a word opened by one ("(lovia" -> "clovia"). No spaces may be involved."""
    out: list[Candidate] = []
    t = toks[i]
    start = t.start
    key = t.text
    before = folded[t.start - 1] if t.start else ""
    if before in PUNCT_LETTERS and (t.start == 1 or not folded[t.start - 2].isalnum()) and (
            t.start < 2 or folded[t.start - 2] in " \t\n"):
        key = PUNCT_LETTERS[before] + key
        start = t.start - 1
        out.append(Candidate(key, start, t.end, "joined", 1, i))
    used = False
    for j in range(i + 1, min(len(toks), i + MAX_JOIN)):
        prev, cur = toks[j - 1], toks[j]
        gap = _gap(folded, prev, cur)
        if cur.han or len(gap) != 1 or gap not in PUNCT_LETTERS:
            break
        key += PUNCT_LETTERS[gap] + cur.text
        used = True
        out.append(Candidate(key, start, cur.end, "joined", j - i + 1, i))
    return out if (used or start != t.start) else []
