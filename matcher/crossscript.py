"""Chinese text and Latin marks: pinyin keys for homophones and transliterations.

pypinyin gives the reading of each Han character. Readings are taken per character (cached) and
without tones, the same way for registered aliases and for listing text, so the comparison is
symmetric: 墨郎 (mo lang) and 墨朗 (mo lang) have the same key; 耐克 reads "naike".
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
