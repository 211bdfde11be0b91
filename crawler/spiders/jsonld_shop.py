"""Shops with HTML search results ("next" links) and JSON-LD product pages (e.g. Bazaarly)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.spiders.base import MarketplaceSpider


class JsonLdShopSpider(MarketplaceSpider):
    name = "jsonld_shop"
    listing_id_pattern = r"/item/([^/?#]+)"
    structured_sources = ("json-ld",)

    def search_request(self, term: str, page: int, **meta: Any) -> scrapy.Request:
        params = {"q": term} if page == 1 else {"q": term, "page": page}
        return scrapy.Request(
            f"{self.base_url}/search?{urlencode(params)}",
            callback=self.parse_search,
            meta={"search_term": term, "page": page, "rank_offset": 0, **meta},
        )

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        term, page = response.meta["search_term"], response.meta["page"]
        offset = response.meta.get("rank_offset", 0)
        links = response.css("ol.results li.result a.result-link::attr(href)").getall()
        for i, href in enumerate(links, start=1):
            yield self.product_request(response.urljoin(href), term, offset + i)
        next_href = response.css('a[rel~="next"]::attr(href)').get()
        if next_href and links and page < self.max_pages:
            yield scrapy.Request(
                response.urljoin(next_href),
                callback=self.parse_search,
                meta={"search_term": term, "page": page + 1, "rank_offset": offset + len(links)},
            )
