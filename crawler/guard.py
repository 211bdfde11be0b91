"""The SSRF guard: the crawler fetches public http(s) addresses only.

Two checks, because a URL can lie and a name can change its mind:

1. ``SsrfGuardMiddleware`` (a downloader middleware, so it sees every request: the spiders',
   robots.txt, redirects and meta refreshes, which Scrapy sends through the middlewares again)
   refuses other schemes, credentials in the URL, and hosts that *are* an address, in every
   spelling the resolver would accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``,
   ``[::1]``, ``[::ffff:127.0.0.1]``, trailing dots), when that address is not public.
2. ``GuardedResolver`` (the reactor's name resolver, ``TWISTED_DNS_RESOLVER``) checks every
   address a host name resolves to at connection time and hands the connection none when one of
   them is not public, so a name that resolves privately (``localhost``, DNS rebinding) is never
   connected to. The middleware turns that failure into a logged, counted block.

``MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS`` (Scrapy setting of the same name) lists ``host:port``
pairs (or a bare ``host`` for any port) let through although they are private: the bundled test
marketplaces on loopback. Nothing else is.

Each block is logged at WARNING with its reason, counted as ``markwatch/blocked/<reason>`` and
raised as ``BlockedRequest`` (an ``IgnoreRequest``), so no item is produced and nothing retries.

The rules themselves live in ``crawler/ssrf.py`` (no Scrapy there) and are re-exported here; every
fetch outside a crawl goes through the same rules in ``crawler/outbound.py``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingHostnameResolver
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer, provider

from crawler.ssrf import (  # noqa: F401 - the rules, re-exported: crawler.guard is their home
    ALLOWED_PRIVATE_HOSTS_SETTING,
    ALLOWED_SCHEMES,
    BLOCKED_STAT,
    METADATA_ADDRESSES,
    IPAddress,
    UrlGuard,
    _norm_host,
    address_block_reason,
    host_as_address,
    parse_allowed_hosts,
    parse_ipv4_number_forms,
)

log = logging.getLogger(__name__)


class BlockedRequest(IgnoreRequest):
    """A request the SSRF guard refused; ``reason`` is one word (``loopback``, ``scheme`` ...)."""

    def __init__(self, reason: str, url: str, detail: str = ""):
        self.reason, self.url, self.detail = reason, url, detail
        super().__init__(f"blocked ({reason}) {url}{': ' + detail if detail else ''}")


# Host names the resolver refused in this process: name -> (reason, detail). One reactor, hence
# one resolver, per process; the middleware reads this to explain a failed connection.
_refused_names: dict[str, tuple[str, str]] = {}


def refused_name(host: str) -> tuple[str, str] | None:
    return _refused_names.get(_norm_host(host))


@provider(IResolutionReceiver)
class _CheckingReceiver:
    """Collects a resolution's addresses; passes them on only when every one is allowed."""

    def __init__(self, receiver: Any, guard: UrlGuard, host: str, port: int):
        self.receiver, self.guard, self.host, self.port = receiver, guard, host, port
        self.addresses: list[Any] = []

    def resolutionBegan(self, resolution: Any) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        hosts = [getattr(a, "host", "") for a in self.addresses]
        verdict = self.guard.check_addresses(self.host, self.port, hosts)
        if verdict is None:
            for a in self.addresses:
                self.receiver.addressResolved(a)
        else:
            _refused_names[_norm_host(self.host)] = verdict
            log.warning("refused to connect to %s: %s (%s)", self.host, *verdict)
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver(CachingHostnameResolver):
    """Scrapy's caching host-name resolver (IPv4 and IPv6) that never hands a connection an
    address the guard refuses. Set as ``TWISTED_DNS_RESOLVER``."""

    def __init__(self, reactor: Any, cache_size: int, guard: UrlGuard):
        super().__init__(reactor, cache_size)
        self.guard = guard

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        # Scrapy passes its CrawlerProcess here (settings only, no stats).
        s = crawler.settings
        size = s.getint("DNSCACHE_SIZE") if s.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, size, UrlGuard(s.get(ALLOWED_PRIVATE_HOSTS_SETTING)))

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        checking = _CheckingReceiver(resolutionReceiver, self.guard, hostName, portNumber)
        super().resolveHostName(checking, hostName, portNumber, addressTypes, transportSemantics)
        return resolutionReceiver


class SsrfGuardMiddleware:
    """Downloader middleware: refuse every request the guard refuses, log and count it.

    It checks each request when it is scheduled (before Scrapy's offsite filter, which drops
    other hosts' requests at that point without saying why) and again before it is downloaded
    (before robots.txt is asked), so every refusal is explained."""

    check_on_schedule = True

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.stats = crawler.stats
        self.guard = UrlGuard(crawler.settings.get(ALLOWED_PRIVATE_HOSTS_SETTING))

    @classmethod
    def from_crawler(cls, crawler: Any) -> SsrfGuardMiddleware:
        mw = cls(crawler)
        if cls.check_on_schedule:
            crawler.signals.connect(mw.request_scheduled, signal=signals.request_scheduled)
        return mw

    def request_scheduled(self, request: Any, spider: Any = None) -> None:
        self.process_request(request)

    def block(self, request: Any, reason: str, detail: str) -> BlockedRequest:
        self.stats.inc_value(BLOCKED_STAT.format(reason))
        log.warning("blocked request (%s) %s: %s", reason, request.url, detail)
        return BlockedRequest(reason, request.url, detail)

    def process_request(self, request: Any, spider: Any = None) -> None:
        verdict = self.guard.check_url(request.url)
        if verdict is not None:
            raise self.block(request, *verdict)


_NO_ADDRESS_ERRORS = frozenset({"CannotResolveHostError", "DNSLookupError"})


class ResolverRefusalMiddleware(SsrfGuardMiddleware):
    """Downloader middleware next to the downloader: a connection that failed because
    ``GuardedResolver`` refused the host's addresses becomes a logged, counted block (and is
    not retried)."""

    check_on_schedule = False

    def process_request(self, request: Any, spider: Any = None) -> None:
        return None

    def process_exception(self, request: Any, exception: Exception, spider: Any = None) -> None:
        if not {c.__name__ for c in type(exception).__mro__} & _NO_ADDRESS_ERRORS:
            return None
        verdict = refused_name(urlparse_cached(request).hostname or "")
        if verdict is not None:
            raise self.block(request, *verdict)
        return None
