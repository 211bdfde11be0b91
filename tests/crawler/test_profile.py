"""Marketplace profiles: validation with the line and the reason, and the reading functions on
pages a profile describes (JSON APIs with cursors, embedded JSON, field rules)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crawler.profile import ProfileError, load_profile, profile_from_json
from crawler.profile_reader import read_product, read_results, search_request
from fixtures.marketplaces.profiles import CODES, bundled_profile

GOOD = '''\
code = "my-shop"
name = "My Shop"
base_url = "https://shop.example"

[search]
url = "/search?q={term}&page={page}"

[results]
links = "div.card a.title::attr(href)"

[pagination]
kind = "page_number"

[product]
listing_id = "/p/(\\\\d+)"
'''


def errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ProfileError) as exc:
        load_profile(text, "shop.toml")
    assert str(exc.value).startswith("shop.toml: invalid marketplace profile")
    return exc.value.errors


def test_a_minimal_profile_loads_and_a_code_may_have_a_hyphen() -> None:
    p = load_profile(GOOD)
    assert p.code == "my-shop" and p.uses_generic_spider
    assert p.results is not None and p.results.links is not None
    assert p.results.links.css == "div.card a.title::attr(href)"  # a string is a CSS rule
    assert profile_from_json(p.to_json()) == p


def test_bundled_profiles_round_trip_through_json() -> None:
    for code in CODES:
        p = bundled_profile(code)
        assert profile_from_json(json.loads(p.to_json())) == p


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (('url = "/search?q={term}&page={page}"', 'url = "/search?q={query}"'), 6,
         "unknown placeholder(s) query"),
        (('url = "/search?q={term}&page={page}"', 'url = "/search?page={page}"'), 0,
         "must contain {term}"),
        (('links = "div.card a.title::attr(href)"', 'links = "div.card >> a"'), 9,
         "invalid CSS selector"),
        (('links = "div.card a.title::attr(href)"', 'links = { xpath = "//a[" }'), 9,
         "invalid XPath"),
        (('listing_id = "/p/(\\\\d+)"', 'listing_id = "/p/\\\\d+"'), 15, "exactly 1 group"),
        (('kind = "page_number"', 'kind = "infinite"'), 12, "Input should be"),
        (('code = "my-shop"', 'code = "My Shop!"'), 1, "should match pattern"),
        (('[product]', '[product]\nfields = { colour = "span.c" }'), 15,
         "unknown field(s) colour"),
        (('[product]', '[product]\nfields = { price = { json = "a.b" } }'), 14,
         "names no script"),
        (('[product]', '[product]\nbogus = 1'), 15, "Extra inputs are not permitted"),
    ],
)
def test_invalid_profiles_are_refused_with_line_and_reason(change, line, reason) -> None:
    old, new = change
    assert old in GOOD
    found = errors(GOOD.replace(old, new))
    assert any(reason in msg and (n == line or not line) for n, msg in found), found


def test_broken_toml_names_its_line() -> None:
    [(line, msg)] = errors(GOOD.replace('name = "My Shop"', 'name = "My Shop'))
    assert line == 2 and "not valid TOML" in msg


def test_offset_paging_needs_offset_in_the_url() -> None:
    text = GOOD.replace('kind = "page_number"', 'kind = "offset"')
    found = errors(text)
    assert any("{offset}" in m for _, m in found)


# -- reading -----------------------------------------------------------------------------------

API = '''\
code = "cursor-shop"
name = "Cursor"
base_url = "https://api.example"

[search]
url = "/v1/search?query={term}&after={cursor}"
headers = { Accept = "application/json" }

[results]
kind = "json"
items = "data.results"
link = "links.web"

[pagination]
kind = "cursor"
cursor = "data.next"

[product]
listing_id = "/listing/([A-Z0-9]+)"
link_pattern = "/listing/"
script = "#__NEXT_DATA__"

[product.fields]
title = { json = "props.item.name" }
price = [{ json = "props.item.price" }, { css = "span.price::text" }]
currency = { css = "span.price::text" }
seller = { xpath = "//div[@class='shop']//text()", regex = "Sold by (.+)" }
images = { css = "img.gallery::attr(src)" }
'''


def test_json_api_with_a_cursor_and_links_that_are_not_products() -> None:
    p = load_profile(API)
    first = search_request(p, p.base_url, "kestrel boots")
    assert first.url == "https://api.example/v1/search?query=kestrel+boots&after="
    body = json.dumps({"data": {"next": "c2", "results": [
        {"links": {"web": "/listing/A1"}}, {"links": {"web": "/help/fees"}}, {"links": {}},
        {"links": {"web": "//api.example/listing/B2?ref=s"}}]}})
    page = read_results(p, p.base_url, "kestrel boots", first, first.url, body, max_pages=5)
    assert page.links == ["https://api.example/listing/A1",
                          "https://api.example/listing/B2?ref=s"]
    reasons = [r for _, r in page.skipped]
    assert "link does not match product.link_pattern" in reasons
    assert "result 3 has no link at 'links.web'" in reasons
    [nxt] = page.next
    assert nxt.url.endswith("after=c2") and nxt.page == 2 and nxt.offset == 2
    last = read_results(p, p.base_url, "x", nxt, nxt.url,
                        json.dumps({"data": {"results": [{"links": {"web": "/listing/C3"}}]}}),
                        max_pages=5)
    assert last.links and not last.next
    broken = read_results(p, p.base_url, "x", first, first.url, "<html>oops", max_pages=5)
    assert not broken.links and "unreadable search results" in broken.skipped[0][1]


def test_product_from_embedded_json_and_field_rules() -> None:
    p = load_profile(API)
    page = """<html><body>
    <script id="__NEXT_DATA__" type="application/json">{"props": {"item": {"name": "Kestrel
    Trail Boot"}}}</script>
    <span class="price">Rp 125.000</span>
    <div class="shop"><b>Sold by Toko Sepatu</b></div>
    <img class="gallery" src="/i/1.jpg"><img class="gallery" src="/i/1.jpg"><img class="gallery"
    src="https://cdn.example/2.jpg">
    </body></html>"""
    read = read_product(p, "https://api.example/listing/Z9", page)
    d = read.data
    assert d is not None and read.listing_id == "Z9"
    assert d.title == "Kestrel\n    Trail Boot"
    # the rule list fell through to the CSS rule; rupiah are whole units: 125.000 is 125000
    assert d.price == Decimal("125000")
    assert d.currency == "IDR"
    assert d.seller == "Toko Sepatu"
    assert d.images == ["https://api.example/i/1.jpg", "https://cdn.example/2.jpg"]


def test_invalid_embedded_json_is_a_note_and_the_rules_still_read() -> None:
    p = load_profile(API)
    page = ('<script id="__NEXT_DATA__">{"props": </script><span class="price">1,234.50 €'
            '</span>')
    read = read_product(p, "https://api.example/listing/Q1", page)
    assert read.data is not None and read.data.price == Decimal("1234.50")
    assert read.data.currency == "EUR"
    assert any("invalid JSON in #__NEXT_DATA__" in n for n in read.notes)


def test_the_spiders_a_profile_may_name_are_the_ones_scrapy_finds() -> None:
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    from crawler.profile import known_spiders

    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    assert sorted(SpiderLoader.from_settings(s).list()) == known_spiders()


def test_a_profiles_politeness_overrides_the_settings() -> None:
    from crawler.run import scrapy_settings
    from markwatch.settings import get_settings

    s = scrapy_settings(get_settings(), base_url="https://shop.example", run_id=None,
                        politeness={"delay": 7.5, "concurrency": 2})
    assert s.getfloat("DOWNLOAD_DELAY") == 7.5 and s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    plain = scrapy_settings(get_settings(), base_url="https://shop.example", run_id=None)
    assert plain.getfloat("DOWNLOAD_DELAY") == get_settings().crawl_delay


def test_the_browser_guard_refuses_what_the_page_must_not_fetch() -> None:
    import asyncio
    from types import SimpleNamespace

    from crawler.browser import BrowserGuard

    guard = BrowserGuard("127.0.0.1:8450")

    def aborts(url: str, kind: str = "fetch") -> bool:
        return asyncio.run(guard(SimpleNamespace(url=url, resource_type=kind)))

    assert not aborts("http://127.0.0.1:8450/api/v2/find?q=x")  # the allowed test shop
    assert aborts("http://127.0.0.1:8451/")  # another port of the same host: not allowed
    assert aborts("http://localhost:8450/")  # a name resolving to loopback, checked by address
    assert aborts("http://169.254.169.254/latest/meta-data/")
    assert aborts("file:///etc/passwd")
    assert aborts("http://127.0.0.1:8450/img/1.png", "image")  # pictures are never fetched
    assert not aborts("data:text/plain,hi")
    assert guard.blocked and sum(guard.blocked.values()) == 4


def test_a_post_form_search_and_results_in_an_embedded_script() -> None:
    p = load_profile('''\
code = "form-shop"
name = "Form"
base_url = "https://form.example/shop/"

[search]
url = "search"
method = "POST"
body = "keyword={term}&p={page}"

[results]
kind = "embedded_json"
script = "window.__STATE__"
items = "search.hits"
link = "href"

[pagination]
kind = "page_number"
max_pages = 2

[product]
listing_id = "/p/(\\\\d+)"
''')
    req = search_request(p, p.base_url, "kestrel & co", 1)
    assert (req.url, req.method, req.body) == ("https://form.example/shop/search", "POST",
                                              "keyword=kestrel+%26+co&p=1")
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    page = '<script>window.__STATE__ = {"search": {"hits": [{"href": "/p/1"}, {"href": "/p/2"}]}};'
    page += "</script>"
    got = read_results(p, p.base_url, "kestrel & co", req, req.url, page, max_pages=20)
    assert got.links == ["https://form.example/p/1", "https://form.example/p/2"]
    [nxt] = got.next
    assert nxt.page == 2 and nxt.body == "keyword=kestrel+%26+co&p=2" and nxt.offset == 2
    last = read_results(p, p.base_url, "x", nxt, nxt.url, page, max_pages=20)
    assert last.links and not last.next  # the profile's max_pages caps it


SLOW = "(a|aa)+b"  # backtracks Fibonacci(n) times on a run of a without a b


@pytest.mark.timeout(60)
def test_a_regex_that_backtracks_forever_on_a_page_is_a_counted_skip() -> None:
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.profile_reader import RuleTimeout
    from crawler.spiders.base import PARSE_ERRORS_STAT
    from crawler.spiders.profile import ProfileSpider

    hostile = "a" * 60
    p = load_profile(GOOD + f'\n[product.fields]\ntitle = "h1"\nprice = ".price"\n'
                     f'seller = {{ css = "div.shop::text", regex = "{SLOW}" }}\n')
    page = (f'<h1>Kestrel boot</h1><span class="price">$12.00</span>'
            f'<div class="shop">{hostile}</div>')
    with pytest.raises(RuleTimeout, match="ran over"):
        read_product(p, "https://shop.example/p/1", page)
    crawler = get_crawler(ProfileSpider)
    spider = ProfileSpider.from_crawler(crawler, profile=p.model_dump(by_alias=True),
                                        terms="kestrel")
    response = HtmlResponse("https://shop.example/p/1", body=page.encode(), encoding="utf-8")
    assert list(spider.parse_product(response)) == []
    assert crawler.stats.get_value(PARSE_ERRORS_STAT) == 1
    # on a search page: its links are not read, and it is counted as a search error
    links = load_profile(GOOD.replace('links = "div.card a.title::attr(href)"',
                                      f'links = {{ css = "div.card::text", regex = "{SLOW}" }}'))
    req = search_request(links, links.base_url, "kestrel")
    got = read_results(links, links.base_url, "kestrel", req, req.url,
                       f'<div class="card">{hostile}</div>', max_pages=2)
    assert not got.links and "ran over" in got.skipped[0][1]
