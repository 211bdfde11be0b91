"""Offline tests of the generic spider reading the bundled shops' profiles, on saved pages
(``pages/``, made by ``pages/save_pages.py``)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import ListingItem, SnapshotItem
from crawler.profile_reader import search_request
from crawler.spiders.base import PARSE_ERRORS_STAT
from crawler.spiders.profile import ProfileSpider
from fixtures.marketplaces.profiles import bundled_profile

PAGES = Path(__file__).resolve().parent / "pages"
MANIFEST = json.loads((PAGES / "manifest.json").read_text(encoding="utf-8"))
BASES = {
    "shopa": "http://127.0.0.1:8301",
    "shopb": "http://127.0.0.1:8302",
    "shopc": "http://127.0.0.1:8303",
}


def make_spider(marketplace: str, terms: str = "kestrel", max_pages: str = "20"):
    crawler = get_crawler(ProfileSpider)
    spider = ProfileSpider.from_crawler(
        crawler,
        profile=bundled_profile(marketplace).to_json(),
        base_url=BASES[marketplace],
        terms=terms,
        max_pages=max_pages,
    )
    crawler.spider = spider
    crawler.stats.open_spider()
    return spider


def meta(spider: ProfileSpider, term: str, page: int, offset: int) -> dict:
    """What the spider puts in a search request's meta for page ``page`` of ``term``."""
    req = search_request(spider.profile, spider.base_url, term, page, offset=offset)
    return {"search_term": term, "page": page, "search": req}


def response(name: str, meta: dict | None = None, cls=HtmlResponse, status: int = 200):
    url = MANIFEST[name]["url"]
    headers = {
        "Content-Type": "application/json" if name.endswith(".json") else "text/html; charset=utf-8"
    }
    req = Request(url, meta=meta or {})
    return cls(
        url=url, body=(PAGES / name).read_bytes(), request=req, status=status, headers=headers
    )


def check_listing(item: ListingItem, name: str) -> None:
    want = MANIFEST[name]["listing"]
    assert item.marketplace == want["marketplace"]
    assert item.listing_id == want["listing_id"]
    assert item.url == MANIFEST[name]["url"]
    assert item.title == want["title"]  # odd Unicode kept as published
    assert item.description == want["description"]
    assert item.price == Decimal(want["price"]) and isinstance(item.price, Decimal)
    assert item.currency == want["currency"]
    assert item.seller == want["seller"]
    assert item.seller_url and want["seller_id"] in item.seller_url
    assert item.category == want["category"]
    assert item.brand == want["brand"]
    assert item.condition == want["condition"]
    assert len(item.images) == want["image_count"]
    assert all(u.startswith(BASES[item.marketplace] + "/img/") for u in item.images)
    snap = item.snapshot
    assert isinstance(snap, SnapshotItem)
    assert snap.body == (PAGES / name).read_bytes()
    assert snap.status == 200 and snap.url == item.url
    assert snap.fetched_at.tzinfo is not None and snap.fetched_at.utcoffset().total_seconds() == 0
    assert snap.headers.get("Content-Type", "").startswith("text/html")


# -- arguments -------------------------------------------------------------------------------


def test_arguments_are_strings_as_scrapy_crawl_passes_them() -> None:
    s = make_spider("shopc", terms=" 墨朗 | molang ||", max_pages="3")
    assert s.terms == ["墨朗", "molang"]
    assert s.max_pages == 3
    assert s.allowed_domains == ["127.0.0.1"]
    reqs = list(s.start_requests())
    assert [r.url for r in reqs] == [
        "http://127.0.0.1:8303/s?kw=%E5%A2%A8%E6%9C%97&pn=1",
        "http://127.0.0.1:8303/s?kw=molang&pn=1",
    ]
    with pytest.raises(ValueError):
        ProfileSpider(profile=bundled_profile("shopc"), terms=" | ")


# -- (a) shopa: HTML results, next links, JSON-LD -------------------------------------------------------------------------


