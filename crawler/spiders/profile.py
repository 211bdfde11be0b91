"""The generic spider: searches and reads any marketplace its profile describes.

Arguments as for every marketplace spider (``marketplace``, ``base_url``, ``terms``,
``max_pages``; the first two default to the profile's), plus ``profile``: the profile as JSON (as
the store keeps it) or a :class:`crawler.profile.Profile`. What each page means comes from
``crawler/profile_reader.py``; this class only turns that into requests and items.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extract import ProductData
from crawler.profile import PROFILE_SPIDER, Profile, profile_from_json
from crawler.profile_reader import (
    SearchRequest,
    listing_id,
    read_product,
    read_results,
    search_request,
)
from crawler.spiders.base import MarketplaceSpider

SKIPPED_LINKS_STAT = "markwatch/skipped_links"
SEARCH_ERRORS_STAT = "markwatch/search_errors"


class ProfileSpider(MarketplaceSpider):
    name = PROFILE_SPIDER

    def __init__(self, profile: str | dict | Profile | None = None,
                 marketplace: str | None = None, base_url: str | None = None,
                 *args: Any, **kwargs: Any) -> None:
        if profile is None:
            raise ValueError("the profile spider needs a profile argument")
        self.profile = profile_from_json(profile)
        if not self.profile.uses_generic_spider:
            raise ValueError(f"profile {self.profile.code!r} names spider "
                             f"{self.profile.spider!r}; crawl it with that spider")
        super().__init__(marketplace or self.profile.code, base_url or self.profile.base_url,
                         *args, **kwargs)
        self.listing_id_pattern = self.profile.product.listing_id
        self.structured_sources = tuple(self.profile.product.structured)

    def search_request(self, term: str, page: int, **meta: Any) -> scrapy.Request:
        return self._request(term, search_request(self.profile, self.base_url, term, page))

    def _request(self, term: str, req: SearchRequest) -> scrapy.Request:
        meta: dict[str, Any] = {"search_term": term, "page": req.page, "search": req}
        if self.profile.render == "browser" and req.method == "GET":
            from scrapy_playwright.page import PageMethod

            from crawler.browser import WAIT_FOR_STATE

            wait = self.profile.results.wait_for if self.profile.results else None
            meta["playwright"] = True  # crawler/browser.py: the page runs in chromium
            meta["playwright_page_methods"] = [
                PageMethod("wait_for_selector", wait, state=WAIT_FOR_STATE) if wait
                else PageMethod("wait_for_load_state", "networkidle")]
        return scrapy.Request(
            req.url, method=req.method, headers=req.headers or None, body=req.body,
            callback=self.parse_search, dont_filter=req.method != "GET", meta=meta,
        )

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        term, req = response.meta["search_term"], response.meta["search"]
        try:
            text = response.text
        except AttributeError:  # a body Scrapy cannot decode as text
            text = response.body.decode("utf-8", "replace")
        page = read_results(self.profile, self.base_url, term, req, response.url, text,
                            max_pages=self.max_pages)
        for url, reason in page.skipped:
            self.logger.warning("skipped on search page %s: %s (%s)", response.url, reason, url)
            stat = SEARCH_ERRORS_STAT if url == response.url else SKIPPED_LINKS_STAT
            self.crawler.stats.inc_value(stat)
        for note in page.notes:
            self.logger.info("search page %s: %s", response.url, note)
        for i, link in enumerate(page.links, start=1):
            yield self.product_request(link, term, req.offset + i)
        for nxt in page.next:
            yield self._request(term, nxt)

    def listing_id(self, response: Response, data: ProductData) -> str | None:
        return listing_id(self.profile, response.url, data)  # the profile's pattern, time-limited

    def extract(self, response: Response) -> ProductData | None:
        read = read_product(self.profile, response.url, response.body, response.encoding)
        for note in read.notes:
            self.logger.info("%s on %s", note, response.url)
        return read.data
