"""Browser rendering for profiles with ``render = "browser"``: scrapy-playwright's download handler
driving Debian's chromium (never a downloaded browser), for shops whose results exist only after
JavaScript runs.

Only requests the spider marks (``meta["playwright"]``) go to the browser; robots.txt and the
SSRF guard's downloader middleware see them like any other request. What the page itself then
asks for (scripts, XHR and fetch calls) never passes Scrapy's middlewares, so every one of those
requests goes through :class:`BrowserGuard` first: the URL is checked by the same rules
(``crawler/ssrf.py``), the host is resolved and every address checked, and images, fonts and
media are not fetched at all. Chromium resolves the host again when it connects; a name that
answers a public address to the check and a private one a moment later could slip between the
two, which the plain-HTTP path (one resolution, connect to the checked address) does not allow.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.ssrf import UrlGuard

log = logging.getLogger(__name__)

HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
#: resource types the browser never fetches: the crawler reads pages, not pictures
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
BLOCKED_STAT = "markwatch/browser/blocked/{}"
#: how long a page may take to load and settle (navigation, the selector waited for), unless
#: MARKWATCH_CRAWL_BROWSER_TIMEOUT says otherwise
NAVIGATION_TIMEOUT_MS = 30_000
#: a profile's ``wait_for`` selector is met once it is in the DOM (an empty results list is
#: still a settled page, though it shows nothing)
WAIT_FOR_STATE = "attached"


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class BrowserGuard:
    """``PLAYWRIGHT_ABORT_REQUEST``: True (abort) for what the page must not fetch."""

    def __init__(self, allowed_private_hosts: str = "", resolver: Any = _resolve):
        self.guard = UrlGuard(allowed_private_hosts)
        self.resolver = resolver
        self.blocked: dict[str, int] = {}

    def _count(self, reason: str, url: str, detail: str = "") -> bool:
        self.blocked[reason] = self.blocked.get(reason, 0) + 1
        log.warning("browser request blocked (%s) %s%s", reason, url[:300],
                    f": {detail}" if detail else "")
        return True

    async def __call__(self, request: Any) -> bool:
        url = request.url
        if request.resource_type in SKIPPED_RESOURCES:
            return True
        if url.startswith(("data:", "blob:", "about:")):
            return False  # made by the page itself; nothing leaves the browser
        verdict = self.guard.check_url(url)
        if verdict is not None:
            return self._count(verdict[0], url, verdict[1])
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        try:
            addresses = await asyncio.to_thread(self.resolver, host, port)
        except OSError as exc:
            return self._count("dns", url, str(exc))
        verdict = self.guard.check_addresses(host, port, addresses)
        if verdict is not None:
            return self._count(verdict[0], url, verdict[1])
        return False


def require_browser(executable: Path) -> Path:
    """``executable``, or FileNotFoundError naming the setting when there is no browser there."""
    if not executable.is_file():
        raise FileNotFoundError(f"no browser at {executable}: install Debian's chromium "
                                "(apt-get install chromium) or set MARKWATCH_CRAWL_BROWSER")
    return executable


def launch_options(executable: Path) -> dict[str, Any]:
    """How chromium is started, for the crawl (scrapy-playwright) and the probe alike."""
    return {"executable_path": str(require_browser(executable)), "headless": True,
            "args": ["--no-sandbox", "--disable-dev-shm-usage"]}


def browser_settings(settings: Any, *, allowed_private_hosts: str, executable: Path,
                     timeout_ms: int = NAVIGATION_TIMEOUT_MS) -> None:
    """Switch a Scrapy ``Settings`` to browser rendering for requests marked ``playwright``;
    a page must load and settle within ``timeout_ms``."""
    options = launch_options(executable)
    handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
    handlers.update({"http": HANDLER, "https": HANDLER})
    settings.set("DOWNLOAD_HANDLERS", handlers, priority="cmdline")
    settings.set("TWISTED_REACTOR", "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
                 priority="cmdline")
    settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", priority="cmdline")
    settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", options, priority="cmdline")
    settings.set("PLAYWRIGHT_ABORT_REQUEST", BrowserGuard(allowed_private_hosts),
                 priority="cmdline")
    settings.set("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT", 4, priority="cmdline")
    settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", timeout_ms, priority="cmdline")
