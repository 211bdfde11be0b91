""" "Load more" shops: a JSON search API and microdata product pages (e.g. Tradewind)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.spiders.base import MarketplaceSpider


class ApiShopSpider(MarketplaceSpider):
    name = "api_shop"
    listing_id_pattern = r"/p/([^/?#]+)"
    structured_sources = ("microdata", "json-ld", "opengraph")
    page_size = 24  # listings per API call ("page")

    def search_request(self, term: str, page: int, **meta: Any) -> scrapy.Request:
        offset = meta.pop("offset", (page - 1) * self.page_size)
        params = {"q": term, "offset": offset, "limit": self.page_size}
        return scrapy.Request(
            f"{self.base_url}/api/search?{urlencode(params)}",
            callback=self.parse_search,
            headers={"Accept": "application/json"},
            meta={"search_term": term, "page": page, "offset": offset, **meta},
        )

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        term, page = response.meta["search_term"], response.meta["page"]
        try:
            data = json.loads(response.text)
            items = data["items"]
            offset = int(data.get("offset", response.meta["offset"]))
        except (ValueError, KeyError, TypeError) as exc:
            self.logger.warning("unreadable search API response %s: %s", response.url, exc)
            self.crawler.stats.inc_value("markwatch/search_errors")
            return
        for i, it in enumerate(items, start=1):
            url = it.get("url") if isinstance(it, dict) else None
            if url:
                yield self.product_request(response.urljoin(url), term, offset + i)
        next_offset = data.get("next_offset")
        if data.get("has_more") and next_offset is not None and items and page < self.max_pages:
            yield self.search_request(term, page + 1, offset=int(next_offset))