def test_jsonld_search_page_yields_ranked_products_and_next_page() -> None:
    s = make_spider("shopa", max_pages="20")
    first = s.search_request("kestrel", 1)
    assert first.url == "http://127.0.0.1:8301/search?q=kestrel"
    out = list(s.parse_search(response("shopa_search_kestrel_p1.html", dict(first.meta))))
    products = [r for r in out if r.callback == s.parse_product]
    pages = [r for r in out if r.callback == s.parse_search]
    assert len(products) == 24
    assert [r.meta["rank"] for r in products] == list(range(1, 25))
    assert all(r.meta["search_term"] == "kestrel" for r in products)
    assert all(r.url.startswith("http://127.0.0.1:8301/item/") for r in products)
    assert not any("/cart/" in r.url or "sort=" in r.url for r in out)
    assert len(pages) == 1 and pages[0].url.endswith("/search?q=kestrel&page=2")
    assert pages[0].meta["search"].offset == 24 and pages[0].meta["page"] == 2


def test_jsonld_last_page_and_max_pages_stop_pagination() -> None:
    s = make_spider("shopa")
    name = next(
        n for n in MANIFEST if n.startswith("shopa_search_kestrel_p") and not n.endswith("p1.html")
    )
    page = int(name.rsplit("p", 1)[1].split(".")[0])
    out = list(s.parse_search(response(name, meta(s, "kestrel", page, (page - 1) * 24))))
    assert out and all(r.callback == s.parse_product for r in out)
    assert out[0].meta["rank"] == (page - 1) * 24 + 1
    limited = make_spider("shopa", max_pages="1")
    out = list(
        limited.parse_search(
            response("shopa_search_kestrel_p1.html", meta(limited, "kestrel", 1, 0))
        )
    )
    assert all(r.callback == limited.parse_product for r in out)


def test_jsonld_product_page() -> None:
    s = make_spider("shopa")
    name = "shopa_item_confusable.html"
    [item] = list(s.parse_product(response(name, {"search_term": "voltaris", "rank": 7})))
    check_listing(item, name)
    assert any("\u0400" <= ch <= "\u04ff" for ch in item.title)  # Cyrillic letters stay
    assert (item.search_term, item.rank) == ("voltaris", 7)


@pytest.mark.parametrize("name", ["shopa_item_invalid_jsonld.html", "shopa_item_truncated.html"])
def test_jsonld_broken_page_is_a_counted_skip(name: str, caplog: pytest.LogCaptureFixture) -> None:
    s = make_spider("shopa")
    with caplog.at_level(logging.WARNING):
        assert list(s.parse_product(response(name, {"search_term": "x", "rank": 1}))) == []
    assert s.crawler.stats.get_value(PARSE_ERRORS_STAT) == 1
    assert MANIFEST[name]["url"] in caplog.text


# -- (b) shopb: JSON API, offsets, microdata ----------------------------------------------------------------------------


def test_api_first_batch_yields_products_and_next_batch() -> None:
    s = make_spider("shopb", terms="voltaris")
    [first] = list(s.start_requests())
    assert first.url == "http://127.0.0.1:8302/api/search?q=voltaris&offset=0&limit=24"
    out = list(
        s.parse_search(response("shopb_api_voltaris_0.json", dict(first.meta), cls=TextResponse))
    )
    products = [r for r in out if r.callback == s.parse_product]
    more = [r for r in out if r.callback == s.parse_search]
    assert [r.meta["rank"] for r in products] == list(range(1, 25))
    assert all(r.url.startswith("http://127.0.0.1:8302/p/") for r in products)
    assert [r.url for r in more] == [
        "http://127.0.0.1:8302/api/search?q=voltaris&offset=24&limit=24"
    ]
    assert more[0].meta["page"] == 2


def test_api_last_batch_stops() -> None:
    s = make_spider("shopb", terms="voltaris")
    body = json.loads((PAGES / "shopb_api_voltaris_last.json").read_text(encoding="utf-8"))
    m = meta(s, "voltaris", 9, body["offset"])
    out = list(s.parse_search(response("shopb_api_voltaris_last.json", m, cls=TextResponse)))
    assert body["has_more"] is False
    assert out and all(r.callback == s.parse_product for r in out)
    assert out[0].meta["rank"] == body["offset"] + 1


