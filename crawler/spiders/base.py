"""The flow every marketplace spider shares: search each term, page through the results, read
each listing's product page into a ``ListingItem`` with a ``SnapshotItem`` of that page.

A subclass says how to ask for a page of search results (``search_request``), how to read one
(``parse_search``) and, if the shared structured-data reader is not enough, how to read a product
page (``extract``). Spiders parse and yield; politeness lives in the project settings.

Arguments (strings, as ``scrapy crawl -a`` passes them): ``marketplace`` (code), ``base_url``,
``terms`` (``|``-separated) and ``max_pages`` (default 20).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from crawler.extract import ProductData, StructuredDataError, extract_product
from crawler.items import ListingItem, SnapshotItem

PARSE_ERRORS_STAT = "markwatch/parse_errors"
#: product pages skipped, by reason (``markwatch/skipped/no_price`` ...)
SKIPPED_STAT = "markwatch/skipped/{}"


def reason_key(reason: str) -> str:
    """``"invalid JSON-LD: Expecting ..."`` -> ``"invalid_json_ld"``: a stat name for a reason."""
    head = reason.split(":", 1)[0].strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", head).strip("_")[:40] or "other"


class MalformedPage(ValueError):
    """A product page that cannot give a listing (truncated, no title or price, bad data)."""


def snapshot_of(response: Response) -> SnapshotItem:
    """The response as evidence: raw body bytes, status, headers, UTC fetch time, URL, IP."""
    headers = {
        k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()
    }
    ip = getattr(response, "ip_address", None)
    return SnapshotItem(
        url=response.url,
        status=response.status,
        body=bytes(response.body),
        fetched_at=datetime.now(UTC),
        headers=headers,
        ip_address=str(ip) if ip is not None else None,
    )


class MarketplaceSpider(scrapy.Spider):
    """Base class: keyword searches on one marketplace, product pages to ``ListingItem``."""

    # a regular expression with one group: the listing id in a product page URL's path
    listing_id_pattern: str = r"(.+)"
    # where extract_product() looks, in order; the first source wins, the others fill gaps
    structured_sources: tuple[str, ...] = ("json-ld", "microdata", "opengraph")

    def __init__(
        self,
        marketplace: str | None = None,
        base_url: str | None = None,
        terms: str | Iterable[str] | None = None,
        max_pages: str | int = 20,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not marketplace or not base_url or not terms:
            raise ValueError(f"{self.name} needs marketplace, base_url and terms arguments")
        self.marketplace = marketplace
        self.base_url = base_url.rstrip("/")
        raw = terms.split("|") if isinstance(terms, str) else list(terms)
        self.terms = [t.strip() for t in raw if t and t.strip()]
        if not self.terms:
            raise ValueError("terms is empty")
        self.max_pages = max(1, int(max_pages))
        host = urlsplit(self.base_url).hostname
        self.allowed_domains = [host] if host else []

    # -- start -----------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[scrapy.Request]:
        for term in self.terms:
            yield self.search_request(term, 1)

    # -- what a subclass provides ----------------------------------------------------------
    def search_request(self, term: str, page: int, **meta: Any) -> scrapy.Request:
        """The request for page ``page`` (1-based) of the results for ``term``."""
        raise NotImplementedError

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        raise NotImplementedError

    def extract(self, response: Response) -> ProductData | None:
        """The product's fields from its page; the default reads structured data."""
        return extract_product(
            response.body, response.url, sources=self.structured_sources, encoding=response.encoding
        )

    # -- shared ----------------------------------------------------------------------------
    def product_request(self, url: str, term: str, rank: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_product,
            meta={"search_term": term, "rank": rank},
        )

    def listing_id(self, response: Response, data: ProductData) -> str | None:
        m = re.search(self.listing_id_pattern, urlsplit(response.url).path)
        return m.group(1) if m else data.sku

    def parse_product(self, response: Response) -> Iterator[ListingItem]:
        try:
            data = self.extract(response)
            if data is None:
                raise MalformedPage("no product data")
            if not data.title:
                raise MalformedPage("no title")
            if data.price is None:
                raise MalformedPage("no price")
            listing_id = self.listing_id(response, data)
            if not listing_id:
                raise MalformedPage("no listing id")
        except (MalformedPage, StructuredDataError) as exc:
            self.skip(response, str(exc))
            return
        yield ListingItem(
            marketplace=self.marketplace,
            listing_id=listing_id,
            url=response.url,
            title=data.title,
            description=data.description or "",
            price=data.price,
            currency=data.currency,
            seller=data.seller,
            seller_url=data.seller_url,
            images=list(data.images),
            category=data.category,
            brand=data.brand,
            condition=data.condition,
            search_term=response.meta.get("search_term"),
            rank=response.meta.get("rank"),
            snapshot=snapshot_of(response),
        )

    def skip(self, response: Response, reason: str) -> None:
        """A listing page that gives no listing: log it with its URL and count it."""
        self.logger.warning("skipped malformed listing page %s: %s", response.url, reason)
        if getattr(self, "crawler", None) is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(PARSE_ERRORS_STAT)
            self.crawler.stats.inc_value(SKIPPED_STAT.format(reason_key(reason)))
