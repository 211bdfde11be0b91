"""The shops over real HTTP on loopback (free ports)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from protego import Protego

from fixtures.marketplaces import running_marketplaces

SEED, COUNT = 11, 900
LABEL_WORDS = re.compile(
    rb"counterfeit|infring|brand_abuse|other_class|compatible_fashion|authorised|disguise|"
    rb"leetspeak|homophone|zero_width|mark_registration|\"label",
    re.I,
)


def get(url: str, method: str = "GET") -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def mp():
    with running_marketplaces(port=0, seed=SEED, listings=COUNT) as m:
        yield m


@pytest.fixture()
def fresh():
    """Shops of its own, for tests that change state (the 429 memory, the day)."""
    with running_marketplaces(port=0, seed=SEED, listings=COUNT) as m:
        yield m


def test_three_shops_on_their_own_ports(mp) -> None:
    assert list(mp.urls) == ["shopa", "shopb", "shopc"]
    assert len({u.rsplit(":", 1)[1] for u in mp.urls.values()}) == 3
    for url in mp.urls.values():
        status, _headers, body = get(url + "/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok"}


def test_consecutive_ports_from_the_base_port() -> None:
    import random

    for _ in range(50):
        base = random.randint(20000, 60000)
        try:
            with running_marketplaces(port=base, seed=SEED, listings=300) as m:
                ports = [u.rsplit(":", 1)[1] for u in m.urls.values()]
        except OSError:  # one of the three ports is taken: try another block
            continue
        assert ports == [str(base + i) for i in range(3)]
        return
    pytest.fail("no block of three free ports")


def test_robots_txt(mp) -> None:
    for _code, url in mp.urls.items():
        status, headers, body = get(url + "/robots.txt")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        rp = Protego.parse(body.decode())
        ua = "markwatch"
        assert not rp.can_fetch(url + "/account/", ua)
        assert not rp.can_fetch(url + "/cart/add?item=1", ua)
        assert not rp.can_fetch(url + "/_control/advance-day", ua)
        assert rp.crawl_delay(ua) == 1
    a, b, c = mp["shopa"], mp["shopb"], mp["shopc"]
    rp = Protego.parse(get(a + "/robots.txt")[2].decode())
    assert rp.can_fetch(a + "/search?q=kestrel&page=2", "x") and rp.can_fetch(a + "/item/BZ1", "x")
    assert not rp.can_fetch(a + "/search?q=kestrel&sort=price_asc", "x")
    assert not rp.can_fetch(a + "/search/filter?q=kestrel", "x")
    rp = Protego.parse(get(b + "/robots.txt")[2].decode())
    assert rp.can_fetch(b + "/api/search?q=x&offset=0", "x")
    assert not rp.can_fetch(b + "/api/recommendations?item=1", "x")
    rp = Protego.parse(get(c + "/robots.txt")[2].decode())
    assert rp.can_fetch(c + "/s?kw=x&pn=2", "x") and not rp.can_fetch(c + "/s?kw=x&sort=sales", "x")


def test_labels_never_reach_pages_or_api(mp) -> None:
    cat = mp.catalogue
    assert cat is not None
    pages = {
        "shopa": ["/item/{}"],
        "shopb": ["/p/{}"],
        "shopc": ["/goods/{}.html"],
    }
    for code, url in mp.urls.items():
        for li in cat.for_shop(code)[::15]:
            for tmpl in pages[code]:
                _status, _, body = get(url + tmpl.format(li.listing_id))
                assert not LABEL_WORDS.search(body), (code, li.listing_id, LABEL_WORDS.search(body))
    for body in (
        get(mp["shopa"] + "/search?q=kestrel")[2],
        get(mp["shopb"] + "/api/search?q=kestrel&offset=0&limit=48")[2],
        get(mp["shopc"] + "/s?kw=" + quote("墨朗"))[2],
    ):
        assert not LABEL_WORDS.search(body)
    api = json.loads(get(mp["shopb"] + "/api/search?q=aurelia&limit=48")[2])
    assert set(api["items"][0]) == {"id", "title", "url", "price", "thumbnail", "seller"}


def test_search_is_case_insensitive_and_finds_disguises(mp) -> None:
    labels = mp.catalogue.labels_by_key()
    a = mp["shopa"]
    one = get(a + "/search?q=kestrel")[2]
    ids = re.findall(rb'data-listing-id="(\w+)"', one)
    assert ids and ids == re.findall(rb'data-listing-id="(\w+)"', get(a + "/search?q=KesTrel")[2])
    total = int(re.search(rb"(\d+) results", one).group(1))
    shop = mp.shops["shopa"]
    hits = shop.search("kestrel")
    assert len(hits) == total
    assert any(labels[("shopa", li.listing_id)].disguise for li in hits)


def test_chinese_search_and_pages(mp) -> None:
    c = mp["shopc"]
    status, headers, body = get(c + "/s?kw=" + quote("墨朗"))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode()
    assert "墨朗" in text and 'data-total-pages="' in text
    n = int(re.search(r'data-total-pages="(\d+)"', text).group(1))
    ids = re.findall(r'data-nid="(TJ\d+)"', text)
    assert len(ids) == min(30, len(mp.shops["shopc"].search("墨朗")))
    assert n == -(-len(mp.shops["shopc"].search("墨朗")) // 30)
    status, _, page = get(c + f"/goods/{ids[0]}.html")
    assert status == 200 and b'property="og:title"' in page and b"window.__DATA__" in page
    assert get(c + "/s?kw=" + quote("沃塔瑞斯"))[2].count(b'class="goods"') > 0


def test_api_pagination_covers_every_result_once(fresh) -> None:
    b = fresh["shopb"]
    seen: list[str] = []
    offset, calls = 0, 0
    while True:
        status, headers, body = get(b + f"/api/search?q=aurelia&offset={offset}&limit=20")
        if status == 429:  # the one-off throttle on the second batch
            assert headers["Retry-After"] == "1"
            continue
        data = json.loads(body)
        assert data["offset"] == offset and data["limit"] == 20
        seen += [it["id"] for it in data["items"]]
        calls += 1
        if not data["has_more"]:
            assert data["next_offset"] is None
            break
        offset = data["next_offset"]
    assert len(seen) == len(set(seen)) == data["total"] and calls > 2
    assert get(b + "/api/search?q=aurelia&offset=x")[0] == 400
    assert json.loads(get(b + "/api/search?q=aurelia&limit=1000")[2])["limit"] == 48


def test_first_request_for_page_two_is_throttled_once(fresh) -> None:
    a, b, c = fresh["shopa"], fresh["shopb"], fresh["shopc"]
    for url in (
        a + "/search?q=voltaris&page=2",
        b + "/api/search?q=voltaris&offset=24&limit=24",
        c + "/s?kw=" + quote("沃塔瑞斯") + "&pn=2",
    ):
        status, headers, _ = get(url)
        assert status == 429 and headers["Retry-After"] == "1"
        assert get(url)[0] == 200
    assert get(a + "/search?q=voltaris")[0] == 200  # page 1 never
    assert get(a + "/search?q=voltaris&page=3")[0] == 200


def test_listings_disappear_after_advance_day(fresh) -> None:
    cat = fresh.catalogue
    gone_status = {"shopa": 410, "shopb": 404, "shopc": 404}
    path = {"shopa": "/item/{}", "shopb": "/p/{}", "shopc": "/goods/{}.html"}
    term = {"shopa": "kestrel", "shopb": "kestrel", "shopc": "kestrel"}
    assert get(fresh["shopa"] + "/_control/advance-day")[0] == 405  # POST only
    for code, url in fresh.urls.items():
        vanishing = [li for li in cat.for_shop(code) if li.vanishes_on_day == 1]
        assert vanishing
        li = vanishing[0]
        assert get(url + path[code].format(li.listing_id))[0] == 200
        status, _, body = get(url + "/_control/advance-day", method="POST")
        assert status == 200 and li.listing_id in json.loads(body)["gone"]
        assert json.loads(get(url + "/_control/state")[2])["day"] == 1
        assert get(url + path[code].format(li.listing_id))[0] == gone_status[code]
        assert all(
            h.listing_id not in {v.listing_id for v in vanishing}
            for h in fresh.shops[code].search(term[code])
        )


def test_broken_pages_are_served_broken(mp) -> None:
    for li in mp.catalogue.listings:
        if li.broken == "truncated" and li.marketplace == "shopa":
            body = get(mp["shopa"] + f"/item/{li.listing_id}")[2]
            assert b"</html>" not in body and b"application/ld+json" not in body
        if li.broken == "missing_price":
            body = get(mp["shopb"] + f"/p/{li.listing_id}")[2]
            assert b'itemprop="price"' not in body


def test_images_are_small_pngs(mp) -> None:
    li = mp.catalogue.for_shop("shopa")[0]
    status, headers, body = get(mp["shopa"] + f"/img/{li.listing_id}/0.png")
    assert status == 200 and headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")
    assert get(mp["shopa"] + f"/img/{li.listing_id}/99.png")[0] == 404
    assert get(mp["shopa"] + "/no/such/page")[0] == 404


def test_writes_data_files(tmp_path) -> None:
    from fixtures.marketplaces import load_labels

    with running_marketplaces(port=0, seed=SEED, listings=300, data_dir=tmp_path) as m:
        labels = load_labels(tmp_path)
        assert len(labels) == 300 == len(m.catalogue.labels)
        assert (tmp_path / "listings.jsonl").stat().st_size > 0