@pytest.mark.parametrize("name", ["shopb_product_zero_width.html", "shopb_product_authorised.html"])
def test_api_microdata_product_page(name: str) -> None:
    s = make_spider("shopb")
    [item] = list(s.parse_product(response(name, {"search_term": "voltaris", "rank": 3})))
    check_listing(item, name)


def test_zero_width_characters_are_preserved() -> None:
    s = make_spider("shopb")
    [item] = list(
        s.parse_product(response("shopb_product_zero_width.html", {"search_term": "k", "rank": 1}))
    )
    assert any(ch in item.title for ch in "\u200b\u200c\u200d")


@pytest.mark.parametrize(
    "name", ["shopb_product_missing_price.html", "shopb_product_missing_title.html"]
)
def test_api_broken_page_is_a_counted_skip(name: str, caplog: pytest.LogCaptureFixture) -> None:
    s = make_spider("shopb")
    with caplog.at_level(logging.WARNING):
        assert list(s.parse_product(response(name, {"search_term": "x", "rank": 1}))) == []
    assert s.crawler.stats.get_value(PARSE_ERRORS_STAT) == 1
    assert MANIFEST[name]["url"] in caplog.text


# -- (c) shopc: numbered pages, OpenGraph + embedded JSON + field rules -------------------------------------------------------------------------


def test_cn_first_page_schedules_the_announced_pages() -> None:
    s = make_spider("shopc", terms="墨朗", max_pages="4")
    [first] = list(s.start_requests())
    out = list(s.parse_search(response("shopc_search_molang_p1.html", dict(first.meta))))
    products = [r for r in out if r.callback == s.parse_product]
    pages = [r for r in out if r.callback == s.parse_search]
    assert len(products) == 30
    assert [r.meta["rank"] for r in products] == list(range(1, 31))
    # protocol-relative result links are made absolute on the shop's own host
    assert all(r.url.startswith("http://127.0.0.1:8303/goods/") for r in products)
    assert [r.meta["page"] for r in pages] == [2, 3, 4]  # capped by max_pages
    assert pages[0].url == "http://127.0.0.1:8303/s?kw=%E5%A2%A8%E6%9C%97&pn=2"


def test_cn_later_pages_rank_on_and_do_not_reschedule() -> None:
    s = make_spider("shopc", terms="墨朗")
    out = list(
        s.parse_search(response("shopc_search_molang_p1.html", meta(s, "墨朗", 3, 60)))
    )
    assert all(r.callback == s.parse_product for r in out)
    assert out[0].meta["rank"] == 61


@pytest.mark.parametrize("name", ["shopc_goods_alias_cjk.html", "shopc_goods_homophone.html"])
def test_cn_product_page(name: str) -> None:
    s = make_spider("shopc", terms="墨朗")
    [item] = list(s.parse_product(response(name, {"search_term": "墨朗", "rank": 2})))
    check_listing(item, name)
    assert item.currency == "CNY"


@pytest.mark.parametrize("name", ["shopc_goods_invalid_data.html", "shopc_goods_truncated.html"])
def test_cn_broken_page_is_a_counted_skip(name: str, caplog: pytest.LogCaptureFixture) -> None:
    s = make_spider("shopc", terms="墨朗")
    with caplog.at_level(logging.WARNING):
        assert list(s.parse_product(response(name, {"search_term": "x", "rank": 1}))) == []
    assert s.crawler.stats.get_value(PARSE_ERRORS_STAT) == 1
    assert MANIFEST[name]["url"] in caplog.text


def test_snapshot_keeps_ip_address_when_known() -> None:
    from ipaddress import ip_address

    s = make_spider("shopa")
    name = "shopa_item_confusable.html"
    url = MANIFEST[name]["url"]
    resp = HtmlResponse(
        url=url,
        body=(PAGES / name).read_bytes(),
        request=Request(url, meta={"rank": 1}),
        ip_address=ip_address("127.0.0.1"),
    )
    [item] = list(s.parse_product(resp))
    assert item.snapshot.ip_address == "127.0.0.1"
