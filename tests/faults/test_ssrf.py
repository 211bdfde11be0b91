"""No SSRF: a canary server on loopback receives nothing, whatever a marketplace page points at,
and each refusal is logged with its reason."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from crawler.guard import UrlGuard, address_block_reason, host_as_address, parse_allowed_hosts
from tests.faults.helpers import allow, record, run_crawl
from tests.faults.servers import (
    FaultServer,
    Handler,
    product_page,
    search_page,
    serving,
    shop_routes,
    static,
)

# -- the rules, case by case ---------------------------------------------------------------------

BLOCKED = [
    ("http://127.0.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),  # decimal
    ("http://0x7f000001/", "loopback"),  # hex
    ("http://0177.0.0.1/", "loopback"),  # octal
    ("http://0x7f.1/", "loopback"),  # short hex
    ("http://127.1/", "loopback"),  # short form
    ("http://127.0.0.1./", "loopback"),  # trailing dot
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 around loopback
    ("http://[64:ff9b::a9fe:a9fe]/", "metadata"),  # NAT64 around the metadata address
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1:8080/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://169.254.1.1/", "link_local"),
    ("http://[fe80::1%25eth0]/", "link_local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://100.64.0.1/", "reserved"),  # shared address space
    ("http://240.0.0.1/", "reserved"),
    ("http://shop.example@127.0.0.1/", "userinfo"),
    ("http://127.0.0.1:8301@evil.example/", "userinfo"),
    ("http://user:pw@shop.example/", "userinfo"),
    ("file:///etc/passwd", "scheme"),
    ("ftp://shop.example/x", "scheme"),
    ("data:text/html,hi", "scheme"),
    ("gopher://127.0.0.1:6379/_INFO", "scheme"),
    ("http://127.0.0.1\\@shop.example/", "malformed"),
]
PASSED = ["http://93.184.216.34/", "https://shop.example/item/1", "http://8.8.8.8:8080/x",
          "http://[2606:4700::1111]/", "http://127.0.0.1:8301/search"]


@pytest.mark.parametrize(("url", "reason"), BLOCKED)
def test_guard_refuses(url: str, reason: str) -> None:
    verdict = UrlGuard("127.0.0.1:8301").check_url(url)
    assert verdict is not None and verdict[0] == reason, verdict


@pytest.mark.parametrize("url", PASSED)
def test_guard_passes_public_and_allow_listed(url: str) -> None:
    assert UrlGuard("127.0.0.1:8301").check_url(url) is None


def test_allow_list_is_exact() -> None:
    g = UrlGuard("127.0.0.1:8301, localhost")
    assert g.check_url("http://127.0.0.1:8302/")[0] == "loopback"  # another port
    assert g.check_url("http://2130706433:8301/")[0] == "loopback"  # another spelling
    assert g.check_addresses("localhost", 9999, ["127.0.0.1"]) is None  # a bare host: any port
    assert g.check_addresses("shop.example", 80, ["93.184.216.34", "10.0.0.1"])[0] == "private"
    assert parse_allowed_hosts("[::1]:8301,a.test") == {("::1", 8301), ("a.test", None)}
    with pytest.raises(ValueError):
        parse_allowed_hosts("user@127.0.0.1:1")


def test_number_forms() -> None:
    assert host_as_address("017700000001") == ipaddress.ip_address("127.0.0.1")
    assert host_as_address("0x7f.0.0.0x1") == ipaddress.ip_address("127.0.0.1")
    assert host_as_address("127.0.1") == ipaddress.ip_address("127.0.0.1")
    assert host_as_address("4294967296") is None  # too large: a name, resolution will fail
    assert host_as_address("shop.example") is None
    assert host_as_address("1.2.3.4.5") is None
    assert address_block_reason(ipaddress.ip_address("8.8.8.8")) is None


# -- a real crawl against a canary ----------------------------------------------------------------


def _tricks(canary_port: int, shop_port: int) -> list[str]:
    c = canary_port
    return [
        f"http://127.0.0.1:{c}/item/plain",
        f"http://2130706433:{c}/item/decimal",
        f"http://0x7f.1:{c}/item/hex",
        f"http://0177.0.0.1:{c}/item/octal",
        f"http://127.1:{c}/item/short",
        f"http://127.0.0.1.:{c}/item/dot",
        f"http://[::1]:{c}/item/v6",
        f"http://[::ffff:127.0.0.1]:{c}/item/mapped",
        f"http://0.0.0.0:{c}/item/zero",
        f"http://127.0.0.1:{shop_port}@127.0.0.1:{c}/item/userinfo",
        "http://169.254.169.254/latest/meta-data/iam/",
        f"//127.0.0.1:{c}/item/protocol-relative",
    ]


def _ssrf_shop(canary: FaultServer) -> FaultServer:
    c = canary.port
    routes, prefixes = shop_routes(2)
    shop_port_holder: list[int] = []

    def search(h: Handler) -> None:
        links = [*_tricks(c, shop_port_holder[0]), "/item/redirect", "/item/redirect-decimal",
                 "/item/refresh", "/item/pointers", "/item/ok-0", "/item/ok-1"]
        h.send(200, search_page(links))

    routes["/search"] = search
    routes["/item/redirect"] = static(302, b"", "text/html",
                                      {"Location": f"http://127.0.0.1:{c}/item/redirected"})
    routes["/item/redirect-decimal"] = static(
        301, b"", "text/html", {"Location": f"http://2130706433:{c}/item/redirected"})
    routes["/item/refresh"] = static(200, (
        f'<html><head><meta http-equiv="refresh" content="0; url=http://[::1]:{c}/item/refreshed">'
        "</head><body>moved</body></html>").encode())
    routes["/item/pointers"] = static(200, product_page(
        "Listing pointing at the canary", image=f"http://127.0.0.1:{c}/img/1.png",
        seller_url=f"http://127.0.0.1:{c}/seller/1"))
    server = FaultServer(routes, prefixes)
    server._port_holder = shop_port_holder  # filled once started
    return server


def test_no_request_reaches_the_canary(tmp_path: Path) -> None:
    canary = FaultServer({}, [("/", static(200, b"canary"))], ipv6=True)
    with serving(canary):
        shop = _ssrf_shop(canary)
        with serving(shop):
            shop._port_holder.append(shop.port)
            res = run_crawl(
                tmp_path,
                [{"profile": "shopa", "base_url": shop.base_url},
                 # a marketplace whose own host name resolves to loopback
                 {"profile": "shopa", "base_url": f"http://localhost:{canary.port}"}],
                env={**allow(shop.netloc), "MARKWATCH_CRAWL_DELAY": "0"},
                settings={"AUTOTHROTTLE_ENABLED": False},
            )
        canary_hits = canary.paths()
    assert canary_hits == [], canary_hits
    titles = sorted(it["title"] for it in res.items(0))
    assert titles == ["Healthy listing ok-0", "Healthy listing ok-1",
                      "Listing pointing at the canary"]
    pointers = next(it for it in res.items(0) if it["title"].startswith("Listing pointing"))
    assert pointers["images"] and pointers["seller_url"]  # stored as URLs, never fetched
    blocked = res.blocked()
    injected = len(_tricks(canary.port, 1)) + 3 + 1  # links, 2 redirects + refresh, localhost
    assert sum(blocked.values()) >= injected, blocked
    assert {"loopback", "unspecified", "userinfo", "metadata"} <= set(blocked), blocked
    # every block is in the log with its reason; the host name that resolves privately too
    for reason in blocked:
        assert f"blocked request ({reason})" in res.log
    assert "'localhost' resolves to 127.0.0.1" in res.log
    assert res.items(1) == []
    record("9 no SSRF (canary on loopback)", injected, 3 - len(titles), None,
           f"canary requests {len(canary_hits)}; blocked " +
           ", ".join(f"{k} {v}" for k, v in sorted(blocked.items())))


def test_test_marketplaces_pass_only_by_the_setting(tmp_path: Path) -> None:
    shop = FaultServer(*shop_routes(2))
    with serving(shop):
        res = run_crawl(tmp_path, [{"profile": "shopa", "base_url": shop.base_url}],
                        env={"MARKWATCH_CRAWL_DELAY": "0"})
        hits = shop.paths()
    assert hits == [] and res.items() == []
    assert res.blocked() == {"loopback": 1}


def test_the_resolver_alone_refuses_private_addresses(tmp_path: Path) -> None:
    """With the URL check switched off, the connection-time check still keeps the canary dark."""
    canary = FaultServer({}, [("/", static(200, b"canary"))], ipv6=True)
    with serving(canary):
        shop = _ssrf_shop(canary)
        with serving(shop):
            shop._port_holder.append(shop.port)
            res = run_crawl(
                tmp_path,
                [{"profile": "shopa", "base_url": shop.base_url},
                 {"profile": "shopa", "base_url": f"http://localhost:{canary.port}"}],
                env={**allow(shop.netloc), "MARKWATCH_CRAWL_DELAY": "0"},
                settings={"AUTOTHROTTLE_ENABLED": False,
                          "DOWNLOADER_MIDDLEWARES": {"crawler.guard.SsrfGuardMiddleware": None}},
            )
        canary_hits = canary.paths()
    assert canary_hits == [], canary_hits
    assert res.blocked().get("loopback", 0) >= 2, res.blocked()  # the redirect, localhost
    assert "refused to connect to localhost" in res.log
