"""Downloader middlewares: polite crawling and hostile responses bounded.

``RetryAfterMiddleware``
    A 429 or 503 with ``Retry-After`` (seconds or an HTTP date) pauses that host's download slot
    for that long, capped at ``MARKWATCH_RETRY_AFTER_MAX`` seconds; Scrapy's RetryMiddleware then
    retries the request, which waits in the paused slot. Nothing sleeps: other hosts go on.
``RobotsPolicyMiddleware``
    robots.txt as search engines read it: 2xx is parsed, 4xx (404 included) allows everything,
    5xx (after Scrapy's retries) or a failed fetch (timeout, refused, dropped) disallows the whole
    host for this run. Nothing is remembered, so the next run asks again.
``FetchErrorMiddleware`` and the redirect, meta-refresh and decompression subclasses
    Every fetch that cannot give a page ends as a ``FetchError`` (an ``IgnoreRequest``) with one
    word saying why, logged at WARNING and counted as ``markwatch/fetch_error/<kind>``:
    ``too_large`` (DOWNLOAD_MAXSIZE, checked while the body streams in), ``decompression_bomb``
    (the same limit, applied to the decompressed size), ``bad_encoding`` (a body that does not
    decompress), ``timeout`` (DOWNLOAD_TIMEOUT covers the whole response, so headers-then-hang
    and endless trickles end too), ``connection_dropped``, ``connection_refused``, ``dns``,
    ``redirect_loop`` (REDIRECT_MAX_TIMES), ``redirect_scheme`` (a redirect or meta refresh to
    ``file:``, ``ftp:``, ``data:`` ...), ``content_type`` (an image or other binary where a page
    was asked for; listing photos are asked for as such by ``crawler/photos.py`` and checked by
    their magic bytes there).
"""

from __future__ import annotations

import email.utils
import logging
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.asyncio import call_later
from scrapy.utils.response import get_meta_refresh
from w3lib.url import safe_url_string

from crawler.guard import BlockedRequest

log = logging.getLogger(__name__)

FETCH_ERROR_STAT = "markwatch/fetch_error/{}"
#: request meta key of a listing photo's request (``crawler/photos.py``): an image is expected,
#: and its bytes are checked by their magic bytes, not by the Content-Type the server claims
IMAGE_META = "markwatch_image"
RETRY_AFTER_MAX_SETTING = "MARKWATCH_RETRY_AFTER_MAX"


class FetchError(IgnoreRequest):
    """A fetch that gave no usable page; ``kind`` is one word (``timeout``, ``too_large`` ...)."""

    def __init__(self, kind: str, url: str, detail: str = ""):
        self.kind, self.url, self.detail = kind, url, detail
        super().__init__(f"fetch error ({kind}) {url}{': ' + detail if detail else ''}")


def fetch_error(crawler: Any, kind: str, request: Request, detail: str = "") -> FetchError:
    """Log and count a typed fetch error; the caller raises what this returns."""
    if crawler is not None and crawler.stats is not None:
        crawler.stats.inc_value(FETCH_ERROR_STAT.format(kind))
    log.warning("fetch error (%s) %s: %s", kind, request.url, detail)
    return FetchError(kind, request.url, detail)


# -- Retry-After -------------------------------------------------------------------------------


