"""The HTTP client for every fetch markwatch makes outside a crawl (case re-checks, the webhook
notice sender), under the crawler's SSRF rules (``crawler/ssrf.py``, the ones ``crawler/guard.py``
applies to crawls):

1. Each URL, the first and every redirect target, is checked before anything is sent: http(s)
   only, no credentials, no host that spells a private address.
2. The host name is resolved once, every address it resolves to is checked, and the connection
   is made to a checked address: no second look-up a rebinding name could answer differently.
3. Redirects are followed by hand (at most ``max_redirects``), each hop checked as in 1 and 2.
4. No proxy from the environment (a proxy would connect on our behalf, unchecked), and response
   bodies are read up to a bound.

Built on httpcore's pluggable network backend (the connection layer under httpx): TLS, HTTP/1.1
and pooling are the library's; the only hand-written part is the address check at connect time,
which no client library offers.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpcore

from crawler.ssrf import UrlGuard

log = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)

Resolver = Callable[[str, int], list[str]]


class OutboundBlocked(OSError):
    """The guard refused a URL or the addresses its host resolves to. An ``OSError``: to callers
    it is an address that cannot be reached, and nothing was sent to it."""

    def __init__(self, reason: str, url: str, detail: str = ""):
        self.reason, self.url, self.detail = reason, url, detail
        super().__init__(f"blocked ({reason}) {url}{': ' + detail if detail else ''}")


class TooManyRedirects(OSError):
    pass


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str  # the last URL fetched (after redirects)
    redirects: int
    truncated: bool  # the body was longer than the bound and was cut


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend that resolves the host itself, checks every address, and
    connects only to a checked one."""

    def __init__(self, guard: UrlGuard, resolver: Resolver):
        self.guard = guard
        self.resolver = resolver

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = self.resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        verdict = self.guard.check_addresses(host, port, addresses)
        if verdict is not None:
            raise OutboundBlocked(verdict[0], f"{host}:{port}", verdict[1])
        if not addresses:
            raise httpcore.ConnectError(f"{host!r} resolved to no address")
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last


class OutboundClient:
    """``request()`` under the SSRF guard. ``allowed_private_hosts`` is the same allow-list as
    the crawler's (``MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS``): loopback test servers only."""

    def __init__(self, *, allowed_private_hosts: str | Iterable[str] | None = None,
                 user_agent: str = "markwatch", timeout: float = 15.0, max_redirects: int = 5,
                 max_body: int = 1024 * 1024, resolver: Resolver = system_resolver):
        self.guard = UrlGuard(allowed_private_hosts)
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.max_body = max_body
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(), max_connections=10, retries=0,
            network_backend=_GuardedBackend(self.guard, resolver),
        )

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> OutboundClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self, url: str) -> None:
        verdict = self.guard.check_url(url)
        if verdict is not None:
            log.warning("blocked outbound request (%s) %s: %s", verdict[0], url[:300], verdict[1])
            raise OutboundBlocked(verdict[0], url, verdict[1])

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                body: bytes | None = None, follow_redirects: bool = True) -> OutboundResponse:
        """Send the request; follow redirects (when asked) hop by hop under the guard. Raises
        ``OutboundBlocked`` (nothing sent to that address), ``TooManyRedirects`` or another
        ``OSError`` when the server cannot be reached; any HTTP status is a response."""
        sent_headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity",
                        **(headers or {})}
        hops = 0
        while True:
            self.check(url)
            try:
                response = self._one(method, url, sent_headers, body)
            except OutboundBlocked as exc:
                log.warning("blocked outbound request (%s) %s: %s", exc.reason, url[:300],
                            exc.detail)
                raise OutboundBlocked(exc.reason, url, exc.detail) from None
            location = response.headers.get("location")
            if not (follow_redirects and response.status in REDIRECTS and location):
                return OutboundResponse(response.status, response.headers, response.body, url,
                                        hops, response.truncated)
            hops += 1
            if hops > self.max_redirects:
                raise TooManyRedirects(f"more than {self.max_redirects} redirects from {url}")
            url = urljoin(url, location)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None

    def _one(self, method: str, url: str, headers: dict[str, str], body: bytes | None
             ) -> OutboundResponse:
        t = self.timeout
        try:
            with self._pool.stream(method, url, headers=list(headers.items()), content=body,
                                   extensions={"timeout": {"connect": t, "read": t, "write": t,
                                                           "pool": t}}) as r:
                chunks, size, truncated = [], 0, False
                for chunk in r.iter_stream():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_body:
                        truncated = True
                        break
                got = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in r.headers}
                return OutboundResponse(r.status, got, b"".join(chunks)[: self.max_body], url, 0,
                                        truncated)
        except OutboundBlocked:
            raise
        except httpcore.TimeoutException as exc:
            raise TimeoutError(f"{url}: {type(exc).__name__} {exc}") from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise ConnectionError(f"{url}: {type(exc).__name__} {exc}") from exc


def outbound_client(**kw: Any) -> OutboundClient:
    """A client with the settings' allow-list and User-Agent."""
    from markwatch.settings import get_settings

    s = get_settings()
    kw.setdefault("allowed_private_hosts", s.crawl_allowed_private_hosts)
    kw.setdefault("user_agent", s.crawl_user_agent)
    return OutboundClient(**kw)
