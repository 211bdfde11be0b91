"""A shop markwatch has never seen, added by a profile alone: Pasarku (``div`` cards, a "next"
link found by its text, no structured data at all, ``Rp 1.250.000`` and ``1,234.50 €`` prices, the
seller only in visible text). The profile below is all it takes: a real Scrapy crawl in a
subprocess, scored against the shop's ground truth (listings reached, fields right)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fixtures.marketplaces import generate, watch_terms
from fixtures.marketplaces.cardshop import SHOP, CardShop, card_listings
from fixtures.marketplaces.server import running_shop

RUNNER = Path(__file__).resolve().parent / "crawl_runner.py"
REPO = RUNNER.parents[2]

PROFILE = """\
code = "pasarku"
name = "Pasarku"
base_url = "http://127.0.0.1:8310"
country = "ID"
currency = "IDR"
language = "id"

[search]
url = "/cari?kata={term}&hal={page}"
first_url = "/cari?kata={term}"

[results]
links = { xpath = "//div[@class='x3']/div/div/a/@href" }

[pagination]
kind = "next_link"
next = { xpath = "//a[contains(., 'Berikutnya')]/@href" }

[product]
listing_id = "/produk/([A-Z0-9]+)"
structured = []

[product.fields]
title = { xpath = "//div[@class='x5']/div[1]/div/text()" }
price = { xpath = "//div[@class='x6']/span/text()" }
currency = { xpath = "//div[@class='x6']/span/text()" }
seller = { xpath = "//text()[contains(., 'Dijual oleh:')]/following-sibling::b[1]/text()" }
seller_url = { xpath = "//a[contains(., 'Kunjungi toko')]/@href" }
images = { css = "img.x7::attr(src)" }
category = { xpath = "//p[starts-with(., 'Kategori:')]/text()", regex = "Kategori:\\\\s*(.+)" }
"""


def test_a_shop_added_by_profile_alone_is_crawled_and_read_right(tmp_path: Path) -> None:
    catalogue = generate(7, 600)
    shop = CardShop(SHOP, card_listings(catalogue))
    profile = tmp_path / "pasarku.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    watches = ["|".join(t) for t in watch_terms("shopa").values()]
    out = tmp_path / "pasarku.jsonl"
    with running_shop(shop) as base_url:
        p = subprocess.run([sys.executable, str(RUNNER), str(profile), base_url, str(out),
                            *watches], env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
                           capture_output=True, timeout=150)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    items = {r["listing_id"]: r for r in rows if r["kind"] == "item"}
    stats = [r for r in rows if r["kind"] == "stats"]

    reachable = {li.listing_id for terms in watch_terms("shopa").values() for t in terms
                 for li in shop.search(t)[: 20 * shop.page_size]}
    broken = {lid for lid in reachable if shop.by_id[lid].broken}
    expected = reachable - broken
    fields = ("title", "price", "currency", "seller", "category")
    right = {f: sum(1 for lid, it in items.items()
                    if str(getattr(shop.by_id[lid], f)) == str(it[f])) for f in fields}
    print(f"pasarku: {len(items)}/{len(expected)} listings reached; fields right: "
          + ", ".join(f"{f} {n}/{len(items)}" for f, n in right.items()))
    assert expected and set(items) == expected  # every listing reached, only those
    assert all(n == len(items) for n in right.values()), right
    currencies = {it["currency"] for it in items.values()}
    assert currencies == {"IDR", "EUR"}
    for lid, it in items.items():
        li = shop.by_id[lid]
        assert len(it["images"]) == len(li.images)
        assert it["seller_url"] == f"{shop.base_url}/toko/{li.seller_id}"
    # pages without a price are counted skips with their reason, never listings
    assert sum(s.get("markwatch/skipped/no_price", 0) for s in stats) == len(broken) > 0


VITRINE = """\
code = "vitrine"
name = "Vitrine"
base_url = "http://127.0.0.1:8311"
country = "FR"
currency = "EUR"
render = "browser"

[search]
url = "/recherche?q={term}&page={page}"

[results]
links = "section.hits a.hit::attr(href)"
wait_for = "section.hits"

[pagination]
kind = "next_link"
next = "section.hits a.more::attr(href)"

[product]
listing_id = "/annonce/([^/?#]+)"
structured = []
script = "#__NEXT_DATA__"

[product.fields]
title = { json = "props.pageProps.listing.name" }
description = { json = "props.pageProps.listing.text" }
price = { json = "props.pageProps.listing.offer.amount" }
currency = { json = "props.pageProps.listing.offer.currency" }
condition = { json = "props.pageProps.listing.offer.state" }
seller = { json = "props.pageProps.listing.shop.title" }
seller_url = { json = "props.pageProps.listing.shop.href" }
images = { json = "props.pageProps.listing.pictures" }
category = { json = "props.pageProps.listing.rubrique" }
"""


class _Canary:
    """A server the crawl must never reach: it counts every request."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hits = self.hits = []

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/beacon"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


def _crawl(tmp_path: Path, name: str, profile_text: str, base_url: str, watches: list[str]):
    profile = tmp_path / f"{name}.toml"
    profile.write_text(profile_text, encoding="utf-8")
    out = tmp_path / f"{name}.jsonl"
    p = subprocess.run([sys.executable, str(RUNNER), str(profile), base_url, str(out), *watches],
                       env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
                       capture_output=True, timeout=240)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return ({r["listing_id"]: r for r in rows if r["kind"] == "item"},
            [r for r in rows if r["kind"] == "stats"], p.stderr.decode())


def test_a_javascript_shop_is_crawled_in_a_real_browser_under_the_guard(tmp_path: Path) -> None:
    from fixtures.marketplaces.jsshop import SHOP as VSHOP
    from fixtures.marketplaces.jsshop import JsShop, vitrine_listings

    catalogue = generate(7, 600)
    canary = _Canary()
    shop = JsShop(VSHOP, vitrine_listings(catalogue), beacon=canary.url)
    terms = watch_terms("shopb")
    watches = ["|".join(t) for t in terms.values()]
    try:
        with running_shop(shop) as base_url:
            items, stats, log = _crawl(tmp_path, "vitrine", VITRINE, base_url, watches)
            # the same profile without the browser sees an empty shell: no listings at all
            plain, _, _ = _crawl(tmp_path, "plain", VITRINE.replace(
                'render = "browser"\n', "").replace('wait_for = "section.hits"\n', ""),
                base_url, watches[:1])
    finally:
        canary.close()
    reachable = {li.listing_id for ts in terms.values() for t in ts
                 for li in shop.search(t)[: 20 * shop.page_size]}
    broken = {lid for lid in reachable if shop.by_id[lid].broken}
    fields = ("title", "price", "currency", "seller", "category", "condition", "description")
    right = {f: sum(1 for lid, it in items.items()
                    if str(getattr(shop.by_id[lid], f)) == str(it[f])) for f in fields}
    print(f"vitrine: {len(items)}/{len(reachable - broken)} listings reached; fields right: "
          + ", ".join(f"{f} {n}/{len(items)}" for f, n in right.items()))
    assert reachable - broken and set(items) == reachable - broken
    assert all(n == len(items) for n in right.values()), right
    assert all(it["seller_url"].startswith(shop.base_url + "/boutique/") for it in items.values())
    assert sum(s.get("markwatch/skipped/no_price", 0) for s in stats) == len(broken)
    assert plain == {}
    # the page's script asked for a private address off the allow-list: the browser never went
    assert canary.hits == [] and "browser request blocked" in log
