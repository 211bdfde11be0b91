"""Try a marketplace profile without crawling: run one search (or a few pages of it) through the
SSRF-guarded client, obeying robots.txt, read the result links, the next pages and a few product
pages exactly as the generic spider would, and say field by field what was found and what is
missing. ``markwatch marketplaces probe`` prints the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from protego import Protego

from crawler.extract import ProductData, StructuredDataError
from crawler.outbound import OutboundClient, OutboundResponse
from crawler.profile import Profile
from crawler.profile_reader import (
    SearchRequest,
    missing_fields,
    read_product,
    read_results,
    search_request,
)
from markwatch.render import BrowserUnavailable, Renderer, RenderError, probe_renderer

MAX_BODY = 8 * 1024 * 1024
MAX_RETRY_AFTER = 10.0


@dataclass
class Fetch:
    url: str
    status: int | None  # None: not fetched (robots.txt, the guard, unreachable)
    note: str = ""


@dataclass
class ProductProbe:
    fetch: Fetch
    listing_id: str | None = None
    data: ProductData | None = None
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ProbeReport:
    profile: Profile
    term: str
    searches: list[Fetch] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    products: list[ProductProbe] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        out = []
        if not self.links:
            out.append("no result links found")
        if self.profile.pagination.kind != "none" and not self.next_pages and len(
                self.searches) < 2:
            out.append("no next page found")
        read = [p for p in self.products if p.fetch.status == 200]
        for name in ("title", "price", "currency", "seller"):
            lacking = sum(1 for p in read if name in p.missing)
            if lacking:
                out.append(f"no {name} on {lacking} of {len(read)} product pages")
        if any(p.data is not None and p.listing_id is None for p in read):
            out.append("no listing id on some product pages (check product.listing_id)")
        return out

    def as_dict(self) -> dict[str, Any]:
        def product(p: ProductProbe) -> dict[str, Any]:
            d = p.data
            return {"url": p.fetch.url, "status": p.fetch.status, "note": p.fetch.note,
                    "listing_id": p.listing_id, "missing": p.missing, "notes": p.notes,
                    "fields": None if d is None else {
                        "title": d.title, "price": None if d.price is None else str(d.price),
                        "currency": d.currency, "seller": d.seller, "seller_url": d.seller_url,
                        "category": d.category, "brand": d.brand, "condition": d.condition,
                        "images": d.images}}

        return {"marketplace": self.profile.code, "term": self.term,
                "searches": [vars(f) for f in self.searches], "links": self.links,
                "next_pages": self.next_pages,
                "skipped": [{"url": u, "reason": r} for u, r in self.skipped],
                "notes": self.notes, "products": [product(p) for p in self.products],
                "warnings": self.warnings}


class Robots:
    """robots.txt for each host, read once, with the crawler's policy: 4xx allows everything,
    5xx or an unreachable robots.txt disallows the host."""

    def __init__(self, client: OutboundClient):
        self.client = client
        self.rules: dict[str, Protego | bool | None] = {}

    def allowed(self, url: str) -> bool:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.rules:
            try:
                r = self.client.request("GET", origin + "/robots.txt")
            except OSError:
                self.rules[origin] = False
            else:
                if 200 <= r.status < 300:
                    self.rules[origin] = Protego.parse(r.body.decode("utf-8", "replace"))
                else:
                    self.rules[origin] = r.status < 500
        rule = self.rules[origin]
        if isinstance(rule, bool):
            return rule
        return rule is None or rule.can_fetch(url, self.client.user_agent)


def _retry_after(r: OutboundResponse) -> float | None:
    """Seconds to wait before asking again, for a 429 or 503 that says (at most 10 s)."""
    value = (r.headers.get("retry-after") or "").strip()
    if r.status not in (429, 503) or not value.isdigit():
        return None  # an HTTP date, or nothing: not worth waiting for in a probe
    wait = float(value)
    return wait if wait <= MAX_RETRY_AFTER else None


def _fetch(client: OutboundClient, robots: Robots, method: str, url: str,
           headers: dict[str, str] | None = None, body: str | None = None
           ) -> tuple[Fetch, OutboundResponse | None]:
    if not robots.allowed(url):
        return Fetch(url, None, "disallowed by robots.txt"), None
    try:
        r = client.request(method, url, headers=headers,
                           body=body.encode("utf-8") if body is not None else None)
        wait = _retry_after(r)
        if wait is not None:  # asked to slow down: wait as told (briefly) and ask once more
            time.sleep(wait)
            r = client.request(method, url, headers=headers,
                               body=body.encode("utf-8") if body is not None else None)
    except OSError as exc:  # OutboundBlocked, unreachable, too many redirects
        return Fetch(url, None, str(exc)), None
    note = "body cut at the size limit" if r.truncated else ""
    return Fetch(r.url, r.status, note), r


def _render(renderer: Renderer, robots: Robots, url: str, wait_for: str | None
            ) -> tuple[Fetch, str | None]:
    """A search page run in the browser, as the crawl runs it (``render = "browser"``)."""
    if not robots.allowed(url):
        return Fetch(url, None, "disallowed by robots.txt"), None
    try:
        page = renderer.render(url, wait_for)
    except BrowserUnavailable:
        raise  # nothing will render: the caller says which setting to fix
    except RenderError as exc:  # did not settle, refused by the guard, unreachable
        return Fetch(url, None, str(exc)), None
    return Fetch(page.url, page.status, "rendered in the browser"), page.html


def probe(profile: Profile, term: str, client: OutboundClient, *, pages: int = 1,
          products: int = 5, renderer: Renderer | None = None) -> ProbeReport:
    """Search ``term`` on ``pages`` result pages and read up to ``products`` product pages.
    With ``render = "browser"`` the search pages run in ``renderer`` (one is started with the
    crawl's settings when none is given); product pages are read over plain HTTP, as the
    crawl reads them."""
    if profile.render == "browser" and renderer is None:
        with probe_renderer() as own:
            return probe(profile, term, client, pages=pages, products=products, renderer=own)
    report = ProbeReport(profile, term)
    robots = Robots(client)
    queue: list[SearchRequest] = [search_request(profile, profile.base_url, term, 1)]
    wait_for = profile.results.wait_for if profile.results else None
    while queue and len(report.searches) < pages:
        req = queue.pop(0)
        if renderer is not None and profile.render == "browser" and req.method == "GET":
            fetched, text = _render(renderer, robots, req.url, wait_for)
        else:
            fetched, r = _fetch(client, robots, req.method, req.url, req.headers, req.body)
            text = r.body.decode("utf-8", "replace") if r is not None else None
        report.searches.append(fetched)
        if text is None or fetched.status != 200:
            report.notes.append(f"search page {req.url} gave {fetched.status or fetched.note}")
            break
        page = read_results(profile, profile.base_url, term, req, fetched.url, text,
                            max_pages=max(pages, 2))
        report.links += [u for u in page.links if u not in report.links]
        report.next_pages += [n.url for n in page.next]
        report.skipped += page.skipped
        report.notes += page.notes
        queue += page.next
    if renderer is not None and renderer.blocked:
        report.notes.append("the browser refused requests the pages made: " + ", ".join(
            f"{n} ({reason})" for reason, n in sorted(renderer.blocked.items())))
    for url in report.links[:products]:
        fetched, r = _fetch(client, robots, "GET", url)
        pp = ProductProbe(fetched)
        report.products.append(pp)
        if r is None or r.status != 200:
            pp.missing = ["page"]
            continue
        try:
            read = read_product(profile, r.url, r.body)
        except StructuredDataError as exc:
            pp.notes.append(str(exc))
            pp.missing = list(missing_fields(None))
            continue
        pp.data, pp.listing_id, pp.notes = read.data, read.listing_id, read.notes
        pp.missing = list(missing_fields(read.data))
    return report


def probe_client() -> OutboundClient:
    from crawler.outbound import outbound_client

    return outbound_client(max_body=MAX_BODY)
