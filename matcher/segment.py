"""Word boundaries in runs of scripts written without spaces (Chinese, Thai, Japanese kana).

A short alias can sit inside an ordinary word: 小米 (XIAOMI) in 小米粥 (millet porridge), a Thai
name inside a longer Thai word. A registered form in such a run only counts where the run's words
break around it. Each script has its own segmenter; a run mixing scripts (ナイキ靴, Thai after
Chinese) first breaks where the script changes:

Chinese   jieba's dictionary and its maximum-probability segmentation (no HMM: an unknown name
          such as 墨朗 falls apart into characters, which still break around it). jieba is loaded
          on first use, once per process.
Thai      PyThaiNLP's ``newmm`` (dictionary maximal matching over Thai character clusters, so a
          break never splits a syllable), with the registered Thai forms added to its dictionary:
          an unknown brand name is not cut in two (ไนกี้ stays one word).
kana      katakana and hiragana words break where the script changes (katakana loan words and
          names against hiragana particles and Chinese characters); no dictionary segmenter
          here: MeCab-style tools need a downloaded dictionary.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

from matcher.normalise import HAN_RE, KANA_RE, THAI_RE

_lock = threading.Lock()
_HIRAGANA_END = "\u309f"
_PROLONGED = "\u30fc"  # ー continues the word before it, whichever kana it is


@cache
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        tk = jieba.Tokenizer()
        tk.initialize()
    return tk


def script_of(ch: str) -> str:
    """"han", "thai", "hiragana", "katakana", or "other" (Lao and the rest)."""
    if THAI_RE.match(ch):
        return "thai"
    if KANA_RE.match(ch):
        if ch == _PROLONGED:
            return "prolonged"
        return "hiragana" if ch <= _HIRAGANA_END else "katakana"
    if HAN_RE.match(ch):
        return "han"
    return "other"


def script_pieces(run: str) -> list[tuple[str, int, str]]:
    """The run cut where its script changes: (script, offset, text)."""
    out: list[tuple[str, int, str]] = []
    for i, ch in enumerate(run):
        s = script_of(ch)
        if s == "prolonged":  # "スーパー": the mark belongs to the kana before it
            s = out[-1][0] if out and out[-1][0] in ("hiragana", "katakana") else "katakana"
        if out and out[-1][0] == s:
            script, at, text = out[-1]
            out[-1] = (script, at, text + ch)
        else:
            out.append((s, i, ch))
    return out


@cache
def _thai_dictionary() -> frozenset[str]:
    from pythainlp.corpus import thai_words

    return frozenset(thai_words())


@lru_cache(maxsize=8)
def _thai_trie(extra: frozenset[str]):
    """PyThaiNLP's word list plus ``extra`` (the registered Thai forms), as newmm's trie."""
    from pythainlp.util import dict_trie

    with _lock:
        return dict_trie(_thai_dictionary() | extra)


def is_thai_word(word: str) -> bool:
    """A word of PyThaiNLP's Thai dictionary."""
    return word in _thai_dictionary()


def thai_words_of(text: str, extra: frozenset[str] = frozenset()) -> list[str]:
    """Thai text cut into words by newmm, knowing the words in ``extra`` too."""
    from pythainlp.tokenize import word_tokenize

    return word_tokenize(text, custom_dict=_thai_trie(extra), engine="newmm", keep_whitespace=False)


def words_of(run: str, extra: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """The words of a run, each with its offset: by script, then by each script's segmenter.
    ``extra`` holds registered Thai forms that newmm must keep whole."""
    out: list[tuple[int, str]] = []
    for script, at, text in script_pieces(run):
        if script == "han":
            words: Iterable[str] = _tokenizer().cut(text, HMM=False)
        elif script == "thai":
            words = thai_words_of(text, extra)
        else:
            words = (text,)
        for w in words:
            out.append((at, w))
            at += len(w)
    return out


def word_breaks(run: str, extra: frozenset[str] = frozenset()) -> frozenset[int]:
    """Offsets in ``run`` where one word ends and the next begins (0 and len(run) included)."""
    out = {0, len(run)}
    for at, w in words_of(run, extra):
        out.add(at)
        out.add(at + len(w))
    return frozenset(out)


@cache
def _frequencies() -> dict[str, int]:
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    out: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2:
                out[parts[0]] = int(parts[1])
    return out


def is_common_word(word: str) -> bool:
    """A word of jieba's dictionary (an ordinary word or a known name)."""
    return word in _frequencies()
