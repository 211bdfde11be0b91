"""The matcher's reasons in plain language, and a glossary of listing words.

Every check the matcher names has a template here (``TEMPLATES``): a heading a reviewer reads at a
glance and a sentence built around the text the check matched. The matcher's own ``detail`` is
kept beside it, for the reviewer who wants the exact finding. An unknown check (a newer matcher,
an older store) still reads: its name made into words, and its detail.

The glossary (``web/data/glossary.tsv``) translates counterfeit cue phrases and common listing
words of Chinese, Japanese, Thai, Vietnamese and Indonesian listings into the reviewer's language.
It is a data file so a team can add its own words without touching code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "glossary.tsv"

#: check -> (heading, sentence); ``{span}`` is the matched text, quoted, or "the listing"
TEMPLATES: dict[str, tuple[str, str]] = {
    # the mark itself, or what the registry says of it
    "exact": ("The mark, as registered", "The listing uses the mark as it is registered: {span}."),
    "alias": ("A registered alias", "The listing uses one of the mark's registered aliases: {span}."),
    "model_number": ("A model number of the product",
                     "The listing names a model number of the rights holder's product: {span}."),
    "product_name": ("The product's name", "The listing names the rights holder's product: {span}."),
    "product_word": ("A word of the product's name",
                     "A distinctive word of the product's name appears: {span}."),
    "with_mark": ("Mark and product together", "The mark appears in the same listing as the product."),
    # disguises
    "invisible": ("Hidden characters", "Invisible characters are slipped into the mark to dodge "
                  "search filters: {span}."),
    "compatibility": ("Look-alike character forms", "The mark is written in full-width or other "
                      "compatibility characters that look the same: {span}."),
    "diacritic": ("Accents added", "Accents are added to the mark's letters to dodge filters: {span}."),
    "confusable": ("Letters from another alphabet", "Letters of another alphabet that look the "
                   "same (e.g. Cyrillic for Latin) spell the mark: {span}."),
    "leetspeak": ("Digits for letters", "Digits or symbols stand in for the mark's letters: {span}."),
    "lookalike": ("Look-alike spelling", "Characters that look alike spell the mark: {span}."),
    "separators": ("Mark cut by separators", "The mark is cut by spaces, dots or dashes: {span}."),
    "split": ("Mark split in parts", "The mark is split into parts across the text: {span}."),
    "loose": ("Mark with extra marks", "The mark is written with extra characters around its "
              "letters: {span}."),
    # near forms
    "typo": ("A misspelling of the mark", "A near spelling of the mark: {span}."),
    "homophone": ("Sounds like the mark", "A word that sounds like the mark: {span}."),
    "phonetic": ("Sounds like the mark", "A word that sounds like the mark: {span}."),
    "word_substitution": ("A word swapped", "The mark with one of its words swapped: {span}."),
    "short_form": ("A short form of the mark", "An abbreviation or short form of the mark: {span}."),
    "transliteration": ("The mark in another script", "The mark written in another script or "
                        "transliterated: {span}."),
    "fused": ("Mark fused with other words", "The mark is run together with other words: {span}."),
    "combosquat": ("Mark inside a web address", "A web address that contains the mark: {span}."),
    "typosquat": ("A web address misspelling the mark", "A web address that misspells the mark: "
                  "{span}."),
    # how the mark is used
    "leading": ("Mark opens the title", "The mark opens the title, where sellers put the brand of "
                "what they sell."),
    "brand_abuse": ("Mark used as a keyword", "Words such as {span} next to the mark use it to sell "
                    "other goods (\"like\", \"style\", \"alternative to\")."),
    "nominative": ("Names the product it fits", "The mark is used to say what this fits ({span}): "
                   "usually allowed, unless the item copies the brand."),
    "nominative_forbidden": ("\"Fits\" is no defence here", "The listing says it fits or is for "
                             "the brand ({span}), but for fashion and jewellery marketplaces do not "
                             "allow that on the same kind of goods."),
    "generic": ("An ordinary word here", "The mark's word is used in its ordinary sense ({span}), "
                "not as a brand."),
    "cue_phrase": ("Counterfeit wording", "The listing uses words that sellers of copies use: "
                   "{span}."),
    "price": ("Price far below retail", "The price, {span}, is far below the product's retail price."),
    "authorised": ("An authorised seller", "The seller {span} is on the rights holder's list of "
                   "authorised sellers."),
    # the goods
    "nice_class": ("Goods the mark covers", "The category {span} is in a class the mark is "
                   "registered for."),
    "other_class": ("Goods the mark does not cover", "The category {span} is outside the classes "
                    "the mark is registered for."),
    "famous": ("A famous mark", "The mark is famous, so it is protected outside its registered "
               "classes too (category {span})."),
    # the listing's photos
    "in_image": ("Mark in a photo", "The listing's photo shows the mark as text: {span}."),
    "official_photo": ("The brand's own photo", "A listing photo is the rights holder's official "
                       "product photo (perceptual hash): {span}."),
    "photo_only": ("Found in the photos only", "The mark is in the photos, not in the listing's "
                   "text: {span}."),
    "cue": ("Counterfeit wording", "The listing uses words that sellers of copies use: {span}."),
}


@dataclass(frozen=True)
class Explained:
    check: str
    heading: str
    sentence: str
    detail: str  # the matcher's own words
    span: str | None
    points: int | None
    mark: str | None


def _quoted(span: Any) -> str:
    if span is None or str(span).strip() == "":
        return "the listing"
    return f"\u201c{str(span).strip()[:200]}\u201d"


def explain(reason: Mapping[str, Any]) -> Explained:
    """One reason (as the store keeps it: ``check``, ``detail``, ``span``, ``points``) in words."""
    check = str(reason.get("check") or "unknown")
    span = reason.get("span")
    points = reason.get("points")
    heading, sentence = TEMPLATES.get(
        check, (check.replace("_", " ").capitalize(), "{detail}"))
    detail = str(reason.get("detail") or "")
    return Explained(
        check=check, heading=heading,
        sentence=sentence.format(span=_quoted(span), detail=detail or check),
        detail=detail, span=None if span is None else str(span),
        points=points if isinstance(points, int) else None,
        mark=reason.get("mark") if isinstance(reason.get("mark"), str) else None,
    )


def explain_all(reasons: Iterable[Mapping[str, Any]] | None) -> list[Explained]:
    return [explain(r) for r in reasons or [] if isinstance(r, Mapping)]


def short(reason: Mapping[str, Any]) -> str:
    """The heading with the matched text, for one line in the queue."""
    e = explain(reason)
    return f"{e.heading}: {e.span}" if e.span and e.check not in ("leading", "with_mark") else e.heading


@dataclass(frozen=True)
class Term:
    phrase: str
    lang: str
    meaning: str
    note: str


class GlossaryError(ValueError):
    pass


@functools.cache
def glossary() -> tuple[Term, ...]:
    return load_glossary(GLOSSARY_FILE)


def load_glossary(path: Path) -> tuple[Term, ...]:
    """Read a glossary file; a malformed line is an error naming the file and the line."""
    terms: list[Term] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) not in (3, 4) or not cols[0].strip() or not cols[2].strip():
            raise GlossaryError(f"{path.name} line {n}: expected phrase, language, meaning and an "
                                "optional note, separated by tabs")
        terms.append(Term(cols[0].strip(), cols[1].strip(), cols[2].strip(),
                          cols[3].strip() if len(cols) == 4 else ""))
    return tuple(terms)


@functools.cache
def _pattern(phrase: str) -> re.Pattern[str]:
    p = re.escape(phrase.casefold())
    if phrase.isascii():  # Latin phrases as whole words: "rep" is not in "repair"
        p = rf"(?<![0-9a-z]){p}(?![0-9a-z])"
    return re.compile(p)


def glossary_for(*texts: str | None, terms: Iterable[Term] | None = None) -> list[Term]:
    """The glossary's terms found in the texts, in the order of the glossary, longest phrase
    first where one contains another (顶级复刻 before 复刻)."""
    hay = "\n".join(t for t in texts if t).casefold()
    found: list[Term] = []
    covered: list[str] = []
    pool = sorted(terms if terms is not None else glossary(), key=lambda t: -len(t.phrase))
    for t in pool:
        if _pattern(t.phrase).search(hay) and not any(t.phrase.casefold() in c for c in covered):
            found.append(t)
            covered.append(t.phrase.casefold())
    order = {t.phrase: i for i, t in enumerate(terms if terms is not None else glossary())}
    return sorted(found, key=lambda t: order.get(t.phrase, 0))
