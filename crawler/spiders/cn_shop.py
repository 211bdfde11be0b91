"""Chinese shops: numbered result pages announced on page 1, OpenGraph tags plus an inline
``window.__DATA__`` JSON on product pages (e.g. 淘集 TaoJi)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response

from crawler.extract import (
    ProductData,
    StructuredDataError,
    currency_from_text,
    extract_product,
    inline_json,
    normalise_condition,
    parse_price,
)
from crawler.spiders.base import MarketplaceSpider


class CnShopSpider(MarketplaceSpider):
    name = "cn_shop"
    listing_id_pattern = r"/goods/([^/?#]+?)\.html"
    structured_sources = ("opengraph", "json-ld", "microdata")
    data_variable = "window.__DATA__"

    def search_request(self, term: str, page: int, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            f"{self.base_url}/s?kw={quote(term)}&pn={page}",
            callback=self.parse_search,
            meta={"search_term": term, "page": page, **meta},
        )

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        term, page = response.meta["search_term"], response.meta["page"]
        pager = response.css("div.pager")
        results = response.css("ul.goods-list li.goods")
        page_size = int(pager.attrib.get("data-page-size") or 0) or len(results)
        for i, li in enumerate(results, start=1):
            href = li.css("a.goods-link::attr(href)").get()
            if href:  # protocol-relative links are joined like a browser does
                yield self.product_request(response.urljoin(href), term, (page - 1) * page_size + i)
        if page == 1:
            total = int(pager.attrib.get("data-total-pages") or 1)
            for n in range(2, min(total, self.max_pages) + 1):
                yield self.search_request(term, n)

    def extract(self, response: Response) -> ProductData | None:
        data = extract_product(
            response.body, response.url, sources=self.structured_sources, encoding=response.encoding
        )
        try:
            blob = inline_json(response.text, self.data_variable)
        except StructuredDataError as exc:
            self.logger.info("%s on %s; using the page's other data", exc, response.url)
            blob = None
        page = self._from_inline(blob) if isinstance(blob, dict) else None
        page = page.merge(self._from_html(response)) if page else self._from_html(response)
        return data.merge(page) if data else page

    @staticmethod
    def _from_inline(blob: dict) -> ProductData:
        item = blob.get("item") or {}
        shop = blob.get("shop") or {}
        return ProductData(
            title=(item.get("title") or "").strip() or None,
            price=parse_price(item.get("price")),
            currency=currency_from_text(item.get("currency")),
            seller=(shop.get("name") or "").strip() or None,
            seller_url=shop.get("url") or None,
            images=[u for u in item.get("images") or [] if isinstance(u, str)],
            category=item.get("category") or None,
            brand=item.get("brand") or None,
            condition=normalise_condition(item.get("condition")),
            sku=item.get("nid") or None,
        )

    @staticmethod
    def _from_html(response: Response) -> ProductData:
        attrs = {}
        for dt in response.css("dl.attrs dt"):
            key = dt.css("::text").get(default="").strip()
            attrs[key] = " ".join(dt.xpath("following-sibling::dd[1]//text()").getall()).strip()
        shop_href = response.css("dl.attrs a.shop-link::attr(href)").get()
        return ProductData(
            seller=attrs.get("店铺") or None,
            seller_url=response.urljoin(shop_href) if shop_href else None,
            category=attrs.get("类目") or None,
            condition=normalise_condition(attrs.get("成色")),
        )
