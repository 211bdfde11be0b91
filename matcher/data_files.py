"""Loaders for the data files in ``matcher/data``: word lists and tables live there, not in code.

Every loader is cached: the files are read once per process.
"""

from __future__ import annotations

import csv
import unicodedata
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")


def _lines(name: str) -> list[str]:
    """Non-empty, non-comment lines of a UTF-8 text file in ``matcher/data``."""
    out = []
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            out.append(line)
    return out


@cache
def confusable_prototypes() -> dict[str, str]:
    """UTS #39 confusables: one source code point -> its prototype string (the skeleton)."""
    table: dict[str, str] = {}
    for line in _lines("confusables.tsv"):
        src, target = line.split("\t")
        table[chr(int(src, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


@cache
def default_ignorable() -> frozenset[int]:
    """Code points with the Unicode property Default_Ignorable_Code_Point."""
    cps: set[int] = set()
    for line in _lines("default_ignorable.txt"):
        lo, _, hi = line.strip().partition("..")
        cps.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return frozenset(cps)


@cache
def lookalikes() -> dict[str, tuple[str, str]]:
    """Look-alike letter groups and leetspeak that UTS #39 leaves out:
    source -> (target, group) with group "digraph", "leet" or "shape"."""
    table: dict[str, tuple[str, str]] = {}
    for line in _lines("lookalikes.tsv"):
        src, target, group = line.split("\t")[:3]
        table[src] = (target, group.strip())
    return table


@cache
def dictionary_words() -> frozenset[str]:
    """Ordinary English words (lowercase). A listing word that is one of these is not a typo."""
    return frozenset(_lines("words.txt"))


#: public brand lists in ``data/brands`` read besides ``known_brands.txt`` (their provenance is in
#: ``data/brands/README.md``)
BRAND_LISTS = ("device_detector.txt", "nsi_shops.txt", "nsi_other.txt", "simple_icons.txt",
               "openfoodfacts_taxonomy.txt", "openfoodfacts_products.txt")


def _brand_key(name: str) -> str:
    """Compact form of a brand name: case and accents folded, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


@cache
def known_brands() -> frozenset[str]:
    """Real brands (compact lowercase keys): close to a mark is not the same as imitating it."""
    names = list(_lines("known_brands.txt"))
    for name in BRAND_LISTS:
        names.extend(_lines(f"brands/{name}"))
    keys = {_brand_key(n) for n in names}
    return frozenset(k for k in keys if len(k) >= 3)


@cache
def category_classes() -> dict[str, frozenset[int]]:
    """Marketplace category name (casefolded) -> Nice classes of the goods listed under it."""
    table: dict[str, frozenset[int]] = {}
    with (DATA_DIR / "categories.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            classes = frozenset(int(c) for c in row["nice_classes"].split("|") if c.strip())
            table[row["category"].strip().casefold()] = classes
    return table


@cache
def cue_phrases() -> tuple[tuple[str, str], ...]:
    """Counterfeit cue phrases: (phrase, kind) with kind "phrase" (a word sequence) or "run" (in a
    script written without spaces: found as a string)."""
    out = []
    for line in _lines("cue_phrases.txt"):
        phrase = line.split("\t")[0].strip()
        out.append(phrase)
    from matcher.normalise import RUN_RE  # the table module imports this one

    return tuple((p, "run" if RUN_RE.search(p) else "phrase") for p in out)


@cache
def cue_phrases_not_after_number() -> frozenset[str]:
    """Cue phrases marked ``not-after-number`` in ``cue_phrases.txt`` ("KW": after a number it
    is kilowatts), as written there."""
    out = set()
    for line in _lines("cue_phrases.txt"):
        parts = line.split("\t")
        if len(parts) > 1 and parts[1].strip() == "not-after-number":
            out.add(parts[0].strip())
    return frozenset(out)


@cache
def nominative_phrases() -> tuple[str, ...]:
    """Phrases that, right before a mark, signal nominative/compatibility use ("case for",
    "untuk", "สำหรับ"): those of ``nominative_phrases.txt`` and of the head-first languages."""
    return tuple(line.strip().casefold() for name in ("nominative_phrases.txt",
                                                      "nominative_phrases_head_first.txt")
                 for line in _lines(name))


@cache
def head_first_phrases() -> frozenset[str]:
    """The referential phrases of head-first languages (``nominative_phrases_head_first.txt``):
    the product's noun may stand between them and the brand ("untuk HP Samsung")."""
    return frozenset(line.strip().casefold() for line in _lines("nominative_phrases_head_first.txt"))


@cache
def fashion_classes() -> frozenset[int]:
    """Nice classes where marketplaces forbid nominative use of a mark (fashion, jewellery)."""
    return frozenset(int(x) for line in _lines("nominative_forbidden_classes.txt") for x in line.split())


@cache
def han_variants() -> dict[str, str]:
    """Traditional Chinese character -> its simplified form (``han_variants.tsv``)."""
    out: dict[str, str] = {}
    for line in _lines("han_variants.tsv"):
        trad, simp = line.split("\t")[:2]
        out[trad] = simp
    return out


@cache
def korean_particles() -> frozenset[str]:
    """Korean particles written onto a noun (``korean_particles.txt``)."""
    return frozenset(line.strip() for line in _lines("korean_particles.txt"))
