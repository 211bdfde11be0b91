"""Run a search page in chromium for ``markwatch marketplaces probe``, as a crawl with
``render = "browser"`` does: the same browser and launch options, every request the page makes
checked by the same :class:`crawler.browser.BrowserGuard` (SSRF rules, images, fonts and media
not fetched), the same wait (the profile's ``wait_for`` selector, else the network going quiet)
and the same time limit. The crawl drives chromium through scrapy-playwright; the probe is not
inside Scrapy, so it drives playwright itself, one browser for the whole probe, started on the
first page that needs it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.browser import NAVIGATION_TIMEOUT_MS, WAIT_FOR_STATE, BrowserGuard, launch_options


class RenderError(RuntimeError):
    """A page could not be rendered; the message says why."""


class BrowserUnavailable(RenderError):
    """No browser to render with (the message names the setting)."""


class RenderTimeout(RenderError):
    """The page did not settle in time."""


@dataclass
class Rendered:
    url: str  # after redirects
    status: int | None
    html: str  # the DOM once the page settled


class Renderer:
    """``with Renderer(executable, allowed_private_hosts) as r: r.render(url, wait_for)``."""

    def __init__(self, executable: Path, allowed_private_hosts: str = "", *,
                 user_agent: str | None = None, timeout_ms: int = NAVIGATION_TIMEOUT_MS):
        self.executable = executable
        self.guard = BrowserGuard(allowed_private_hosts)
        self.user_agent = user_agent
        self.timeout_ms = timeout_ms
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pw: Any = None
        self._browser: Any = None

    @property
    def blocked(self) -> dict[str, int]:
        """Requests the guard refused, by reason."""
        return self.guard.blocked

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop is None:
            return
        self._loop.run_until_complete(self._stop())
        self._loop.close()
        self._loop = None

    async def _stop(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._pw is not None:
            await self._pw.stop()
            self._pw = None

    async def _start(self) -> None:
        from playwright.async_api import Error, async_playwright

        try:
            options = launch_options(self.executable)
        except FileNotFoundError as exc:
            raise BrowserUnavailable(str(exc)) from None
        self._pw = await async_playwright().start()
        try:
            self._browser = await self._pw.chromium.launch(**options)
        except Error as exc:
            await self._stop()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BrowserUnavailable(f"the browser at {self.executable} did not start ({first}); "
                                     "check MARKWATCH_CRAWL_BROWSER") from None

    def render(self, url: str, wait_for: str | None = None) -> Rendered:
        """Load ``url``, wait for ``wait_for`` (or the network going quiet), return the DOM."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        if self._browser is None:
            self._loop.run_until_complete(self._start())
        return self._loop.run_until_complete(self._render(url, wait_for))

    async def _route(self, route: Any) -> None:
        if await self.guard(route.request):
            await route.abort()
        else:
            await route.continue_()

    async def _render(self, url: str, wait_for: str | None) -> Rendered:
        from playwright.async_api import Error
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        context = await self._browser.new_context(user_agent=self.user_agent)
        try:
            page = await context.new_page()
            page.set_default_timeout(self.timeout_ms)
            await page.route("**/*", self._route)
            seconds = f"{self.timeout_ms / 1000:g} s"
            try:
                response = await page.goto(url, wait_until="load")
                if wait_for:
                    await page.wait_for_selector(wait_for, state=WAIT_FOR_STATE)
                else:
                    await page.wait_for_load_state("networkidle")
            except PlaywrightTimeout:
                why = (f"nothing matched {wait_for!r}" if wait_for
                       else "its network never went quiet")
                raise RenderTimeout(f"{url} did not settle in the browser within {seconds}: "
                                    f"{why}") from None
            except Error as exc:  # refused by the guard, unreachable
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
                raise RenderError(f"{url} could not be loaded in the browser: {first}") from None
            return Rendered(page.url, response.status if response else None,
                            await page.content())
        finally:
            await context.close()


def probe_renderer() -> Renderer:
    """A renderer with the crawl's settings: MARKWATCH_CRAWL_BROWSER, the private hosts the
    SSRF guard lets through, the crawler's user agent, MARKWATCH_CRAWL_BROWSER_TIMEOUT."""
    from markwatch.settings import get_settings

    s = get_settings()
    return Renderer(s.crawl_browser, s.crawl_allowed_private_hosts,
                    user_agent=s.crawl_user_agent,
                    timeout_ms=round(s.crawl_browser_timeout * 1000))
