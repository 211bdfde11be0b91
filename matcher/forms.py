"""The registered forms of marks and the hits found on them: what the mark index and its checks
share (``matcher.index``, ``matcher.substitution``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Variant:
    """One registered form of a mark: the mark itself, an alias, or a romanised alias."""

    vid: int
    mark_idx: int
    text: str
    source: str  # "mark" | "alias" | "romanised" | "short" (first two characters of a long alias)
    key: str  # compact folded form (Han characters kept as they are)
    words: tuple[str, ...]
    run: bool  # written in a script without spaces (Han, Thai, kana): found by substring search
    loose: str = ""
    fz: str = ""
    phon: str = ""
    pinyin: tuple[str, ...] = ()
    loose_words: tuple[str, ...] = ()
    fz2: str = ""  # fuzzy key with letter pairs read one by one ("clovia", not "dovia")
    loose2: str = ""  # loose form with letter pairs read one by one
    skel: tuple[str, str] = ("", "")  # consonant skeleton as Thai and as Japanese borrow it


@dataclass(slots=True)
class Hit:
    """A check that fired for one registered form on one stretch of the listing's folded text."""

    vid: int
    check: str
    start: int
    end: int
    base: int
    detail: str
    disguise: bool = False  # the span needed unfolding (invisible/confusable/...): score higher
    stretch: bool = False  # a typo beyond ``allowed_edits``: kept only if the listing supports it

    def _replace_span(self, start: int, end: int) -> Hit:
        return Hit(self.vid, self.check, start, end, self.base, self.detail, self.disguise,
                   self.stretch)


def add(table: dict, key, value) -> None:
    """Append ``value`` to ``table[key]``, storing a bare value until a second one comes (the
    deletion table has millions of keys; most hold one value)."""
    cur = table.get(key)
    if cur is None:
        table[key] = value
    elif isinstance(cur, list):
        if value not in cur:
            cur.append(value)
    elif cur != value:
        table[key] = [cur, value]


def get(table: dict, key) -> list:
    cur = table.get(key)
    if cur is None:
        return []
    return cur if isinstance(cur, list) else [cur]
