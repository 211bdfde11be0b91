"""Item pipelines, one job each: validate, dedupe, persist (listing upsert, snapshot insert)."""

from __future__ import annotations

import logging
import re
from datetime import UTC
from decimal import Decimal
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import ListingItem

log = logging.getLogger(__name__)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX = {"title": 2000, "description": 100_000, "seller": 300, "category": 300, "brand": 200,
        "listing_id": 128, "url": 2000, "seller_url": 2000, "condition": 32}
_MAX_IMAGES = 50


def _clean(text: str | None, limit: int) -> str | None:
    """Strip NUL bytes (PostgreSQL refuses them in text) and bound the length."""
    if text is None:
        return None
    return text.replace("\x00", "")[:limit]


class ValidatePipeline:
    """Refuse items a reviewer could not use; repair what is safely repairable."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def _drop(self, reason: str, item: Any) -> DropItem:
        self.stats.inc_value(f"markwatch/dropped/{reason}")
        return DropItem(f"{reason}: {getattr(item, 'url', '?')}")

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, ListingItem):
            raise self._drop("not_a_listing", item)
        for name, limit in _MAX.items():
            attr = "listing_id" if name == "listing_id" else name
            setattr(item, attr, _clean(getattr(item, attr), limit))
        item.description = item.description or ""
        if not item.listing_id or not item.listing_id.strip():
            raise self._drop("no_listing_id", item)
        if not item.title or not item.title.strip():
            raise self._drop("no_title", item)
        if not item.url or not item.url.startswith(("http://", "https://")):
            raise self._drop("bad_url", item)
        if item.price is not None:
            if not isinstance(item.price, Decimal) or not item.price.is_finite() or item.price < 0:
                raise self._drop("bad_price", item)
            if item.price >= Decimal("1e12"):
                raise self._drop("bad_price", item)
            item.price = item.price.quantize(Decimal("0.01"))
        if item.currency is not None:
            item.currency = item.currency.strip().upper()
            if not _CURRENCY.match(item.currency):
                item.currency = None
                self.stats.inc_value("markwatch/repaired/bad_currency")
        item.images = [_clean(u, 2000) for u in item.images[:_MAX_IMAGES] if isinstance(u, str)]
        if item.snapshot is None or not isinstance(item.snapshot.body, bytes):
            raise self._drop("no_evidence", item)
        return item


class DedupePipeline:
    """A listing reached twice in one crawl (two terms, two URLs) is stored once."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        return cls(crawler)

    def process_item(self, item: ListingItem, spider: Spider | None = None) -> ListingItem:
        key = (item.marketplace, item.listing_id)
        if key in self.seen:
            self.stats.inc_value("markwatch/dropped/duplicate")
            raise DropItem(f"duplicate listing {key}")
        self.seen.add(key)
        return item


class PersistPipeline:
    """Upsert the listing, store its capture (a WARC record in the evidence store) and insert its
    evidence snapshot and its sighting, one transaction each."""

    def __init__(self, crawler: Crawler, database_url: str, crawl_run_id: int | None,
                 evidence_url: str | None):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url = database_url
        self.crawl_run_id = crawl_run_id
        self.evidence_url = evidence_url
        self.marketplaces: dict[str, int] = {}
        self.warc = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PersistPipeline:
        url = crawler.settings.get("MARKWATCH_DATABASE_URL")
        if not url:
            raise NotConfigured("MARKWATCH_DATABASE_URL is not set: items are not persisted")
        run_id = crawler.settings.getint("MARKWATCH_CRAWL_RUN_ID") or None
        return cls(crawler, url, run_id, crawler.settings.get("MARKWATCH_EVIDENCE_URL"))

    def open_spider(self, spider: Spider | None = None) -> None:
        import sqlalchemy as sa

        from db.models import Marketplace
        from db.session import make_engine, session_factory

        self.engine = make_engine(self.database_url)
        self.Session = session_factory(self.engine)
        with self.Session() as s:
            self.marketplaces = dict(s.execute(sa.select(Marketplace.code, Marketplace.id)).all())
        if self.evidence_url:
            # Each capture becomes a WARC record object in the evidence store (a directory, or
            # an S3 bucket that every host shares), written before its row is committed.
            from db.captures import WarcArchive
            from markwatch.settings import get_settings
            from storage import open_store

            options = {**get_settings().evidence_store_options(), "url": self.evidence_url}
            self.warc = WarcArchive(open_store(**options))

    def close_spider(self, spider: Spider | None = None) -> None:
        self.engine.dispose()

    def process_item(self, item: ListingItem, spider: Spider | None = None) -> ListingItem:
        from db.listings import ListingFields, add_snapshot, record_sighting, upsert_listing
        from db.session import transaction

        marketplace_id = self.marketplaces.get(item.marketplace)
        if marketplace_id is None:
            self.stats.inc_value("markwatch/dropped/unknown_marketplace")
            raise DropItem(f"unknown marketplace {item.marketplace!r}")
        snap = item.snapshot
        assert snap is not None  # ValidatePipeline guarantees it
        seen_at = snap.fetched_at if snap.fetched_at.tzinfo else snap.fetched_at.replace(tzinfo=UTC)
        fields = ListingFields(
            external_id=item.listing_id,
            url=item.url,
            title=item.title,
            description=item.description,
            price=item.price,
            currency=item.currency,
            seller=item.seller,
            seller_url=item.seller_url,
            images=tuple(item.images),
            category=item.category,
            brand=item.brand,
            condition=item.condition,
        )
        with transaction(self.Session) as s:
            outcome = upsert_listing(
                s, marketplace_id, fields, seen_at=seen_at, crawl_run_id=self.crawl_run_id
            )
            add_snapshot(
                s,
                listing_id=outcome.listing_id,
                crawl_run_id=self.crawl_run_id,
                url=snap.url,
                http_status=snap.status,
                body=snap.body,
                fetched_at=seen_at,
                headers=snap.headers,
                ip_address=snap.ip_address,
                archive=(
                    None
                    if self.warc is None
                    else lambda: self.warc.write(
                        url=snap.url, status=snap.status, headers=snap.headers, body=snap.body,
                        fetched_at=seen_at, ip_address=snap.ip_address,
                    )
                ),
            )
            if self.crawl_run_id is not None:
                record_sighting(
                    s, self.crawl_run_id, outcome.listing_id, item.search_term or "", item.rank
                )
        item.stored_id = outcome.listing_id
        self.stats.inc_value("markwatch/listings_seen")
        if outcome.created:
            self.stats.inc_value("markwatch/listings_new")
        elif outcome.changed:
            self.stats.inc_value("markwatch/listings_changed")
        return item
