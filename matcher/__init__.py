"""The matcher: pure code that finds registered marks, and disguises of them, in listing text.

It imports nothing from ``db``, ``tasks``, ``crawler``, ``web``, Scrapy, Celery or SQLAlchemy.

    index = build_index(marks, products=(), sellers=(), config=MatcherConfig(), photos=())
    matches = index.match(listing)          # every finding, alertable or not, best first
    for listing, matches in index.match_many(listings): ...
"""

from matcher.index import MarkIndex, build_index
from matcher.types import (
    AuthorisedSeller,
    Kind,
    ListingPhoto,
    ListingText,
    MarkRecord,
    Match,
    MatcherConfig,
    OfficialPhoto,
    ProductRecord,
    Reason,
    Tier,
)

__all__ = [
    "AuthorisedSeller",
    "Kind",
    "ListingPhoto",
    "ListingText",
    "MarkIndex",
    "MarkRecord",
    "Match",
    "MatcherConfig",
    "OfficialPhoto",
    "ProductRecord",
    "Reason",
    "Tier",
    "build_index",
]
