"""Writing what the crawler read: listing upserts, sightings and write-once evidence snapshots."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import CrawlSighting, EvidenceSnapshot, Listing, ListingState

#: Fields the matcher reads; a change in any of them means the listing is matched again.
MATCHED_FIELDS = ("title", "description", "price", "currency", "seller", "category", "condition")


@dataclass(frozen=True)
class ListingFields:
    external_id: str
    url: str
    title: str
    description: str = ""
    price: Decimal | None = None
    currency: str | None = None
    seller: str | None = None
    seller_url: str | None = None
    images: tuple[str, ...] = ()
    category: str | None = None
    brand: str | None = None
    condition: str | None = None

    def content_hash(self) -> str:
        data = {k: getattr(self, k) for k in MATCHED_FIELDS}
        data["price"] = None if self.price is None else str(self.price)
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class UpsertOutcome:
    listing_id: int
    created: bool
    changed: bool  # matchable content differs from what was stored


def upsert_listing(
    session: Session,
    marketplace_id: int,
    fields: ListingFields,
    *,
    seen_at: datetime,
    crawl_run_id: int | None,
) -> UpsertOutcome:
    digest = fields.content_hash()
    values: dict[str, Any] = {
        "url": fields.url,
        "title": fields.title,
        "description": fields.description,
        "price": fields.price,
        "currency": fields.currency,
        "seller": fields.seller,
        "seller_url": fields.seller_url,
        "images": list(fields.images),
        "category": fields.category,
        "brand": fields.brand,
        "condition": fields.condition,
        "content_hash": digest,
        "state": ListingState.LIVE,
        "last_seen_at": seen_at,
        "last_crawl_run_id": crawl_run_id,
    }
    listing = session.scalar(
        sa.select(Listing).filter_by(marketplace_id=marketplace_id, external_id=fields.external_id)
    )
    if listing is None:
        listing = Listing(
            marketplace_id=marketplace_id,
            external_id=fields.external_id,
            first_seen_at=seen_at,
            **values,
        )
        session.add(listing)
        session.flush()
        return UpsertOutcome(listing.id, created=True, changed=True)
    changed = listing.content_hash != digest
    for k, v in values.items():
        setattr(listing, k, v)
    session.flush()
    return UpsertOutcome(listing.id, created=False, changed=changed)


def record_sighting(
    session: Session, crawl_run_id: int, listing_id: int, search_term: str, rank: int | None
) -> None:
    key = {"crawl_run_id": crawl_run_id, "listing_id": listing_id, "search_term": search_term}
    if session.get(CrawlSighting, key) is None:
        session.add(CrawlSighting(**key, rank=rank))


def compress(body: bytes) -> bytes:
    # zlib is in the standard library on every machine; evidence must be readable in ten years.
    return zlib.compress(body, 6)


def decompress(snapshot: EvidenceSnapshot) -> bytes:
    if snapshot.compression != "zlib":
        raise ValueError(f"unknown evidence compression {snapshot.compression!r}")
    if snapshot.body is None:
        raise ValueError("this capture's body is in the evidence store, not in the database")
    return zlib.decompress(snapshot.body)


def add_snapshot(
    session: Session,
    *,
    listing_id: int,
    crawl_run_id: int | None,
    url: str,
    http_status: int,
    body: bytes,
    fetched_at: datetime,
    headers: dict[str, str] | None = None,
    ip_address: str | None = None,
    archive: Callable[[], Any] | None = None,
) -> EvidenceSnapshot:
    """Insert a new snapshot. Snapshots are never updated: a later fetch is a new row. The same
    bytes captured again in the same crawl are not stored twice. ``archive``, if given, writes
    the capture to the object store (a WARC record, ``db.captures.WarcArchive``) and returns its
    location (``file``, ``offset``, ``record_id``): the row keeps that location and the digest,
    not the bytes. Without it the bytes are kept in the row, compressed."""
    digest = hashlib.sha256(body).hexdigest()
    if crawl_run_id is not None:
        same = session.scalar(
            sa.select(EvidenceSnapshot).filter_by(
                listing_id=listing_id, crawl_run_id=crawl_run_id, sha256=digest
            )
        )
        if same is not None:
            return same
    snap = EvidenceSnapshot(
        listing_id=listing_id,
        crawl_run_id=crawl_run_id,
        url=url,
        http_status=http_status,
        fetched_at=fetched_at,
        sha256=digest,
        size=len(body),
        compression="zlib",
        body=None,
        headers=dict(headers or {}),
        ip_address=ip_address,
    )
    if archive is not None:
        where = archive()  # stored before the row exists: a committed row has its bytes
        snap.compression = "warc"
        snap.warc_file, snap.warc_offset, snap.warc_record_id = (
            where.file, where.offset, where.record_id
        )
    else:
        snap.body = compress(body)
    session.add(snap)
    session.flush()
    return snap


def latest_snapshot_id(session: Session, listing_id: int) -> int | None:
    return session.scalar(
        sa.select(EvidenceSnapshot.id)
        .where(EvidenceSnapshot.listing_id == listing_id)
        .order_by(EvidenceSnapshot.fetched_at.desc(), EvidenceSnapshot.id.desc())
        .limit(1)
    )
