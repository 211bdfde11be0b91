"""Scores that estimate the chance a reviewer confirms an alert.

Each finding is described by a few binary features (which family of check found the mark, where
it stands, what the category and the words around it say); a logistic model turns them into a
probability, and the score is that probability in percent. The model is fitted on the
development part of the real-titles set by ``python -m matcher.calibrate`` (``make calibrate``)
and kept in ``data/calibration.json`` with what it was fitted on; the held part measures it
(``make eval`` prints the reliability table).

Every feature that is present contributes its coefficient to the log-odds. A reason's ``points``
are that contribution in tenths of log-odds (+10 multiplies the odds by e), so a reviewer sees
which reasons raised or lowered the score; the first reason also carries the base rate and the
traits of the mark itself (an ordinary word, a short mark).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache

from matcher.data_files import DATA_DIR

MODEL_FILE = DATA_DIR / "calibration.json"

#: how the mark was found; exactly one per finding
FAMILIES = ("registered", "disguised", "near", "far", "fused", "combosquat", "typosquat")
#: what else is known; any number per finding
CONTEXT = ("leading", "class_overlap", "other_class", "class_unknown", "nominative_forbidden",
           "cue_phrase", "brand_abuse", "dictionary_mark", "short_mark", "description_only")
FEATURES = FAMILIES + CONTEXT
#: evidence the labelled set has no example of, with a coefficient set by judgment rather than
#: fitted (kept apart in ``calibration.json`` as "priors"): no labelled real listing carries a
#: price, so "a new item below 35% of its product's retail price" (a vendor's counterfeit rule,
#: see the domain brief) raises the odds by e (x2.7) until labelled prices can refit it
PRIORS = {"price_low": 1.0, "official_photo": 1.5, "photo": -1.0, "in_image": -0.5}
# No labelled real listing carries a photo either: a listing photo that is the rights holder's
# official product photo (``matcher.photos``) beside a mark found in the text raises the odds by
# e^1.5 (x4.5), as the price does by judgment; a finding made by the photo alone (family "photo",
# the mark nowhere in the text) starts from the base rate lowered by e (it is a MEDIUM alert).
# A mark read in a photo (OCR) rather than in the text counts as the same finding in a title,
# less 0.5 for the reading's noise.

#: the reason (check name) that shows each context feature's contribution
REASON_OF = {"leading": "leading", "class_overlap": "nice_class", "other_class": "other_class",
             "nominative_forbidden": "nominative_forbidden", "cue_phrase": "cue_phrase",
             "brand_abuse": "brand_abuse", "price_low": "price",
             "official_photo": "official_photo", "in_image": "in_image"}

#: check name of a finding's main reason -> its family (typos and fused forms are decided with
#: their distance and affixes, in ``family_of``)
CHECK_FAMILY = {
    "exact": "registered", "alias": "registered", "model_number": "registered",
    "product_name": "registered",
    "invisible": "disguised", "compatibility": "disguised", "diacritic": "disguised",
    "confusable": "disguised", "leetspeak": "disguised", "lookalike": "disguised",
    "separators": "disguised", "split": "disguised", "loose": "disguised",
    "homophone": "near", "word_substitution": "near", "short_form": "near",
    "phonetic": "far", "transliteration": "far", "product_word": "far",
    "combosquat": "combosquat", "typosquat": "typosquat",
}


def family_of(check: str, base: int = 0, stretch: bool = False) -> str:
    """The family of a main check; ``base`` is the hit's strength (a typo of one edit or a
    doubled letter is 68 or 72, two edits 64; a fused form with ordinary affixes 70)."""
    if check == "typo":
        return "near" if base >= 68 and not stretch else "far"
    if check == "fused":
        return "fused" if base >= 70 else "far"
    return CHECK_FAMILY.get(check, "far")


@dataclass(frozen=True)
class Model:
    intercept: float
    coef: dict[str, float]
    meta: dict = field(default_factory=dict)

    def log_odds(self, present: set[str]) -> float:
        return self.intercept + sum(self.coef.get(f, 0.0) for f in present)

    def probability(self, present: set[str]) -> float:
        z = self.log_odds(present)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def to_json(self) -> dict:
        return {"intercept": self.intercept, "coef": self.coef, **self.meta}

    @classmethod
    def from_json(cls, d: dict) -> Model:
        meta = {k: v for k, v in d.items() if k not in ("intercept", "coef")}
        coef = {k: float(v) for k, v in d["coef"].items()}
        for k, v in d.get("priors", {}).items():
            coef.setdefault(k, float(v))
        return cls(float(d["intercept"]), coef, meta)


@cache
def model() -> Model:
    with MODEL_FILE.open(encoding="utf-8") as fh:
        return Model.from_json(json.load(fh))


def points(value: float) -> int:
    """A log-odds contribution as reason points (tenths of log-odds)."""
    return round(10 * value)
