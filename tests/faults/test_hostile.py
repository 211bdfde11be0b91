"""Hostile responses bounded: every case ends as a typed fetch error (or, where the page is still
readable, a listing), memory stays under 512 MB, and another host's crawl in the same process
finishes normally."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults import hostile
from tests.faults.helpers import MEMORY_LIMIT_MB, allow, record, run_crawl
from tests.faults.servers import FaultServer, serving, shop_routes

# case -> (route, what it must end as: a fetch error kind, "parse_error", or "listing")
CASES = {
    "endless": (hostile.endless, "too_large"),
    "gzip-bomb": (hostile.bomb("gzip"), "decompression_bomb"),
    "brotli-bomb": (hostile.bomb("br"), "decompression_bomb"),
    "deflate-bomb": (hostile.bomb("deflate"), "decompression_bomb"),
    "hang": (hostile.headers_then_hang, "timeout"),
    "drop": (hostile.dropped_mid_body, "connection_dropped"),
    "loop": (hostile.redirect("/item/loop-back"), "redirect_loop"),
    "chain": (hostile.endless_redirects, "redirect_loop"),
    "file": (hostile.redirect("file:///etc/passwd"), "redirect_scheme"),
    "ftp": (hostile.redirect("ftp://127.0.0.1/pub/x"), "redirect_scheme"),
    "data": (hostile.redirect('data:text/html,<script type="application/ld+json">'
                              '{"@type":"Product","name":"Injected","offers":{"price":"1"}}'
                              "</script>"), "redirect_scheme"),
    "deep": (hostile.deep_html(5000), "parse_error"),
    "lying-charset": (hostile.lying_charset, "parse_error"),
    "bad-charset": (hostile.bad_charset, "listing"),
    "image": (hostile.image_as_page, "content_type"),
    "huge-image-listing": (hostile.listing_with_huge_image, "listing"),
}
HEALTHY = 3  # healthy listings on the hostile host too


def _hostile_server() -> FaultServer:
    routes, prefixes = shop_routes(HEALTHY)
    from tests.faults.servers import search_page

    links = [f"/item/{case}" for case in CASES] + [f"/item/ok-{i}" for i in range(HEALTHY)]
    routes["/search"] = hostile.static(200, search_page(links))
    for case, (route, _) in CASES.items():
        routes[f"/item/{case}"] = route
    routes["/item/loop-back"] = hostile.redirect("/item/loop")
    return FaultServer(routes, prefixes)


@pytest.mark.faults
def test_hostile_responses_end_as_typed_errors_within_memory(tmp_path: Path) -> None:
    bad, good = _hostile_server(), FaultServer(*shop_routes(10, latency=0.2))
    with serving(bad, good):
        res = run_crawl(
            tmp_path,
            [{"profile": "shopa", "base_url": bad.base_url},
             {"profile": "shopa", "base_url": good.base_url}],
            env={**allow(bad.netloc, good.netloc), "MARKWATCH_CRAWL_DELAY": "0"},
            settings={"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 1},
            timeout=240,
        )
        bad_paths = bad.paths()
    errors = res.fetch_errors(0)
    expected: dict[str, int] = {}
    for _, kind in CASES.values():
        if kind not in ("listing", "parse_error"):
            expected[kind] = expected.get(kind, 0) + 1
    assert errors == expected, (errors, expected)
    parse_errors = sum(1 for _, k in CASES.values() if k == "parse_error")
    assert res.stats(0).get("markwatch/parse_errors", 0) == parse_errors
    titles = sorted(it["title"] for it in res.items(0))
    readable = sum(1 for _, k in CASES.values() if k == "listing")
    assert len(titles) == HEALTHY + readable, titles
    assert not any("Injected" in t or "Never complete" in t or "Deep" in t for t in titles)
    images = [it for it in res.items(0) if it["images"]]
    assert images and images[0]["images"][0].endswith("/img/huge.png")
    assert not any(p.startswith("/img/") for p in bad_paths), "an image was fetched"
    assert "Traceback" not in res.log, res.log[-3000:]
    # the other host, crawled in the same process meanwhile, lost nothing
    assert len(res.items(1)) == 10 and res.fetch_errors(1) == {}
    assert res.stats(1)["finish_reason"] == "finished"
    assert res.maxrss_mb < MEMORY_LIMIT_MB, res.maxrss_mb
    dup = len(titles) - len(set(titles))
    record("8 hostile responses bounded", len(CASES), 10 - len(res.items(1)), dup,
           f"peak RSS {res.maxrss_mb:.0f} MB; " + ", ".join(f"{k} {v}" for k, v in errors.items())
           + f", parse_error {parse_errors}")


def test_a_gzip_bomb_is_bounded(tmp_path: Path) -> None:
    """The fast member of the family, for ``make test``."""
    routes, prefixes = shop_routes(1)
    from tests.faults.servers import search_page

    routes["/search"] = hostile.static(200, search_page(["/item/bomb", "/item/ok-0"]))
    routes["/item/bomb"] = hostile.bomb("gzip")
    bad = FaultServer(routes, prefixes)
    with serving(bad):
        res = run_crawl(tmp_path, [{"profile": "shopa", "base_url": bad.base_url}],
                        env={**allow(bad.netloc), "MARKWATCH_CRAWL_DELAY": "0"})
    assert res.fetch_errors() == {"decompression_bomb": 1}
    assert [it["title"] for it in res.items()] == ["Healthy listing ok-0"]
    assert res.maxrss_mb < MEMORY_LIMIT_MB


def test_the_peak_memory_read_is_the_crawls_own(tmp_path: Path) -> None:
    """A crawl child reports its own peak, not its parent's: with this test process holding more
    than the limit, a healthy crawl still reads far below it (``ru_maxrss`` read the parent's)."""
    ballast = bytearray((MEMORY_LIMIT_MB + 128) * 2**20)
    ballast[:: 4096] = b"\x01" * len(ballast[:: 4096])  # touch every page: resident, not reserved
    routes, prefixes = shop_routes(1)
    shop = FaultServer(routes, prefixes)
    with serving(shop):
        res = run_crawl(tmp_path, [{"profile": "shopa", "base_url": shop.base_url}],
                        env={**allow(shop.netloc), "MARKWATCH_CRAWL_DELAY": "0"})
    assert res.items(), res.stderr[-2000:]
    assert res.maxrss_mb < MEMORY_LIMIT_MB / 2, res.maxrss_mb
    del ballast
