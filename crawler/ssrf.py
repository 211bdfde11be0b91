"""The SSRF rules, with no Scrapy or Twisted in them: which URLs and which resolved addresses
markwatch may fetch. Public http(s) addresses only, in every spelling a resolver would accept.

Two users: the crawler's Scrapy adapters (``crawler/guard.py``: a downloader middleware and the
reactor's resolver) and the guarded HTTP client for every fetch outside a crawl
(``crawler/outbound.py``: case re-checks, the webhook notice sender).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

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
