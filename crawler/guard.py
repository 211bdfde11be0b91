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
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingHostnameResolver
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer, provider

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOWED_PRIVATE_HOSTS_SETTING = "MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS"
BLOCKED_STAT = "markwatch/blocked/{}"

# Cloud instance-metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, ECS task metadata,
# Alibaba). Most are link-local too; they get their own reason because they hold credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# One part of an IPv4 address as inet_aton(3) and browsers read it: 0x.. hex, 0.. octal, decimal.
_V4_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")


class BlockedRequest(IgnoreRequest):
    """A request the SSRF guard refused; ``reason`` is one word (``loopback``, ``scheme`` ...)."""

    def __init__(self, reason: str, url: str, detail: str = ""):
        self.reason, self.url, self.detail = reason, url, detail
        super().__init__(f"blocked ({reason}) {url}{': ' + detail if detail else ''}")


def parse_ipv4_number_forms(host: str) -> ipaddress.IPv4Address | None:
    """``host`` as inet_aton(3) would read it (``2130706433``, ``0x7f.1``, ``0177.0.0.01``,
    ``127.1``), or ``None`` when it is not an IPv4 address in any of those spellings."""
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()  # one trailing dot
    if not 1 <= len(parts) <= 4 or not all(_V4_PART.match(p) for p in parts):
        return None
    nums = []
    for p in parts:
        if p[:2].lower() == "0x":
            nums.append(int(p[2:] or "0", 16))
        elif len(p) > 1 and p[0] == "0":
            nums.append(int(p, 8))
        else:
            nums.append(int(p))
    *head, last = nums
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def host_as_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, if it spells one (brackets, zone ids and a trailing dot
    allowed), else ``None`` (a name, to be resolved)."""
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.split("%", 1)[0]  # IPv6 zone id
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    return parse_ipv4_number_forms(h)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr.teredo is not None:
        return addr.teredo[1]
    return None


def address_block_reason(addr: IPAddress) -> str | None:
    """Why the crawler may not connect to ``addr``, or ``None`` when it is a public address."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            addr = ipaddress.IPv6Address(addr.compressed.split("%", 1)[0])
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return address_block_reason(inner)
    if addr in METADATA_ADDRESSES:
        return "metadata"
    if addr.is_loopback:
        return "loopback"
    if addr.is_unspecified:
        return "unspecified"
    if addr.is_link_local:
        return "link_local"
    if addr.is_multicast:
        return "multicast"
    if addr.is_reserved:
        return "reserved"
    if addr.is_private:
        return "private"
    if not addr.is_global:
        return "reserved"  # shared address space (100.64/10) and other special ranges
    return None


def _norm_host(host: str) -> str:
    h = host.strip().lower().rstrip(".")
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    return h


def parse_allowed_hosts(value: str | Iterable[str] | None) -> frozenset[tuple[str, int | None]]:
    """``"127.0.0.1:8301, [::1]:8302, shop.internal"`` -> {(host, port or None)}."""
    if not value:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    out = set()
    for raw in items:
        entry = raw.strip()
        if not entry:
            continue
        split = urlsplit("//" + entry)
        try:
            port = split.port
        except ValueError as exc:
            raise ValueError(f"bad host:port {entry!r} in the allowed private hosts") from exc
        if not split.hostname or split.username is not None or split.path:
            raise ValueError(f"bad host:port {entry!r} in the allowed private hosts")
        out.add((_norm_host(split.hostname), port))
    return frozenset(out)


class UrlGuard:
    """The rules, with no Scrapy in them: ``check_url`` before a request, ``check_addresses``
    once its host is resolved. Both return a reason to block, or ``None``."""

    def __init__(self, allowed_private_hosts: str | Iterable[str] | None = None):
        self.allowed = parse_allowed_hosts(allowed_private_hosts)

    def is_allowed_private(self, host: str, port: int | None) -> bool:
        h = _norm_host(host)
        return (h, port) in self.allowed or (h, None) in self.allowed

    def check_url(self, url: str) -> tuple[str, str] | None:
        """``(reason, detail)`` when the URL must not be fetched."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            return "malformed", str(exc)
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            return "scheme", f"scheme {scheme or '(none)'!r} is not http or https"
        if "\\" in parts.netloc or any(c.isspace() or ord(c) < 32 for c in parts.netloc):
            return "malformed", f"odd characters in the host part {parts.netloc!r}"
        if "@" in parts.netloc:
            return "userinfo", "credentials in the URL (user@host)"
        host = parts.hostname
        if not host:
            return "malformed", "no host"
        port = port or (443 if scheme == "https" else 80)
        if self.is_allowed_private(host, port):
            return None
        addr = host_as_address(host)
        if addr is not None:
            reason = address_block_reason(addr)
            if reason:
                return reason, f"host {host!r} is {addr}"
        return None

    def check_addresses(
        self, host: str, port: int | None, addresses: Sequence[str]
    ) -> tuple[str, str] | None:
        """``(reason, detail)`` when ``host`` resolved to an address that is not public."""
        if self.is_allowed_private(host, port):
            return None
        for a in addresses:
            try:
                addr = ipaddress.ip_address(a)
            except ValueError:
                return "malformed", f"{host!r} resolved to {a!r}"
            reason = address_block_reason(addr)
            if reason:
                return reason, f"{host!r} resolves to {addr}"
        return None


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
