"""Chinese words: where a run of Han characters breaks into words, and which words are common.

Chinese is written without spaces, so a two-character alias can sit inside an ordinary word:
小米 (XIAOMI) in 小米粥 (millet porridge). A short alias only counts where the run's words break
around it. jieba's dictionary and its maximum-probability segmentation decide the words
(no HMM: an unknown name such as 墨朗 falls apart into characters, which still break around it).
jieba is loaded on first use, once per process, and only for runs where a short alias was seen.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from pathlib import Path

_lock = threading.Lock()


@cache
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        tk = jieba.Tokenizer()
        tk.initialize()
    return tk


def word_breaks(run: str) -> frozenset[int]:
    """Offsets in ``run`` where one word ends and the next begins (0 and len(run) included)."""
    out = {0}
    at = 0
    for word in _tokenizer().cut(run, HMM=False):
        at += len(word)
        out.add(at)
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
