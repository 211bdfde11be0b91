"""Plain values that go in and out of the matcher.

The matcher is pure: it takes these values and returns these values. It never imports from
``db``, ``tasks``, ``crawler``, ``web``, Scrapy, Celery or SQLAlchemy; callers convert their rows
into these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Kind(StrEnum):
    """What a finding is. Only the alertable kinds ever become alerts."""

    TRADEMARK = "trademark"  # the mark (or a disguise of it) used on a listing
    PRODUCT = "product"  # the rights holder's product names / model numbers used
    NOMINATIVE = "nominative"  # "case for X", "compatible with X": low risk, never an alert
    OTHER_CLASS = "other_class"  # the word used for goods outside the mark's Nice classes
    GENERIC = "generic"  # a dictionary-word mark used as that word ("polo neck", "apple flavour")
    AUTHORISED = "authorised"  # listed by an authorised seller or the owner's own store

    @property
    def alertable(self) -> bool:
        return self in (Kind.TRADEMARK, Kind.PRODUCT)


class Tier(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class MarkRecord:
    """A registered mark, as the matcher needs it."""

    mark_id: str
    mark: str  # the word mark, e.g. "KESTREL"
    owner_id: str = ""  # the rights holder (tenant) that owns it
    aliases: tuple[str, ...] = ()  # registered forms in other scripts, e.g. ("墨朗", "Mo Lang")
    nice_classes: frozenset[int] = frozenset()
    owner: str = ""  # the owner's display name
    famous: bool = False  # famous marks are protected across classes


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """A rights holder's product: names and model numbers to find, and a retail price."""

    product_id: str
    mark_id: str
    name: str
    model_numbers: tuple[str, ...] = ()
    retail_price: Decimal | None = None
    currency: str | None = None  # ISO 4217


@dataclass(frozen=True, slots=True)
class AuthorisedSeller:
    """A seller the rights holder authorises; ``marketplace=None`` means on every marketplace."""

    owner_id: str
    seller: str
    marketplace: str | None = None


@dataclass(frozen=True, slots=True)
class OfficialPhoto:
    """One hashed form (``matcher.photos``) of a rights holder's official product photo."""

    photo_id: str
    product_id: str
    name: str  # how a reviewer knows the photo, e.g. 'trail-runner-side.jpg'
    phash: int
    dhash: int
    form: str = ""  # "" for the photo as it is, else the edit it was hashed under ("mirror" ...)


@dataclass(frozen=True, slots=True)
class ListingPhoto:
    """One photo of a listing: ``ref`` says which (e.g. "image 2"), the hashes what it shows."""

    ref: str
    phash: int
    dhash: int


@dataclass(frozen=True, slots=True)
class ListingText:
    """One marketplace listing, as text and a few context fields."""

    listing_id: str
    title: str
    description: str = ""
    price: Decimal | None = None
    currency: str | None = None
    seller: str | None = None
    marketplace: str | None = None  # marketplace code, compared with AuthorisedSeller.marketplace
    category: str | None = None  # the marketplace's category path, e.g. "Shoes > Running"
    condition: str | None = None  # "new", "used", ... (None means unknown)
    photos: tuple[ListingPhoto, ...] = ()  # its photos' perceptual hashes
    # text read in its photos: (which photo, e.g. "image 2", the text), matched like a title
    image_text: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Reason:
    """One line of explanation a reviewer can read: which check fired, on what text, worth what."""

    check: str  # a stable name, e.g. "exact", "confusable", "fuzzy", "cue_phrase", "price"
    detail: str  # human sentence, e.g. 'title contains "K3STREL", leetspeak for KESTREL'
    span: str | None = None  # the text span in the listing that the check matched
    points: int = 0  # contribution to the score (may be negative)

    def as_dict(self) -> dict[str, object]:
        return {"check": self.check, "detail": self.detail, "span": self.span, "points": self.points}


@dataclass(frozen=True, slots=True)
class Match:
    """A finding for one listing and one mark."""

    listing_id: str
    mark_id: str
    kind: Kind
    score: int  # 0..100
    tier: Tier
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    product_id: str | None = None
    # the calibration features present (``matcher.calibration.FEATURES``): what the score is made of
    features: frozenset[str] = frozenset()

    @property
    def alertable(self) -> bool:
        return self.kind.alertable

    def as_dict(self) -> dict[str, object]:
        return {
            "listing_id": self.listing_id,
            "mark_id": self.mark_id,
            "score": self.score,
            "tier": self.tier.value,
            "kind": self.kind.value,
            "reasons": [r.as_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """Knobs for scoring. A score is the estimated chance, in percent, that a reviewer confirms
    the finding (``matcher.calibration``). Scores at or above ``high`` are HIGH, and so on; below
    ``low`` nothing is reported."""

    high: int = 90
    medium: int = 70
    low: int = 50
    # FX rates to compare a listing's price with a product's retail price: units of the key
    # currency per 1 USD, e.g. {"USD": 1, "EUR": 0.92, "CNY": 7.2}.
    fx_per_usd: tuple[tuple[str, float], ...] = (("USD", 1.0), ("EUR", 0.92), ("GBP", 0.79),
                                                  ("CNY", 7.2), ("JPY", 150.0))
    # a new item priced below this share of retail is suspicious
    low_price_ratio: float = 0.35
    # a listing photo shows an official photo within this many bits of pHash (and of dHash, a
    # second opinion): see matcher.photos
    photo_phash_max: int = 8
    photo_dhash_max: int = 16

    def tier_for(self, score: int) -> Tier | None:
        if score >= self.high:
            return Tier.HIGH
        if score >= self.medium:
            return Tier.MEDIUM
        if score >= self.low:
            return Tier.LOW
        return None