def parse_retry_after(value: bytes | str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryAfterMiddleware:
    """Pause the host's download slot for ``Retry-After`` on 429 and 503 (bounded)."""

    codes = frozenset({429, 503})

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat(RETRY_AFTER_MAX_SETTING, 60.0)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        if response.status not in self.codes:
            return response
        wait = parse_retry_after(response.headers.get(b"Retry-After"))
        if wait is None or wait <= 0:
            return response
        if wait > self.max_wait:
            log.warning("Retry-After %.0f s from %s capped at %.0f s", wait, request.url,
                        self.max_wait)
            wait = self.max_wait
        self.pause_slot(request, wait)
        self.crawler.stats.inc_value("markwatch/retry_after/paused")
        self.crawler.stats.max_value("markwatch/retry_after/max_wait", wait)
        return response

    def pause_slot(self, request: Request, seconds: float) -> None:
        """No new request leaves this request's slot for ``seconds``.

        The downloader does not start a slot's queued requests while ``slot.latercall`` is set,
        and calls ``_latercall`` to resume; this is the same mechanism DOWNLOAD_DELAY uses."""
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        if slot is None:
            return
        resume_at = time.monotonic() + seconds
        if slot.latercall is not None:
            slot.latercall.cancel()
        slot.latercall = call_later(seconds, downloader._latercall, slot)
        # while paused the slot also counts as recently used, so the delay restarts after it
        slot.lastseen = resume_at
        log.info("paused %s for %.1f s (Retry-After)", key, seconds)


# -- robots.txt --------------------------------------------------------------------------------


class _DisallowAll:
    """A robots.txt parser that refuses every URL (robots.txt could not be read)."""

    def allowed(self, url: str, user_agent: Any) -> bool:
        return False


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with the failure policy of search engines.

    Scrapy parses whatever body a robots.txt request returns and allows everything when the
    fetch fails; this one disallows the host for the run on a 5xx or a failed fetch."""

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if 200 <= response.status < 300:
            await super()._parse_robots(response, netloc, request)
            return
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if response.status >= 500:
            self._unavailable(netloc, f"robots.txt answered {response.status}")
        else:  # 3xx left over, 4xx: no rules, everything allowed
            self._settle(netloc, None)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest) or isinstance(exc, FetchError | BlockedRequest):
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._unavailable(netloc, f"robots.txt could not be fetched ({type(exc).__name__})")

    def _unavailable(self, netloc: str, why: str) -> None:
        log.warning("%s for %s: not crawling that host this run; it is asked again next run",
                    why, netloc)
        self._stats.inc_value("markwatch/robots/unavailable")
        self._settle(netloc, _DisallowAll())

    def _settle(self, netloc: str, parser: Any) -> None:
        pending = self._parsers[netloc]
        self._parsers[netloc] = parser
        if hasattr(pending, "callback") and not pending.called:
            pending.callback(parser)


# -- hostile responses -------------------------------------------------------------------------

_PAGE_TYPES = ("text/", "application/json", "application/ld+json", "application/xhtml+xml",
               "application/xml", "application/javascript")


def _exception_kind(exc: BaseException) -> str:
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError", "UserTimeout"}:
        return "timeout"
    if "DownloadCancelledError" in names or "CancelledError" in names:
        return "too_large"  # the only cancellation in a download is DOWNLOAD_MAXSIZE
    if names & {"ResponseDataLossError", "ConnectionLost", "ConnectionDone", "ResponseFailed",
                "ResponseNeverReceived", "DownloadFailedError", "ConnectionAborted"}:
        return "connection_dropped"
    if names & {"DownloadConnectionRefusedError", "ConnectionRefusedError", "ConnectError"}:
        return "connection_refused"
    if names & {"CannotResolveHostError", "DNSLookupError"}:
        return "dns"
    if "UnsupportedURLSchemeError" in names:
        return "redirect_scheme"
    return "other"


class FetchErrorMiddleware:
    """Type the failures left once Scrapy's retries are spent, and refuse binary responses.

    Placed before RetryMiddleware (a lower number), so its ``process_exception`` sees only the
    final failure and its ``process_response`` sees the response after decompression and
    redirects."""

    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> FetchErrorMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        if isinstance(exception, IgnoreRequest):
            return None  # robots.txt, the guard, a typed error: already explained
        kind = _exception_kind(exception)
        raise fetch_error(self.crawler, kind, request, f"{type(exception).__name__}: {exception}")

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        if 300 <= response.status < 400 and b"Location" in response.headers:
            location = response.headers[b"Location"].decode("latin-1")
            scheme = urlsplit(urljoin(request.url, location)).scheme.lower()
            if scheme not in ("http", "https"):
                raise fetch_error(self.crawler, "redirect_scheme", request,
                                  f"redirect to {location[:200]!r}")
        ctype = response.headers.get(b"Content-Type")
        if ctype and 200 <= response.status < 300 and not request.meta.get(IMAGE_META):
            mime = ctype.split(b";")[0].strip().decode("latin-1").lower()
            if mime and not mime.startswith(_PAGE_TYPES) and not mime.endswith(("+json", "+xml")):
                raise fetch_error(self.crawler, "content_type", request,
                                  f"{mime} ({len(response.body)} bytes) is not a page")
        return response


class BoundedRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, ending a loop or a redirect to another scheme as a typed error."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        if response.status in (301, 302, 303, 307, 308) and b"Location" in response.headers:
            location = safe_url_string(response.headers[b"Location"])
            scheme = urlsplit(urljoin(request.url, location)).scheme.lower()
            if scheme not in ("http", "https") and not request.meta.get("dont_redirect"):
                raise fetch_error(self.crawler, "redirect_scheme", request,
                                  f"{response.status} to {location[:200]!r}")
        try:
            result = super().process_response(request, response)
        except IgnoreRequest as exc:
            if isinstance(exc, FetchError):
                raise
            chain = [*request.meta.get("redirect_urls", []), request.url]
            raise fetch_error(self.crawler, "redirect_loop", request,
                              f"{exc} after {len(chain)} hops") from exc
        if isinstance(result, Request) and result.url in result.meta.get("redirect_urls", ()):
            raise fetch_error(self.crawler, "redirect_loop", request,
                              f"redirected back to {result.url}")
        return result


class BoundedMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Meta refreshes followed like redirects, with the same typed errors."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        from scrapy.http import HtmlResponse

        if isinstance(response, HtmlResponse) and not request.meta.get("dont_redirect"):
            _, url = get_meta_refresh(response, ignore_tags=self._ignore_tags)
            if url and urlsplit(url).scheme.lower() not in ("http", "https"):
                raise fetch_error(self.crawler, "redirect_scheme", request,
                                  f"meta refresh to {url[:200]!r}")
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if isinstance(exc, FetchError):
                raise
            raise fetch_error(self.crawler, "redirect_loop", request, str(exc)) from exc


class BoundedHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Decompression bounded by DOWNLOAD_MAXSIZE (Scrapy does that), ending as typed errors."""

    def __init__(self, *args: Any, crawler: Any = None, **kwargs: Any):
        super().__init__(*args, crawler=crawler, **kwargs)
        self.crawler = crawler

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if isinstance(exc.__cause__, _DecompressionMaxSizeExceeded):
                raise fetch_error(self.crawler, "decompression_bomb", request,
                                  f"{len(response.body)} bytes compressed, more than "
                                  f"{self._max_size} decompressed") from exc
            raise
        except Exception as exc:  # zlib.error, brotli.error, OSError: a body that is not what it says
            raise fetch_error(self.crawler, "bad_encoding", request,
                              f"{type(exc).__name__}: {exc}") from exc
