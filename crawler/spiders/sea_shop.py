"""Country storefronts with HTML search ("next" links) and product pages whose only price is the
text the storefront shows in its country's format (e.g. Tokolaut's /th/, /id/ ...).

``base_url`` is the storefront's root, path included (``http://host/th``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.extract import ProductData, normalise_condition
from crawler.prices import PriceError, parse_money
from crawler.spiders.base import MalformedPage, MarketplaceSpider


class SeaShopSpider(MarketplaceSpider):
    name = "sea_shop"
    listing_id_pattern = r"/product/([^/?#]+)"

    def search_request(self, term: str, page: int, **meta: Any) -> scrapy.Request:
        params = {"keyword": term} if page == 1 else {"keyword": term, "page": page}
        return scrapy.Request(
            f"{self.base_url}/search?{urlencode(params)}",
            callback=self.parse_search,
            meta={"search_term": term, "page": page, "rank_offset": 0, **meta},
        )

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        term, page = response.meta["search_term"], response.meta["page"]
        offset = response.meta.get("rank_offset", 0)
        links = response.css("ul.grid li.card a.card-link::attr(href)").getall()
        for i, href in enumerate(links, start=1):
            yield self.product_request(response.urljoin(href), term, offset + i)
        next_href = response.css('a[rel~="next"]::attr(href)').get()
        if next_href and links and page < self.max_pages:
            yield scrapy.Request(
                response.urljoin(next_href),
                callback=self.parse_search,
                meta={"search_term": term, "page": page + 1, "rank_offset": offset + len(links)},
            )

    def extract(self, response: Response) -> ProductData | None:
        pdp = response.css("main.pdp")
        if not pdp:
            return None
        price_el = pdp.css(".pdp-price")
        price = currency = None
        if price_el:
            text = " ".join(price_el.css("::text").getall()).strip()
            try:
                money = parse_money(text, price_el.attrib.get("data-currency") or None)
            except PriceError as exc:
                raise MalformedPage(str(exc)) from None
            price, currency = money.amount, money.currency
        shop = pdp.css("a.pdp-shop")
        return ProductData(
            title=(pdp.css("h1.pdp-title::text").get() or "").strip() or None,
            description=" ".join(pdp.css(".pdp-desc ::text").getall()).strip() or None,
            price=price,
            currency=currency,
            seller=(shop.css("::text").get() or "").strip() or None,
            seller_url=response.urljoin(shop.attrib["href"]) if shop.attrib.get("href") else None,
            images=[response.urljoin(u) for u in pdp.css("img.pdp-img::attr(src)").getall()],
            category=(pdp.css(".breadcrumb .category::text").get() or "").strip() or None,
            brand=(pdp.css(".pdp-brand::text").get() or "").strip() or None,
            condition=normalise_condition(pdp.css(".pdp-condition::attr(data-condition)").get()),
            sku=pdp.attrib.get("data-item-id"),
        )
