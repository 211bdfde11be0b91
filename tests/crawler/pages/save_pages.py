"""Re-create the saved pages in this directory from the test-marketplace generator.

    python tests/crawler/pages/save_pages.py

Pages are rendered in-process (no server) for seed 20261124 and 2,400 listings, as if the shops
listened on the default ports. ``manifest.json`` records each page's URL and, for product pages,
the fields the listing was generated with (what a correct parse must give).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from fixtures.marketplaces.generator import generate, shops  # noqa: E402
from fixtures.marketplaces.shops import make_shop  # noqa: E402

SEED, COUNT = 20261124, 2400
BASES = {
    "shopa": "http://127.0.0.1:8301",
    "shopb": "http://127.0.0.1:8302",
    "shopc": "http://127.0.0.1:8303",
}


def main() -> None:
    cat = generate(SEED, COUNT)
    labels = cat.labels_by_key()
    app = {code: make_shop(info, cat.for_shop(code), BASES[code]) for code, info in shops().items()}
    manifest: dict[str, dict] = {}

    def save(name: str, code: str, path: str, query: dict[str, str], listing=None) -> None:
        resp = app[code].handle("GET", path, query)
        assert resp.status == 200, (path, resp.status)
        (HERE / name).write_bytes(resp.body)
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        entry: dict = {"url": BASES[code] + path + (f"?{qs}" if qs else ""), "marketplace": code}
        if listing is not None:
            entry["listing"] = {
                k: v for k, v in listing.to_json().items() if k not in ("keywords", "images")
            }
            entry["listing"]["image_count"] = len(listing.images)
        manifest[name] = entry

    def pick(code: str, **want):
        for li in cat.for_shop(code):
            lab = labels[(code, li.listing_id)]
            if all(
                getattr(li, k, None) == v or getattr(lab, k, None) == v for k, v in want.items()
            ):
                return li
        raise LookupError(want)

    # (a) Bazaarly
    save("shopa_search_kestrel_p1.html", "shopa", "/search", {"q": "kestrel"})
    results = app["shopa"].search("kestrel")
    last = -(-len(results) // app["shopa"].page_size)
    save(
        f"shopa_search_kestrel_p{last}.html",
        "shopa",
        "/search",
        {"q": "kestrel", "page": str(last)},
    )
    li = pick("shopa", disguise="confusable", broken=None)
    save("shopa_item_confusable.html", "shopa", f"/item/{li.listing_id}", {}, li)
    li = pick("shopa", broken="invalid_jsonld")
    save("shopa_item_invalid_jsonld.html", "shopa", f"/item/{li.listing_id}", {}, li)
    li = pick("shopa", broken="truncated")
    save("shopa_item_truncated.html", "shopa", f"/item/{li.listing_id}", {}, li)

    # (b) Tradewind
    save(
        "shopb_api_voltaris_0.json",
        "shopb",
        "/api/search",
        {"q": "voltaris", "offset": "0", "limit": "24"},
    )
    total = len(app["shopb"].search("voltaris"))
    tail = (total - 1) // 24 * 24
    save(
        "shopb_api_voltaris_last.json",
        "shopb",
        "/api/search",
        {"q": "voltaris", "offset": str(tail), "limit": "24"},
    )
    li = pick("shopb", disguise="zero_width", broken=None)
    save("shopb_product_zero_width.html", "shopb", f"/p/{li.listing_id}", {}, li)
    li = pick("shopb", category="authorised", broken=None)
    save("shopb_product_authorised.html", "shopb", f"/p/{li.listing_id}", {}, li)
    li = pick("shopb", broken="missing_price")
    save("shopb_product_missing_price.html", "shopb", f"/p/{li.listing_id}", {}, li)
    li = pick("shopb", broken="missing_title")
    save("shopb_product_missing_title.html", "shopb", f"/p/{li.listing_id}", {}, li)

    # (c) 淘集 TaoJi
    save("shopc_search_molang_p1.html", "shopc", "/s", {"kw": "墨朗", "pn": "1"})
    li = pick("shopc", disguise="alias_cjk", broken=None)
    save("shopc_goods_alias_cjk.html", "shopc", f"/goods/{li.listing_id}.html", {}, li)
    li = pick("shopc", disguise="homophone_cjk", broken=None)
    save("shopc_goods_homophone.html", "shopc", f"/goods/{li.listing_id}.html", {}, li)
    li = pick("shopc", broken="invalid_data")
    save("shopc_goods_invalid_data.html", "shopc", f"/goods/{li.listing_id}.html", {}, li)
    li = pick("shopc", broken="truncated")
    save("shopc_goods_truncated.html", "shopc", f"/goods/{li.listing_id}.html", {}, li)

    (HERE / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
