"""What the spiders yield. Spiders parse and yield these; pipelines validate and persist them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass
class SnapshotItem:
    """The response a listing was read from, kept as evidence (written once, never updated)."""

    url: str
    status: int
    body: bytes
    fetched_at: datetime  # timezone-aware UTC
    headers: dict[str, str] = field(default_factory=dict)
    ip_address: str | None = None


@dataclass
class ListingItem:
    """One marketplace listing, as read from its page."""

    marketplace: str  # the marketplace's code, e.g. "shopa"
    listing_id: str  # the marketplace's own id for the listing
    url: str
    title: str
    description: str = ""
    price: Decimal | None = None
    currency: str | None = None  # ISO 4217
    seller: str | None = None
    seller_url: str | None = None
    images: list[str] = field(default_factory=list)
    category: str | None = None
    brand: str | None = None  # the brand the page declares (structured data), if any
    condition: str | None = None  # "new", "used", "refurbished"
    search_term: str | None = None  # the watch term whose search found it
    rank: int | None = None  # 1-based position in that search's results
    snapshot: SnapshotItem | None = None
    stored_id: int | None = None  # the listing's row, once PersistPipeline has stored it
