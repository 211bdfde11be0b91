"""Read pages the way a marketplace profile says: search URLs, result links, the next pages and a
product's fields. Pure functions over URLs and bodies (parsel for CSS and XPath, no Scrapy, no
network), shared by the generic spider and ``markwatch marketplaces probe``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urljoin, urlsplit

import regex
from parsel import Selector

from crawler.extract import (
    WHOLE_UNIT_CURRENCIES,
    ProductData,
    StructuredDataError,
    currency_from_text,
    extract_product,
    inline_json,
    normalise_condition,
    parse_price,
)
from crawler.profile import Profile, Rule


@dataclass(frozen=True)
class SearchRequest:
    url: str
    method: str
    headers: dict[str, str]
    body: str | None
    page: int
    offset: int  # results before this page (ranks go on from here)
    cursor: str | None = None


@dataclass
class ResultsPage:
    """What one search page gave: product links, the next search requests, and notes."""

    links: list[str] = field(default_factory=list)
    next: list[SearchRequest] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    notes: list[str] = field(default_factory=list)


@dataclass
class ProductRead:
    data: ProductData | None
    listing_id: str | None
    notes: list[str] = field(default_factory=list)


# -- search ------------------------------------------------------------------------------------


def _fill(template: str, *, term: str, page: int, offset: int, limit: int | None,
          cursor: str | None, quote: bool) -> str:
    q = quote_plus if quote else (lambda s: s)
    values = {"term": q(term), "page": str(page), "offset": str(offset),
              "limit": str(limit or ""), "cursor": q(cursor or "")}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def search_request(profile: Profile, base_url: str, term: str, page: int = 1, *,
                   offset: int | None = None, cursor: str | None = None) -> SearchRequest:
    """The request for page ``page`` (1-based) of ``term``'s results."""
    s = profile.search
    assert s is not None, "a profile without [search] is read by a Python spider"
    if offset is None:
        offset = (page - 1) * (s.page_size or 0)
    template = s.first_url if page == 1 and s.first_url else s.url
    # relative templates join the base URL like a link on its home page would
    def fill(t: str) -> str:
        return _fill(t, term=term, page=page, offset=offset, limit=s.page_size, cursor=cursor,
                     quote=True)

    url = urljoin(base_url.rstrip("/") + "/", fill(template))
    body = fill(s.body) if s.body is not None else None
    headers = dict(s.headers)
    if body is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return SearchRequest(url, s.method, headers, body, page, offset, cursor)


# -- values from a page ------------------------------------------------------------------------


def json_path(data: Any, path: str) -> Any:
    """``a.b.0.c`` in nested dicts and lists; None when any step is missing."""
    if not path:
        return data
    for step in path.split("."):
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.lstrip("-").isdigit():
            i = int(step)
            data = data[i] if -len(data) <= i < len(data) else None
        else:
            return None
    return data


def embedded_json(sel: Selector, text: str, script: str) -> Any:
    """The JSON in ``<script id="__NEXT_DATA__">`` (``#id``) or assigned to a variable; None when
    absent. Raises StructuredDataError when it is there but not JSON."""
    if script.startswith("#"):
        raw = sel.xpath(f'//script[@id="{script[1:]}"]/text()').get()
        if raw is None:
            return None
        try:
            return json.JSONDecoder(strict=False).decode(raw)
        except ValueError as exc:
            raise StructuredDataError(f"invalid JSON in {script}: {exc}") from exc
    return inline_json(text, script)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return []
    s = str(value).strip()
    return [s] if s else []


#: A profile's regular expressions run on text the marketplace (or an attacker) wrote: one that
#: backtracks catastrophically on it stops after this many seconds and the page is a counted
#: skip. The standard ``re`` has no time limit; the ``regex`` package has, with the same syntax.
REGEX_SECONDS = 1.0


class RuleTimeout(StructuredDataError):
    """A profile's regular expression ran over its time limit on a page."""


def search(pattern: str, text: str) -> Any:
    """``regex.search`` with the profile time limit (RuleTimeout past it)."""
    try:
        return regex.search(pattern, text, timeout=REGEX_SECONDS)
    except TimeoutError:
        raise RuleTimeout(f"regular expression {pattern!r} ran over {REGEX_SECONDS:g} s "
                          f"on {len(text):,} characters") from None


def _finditer(pattern: str, text: str) -> list[Any]:
    try:
        return list(regex.finditer(pattern, text, timeout=REGEX_SECONDS))
    except TimeoutError:
        raise RuleTimeout(f"regular expression {pattern!r} ran over {REGEX_SECONDS:g} s "
                          f"on {len(text):,} characters") from None


def apply_rule(rule: Rule, sel: Selector, text: str, blob: Any = None) -> list[str]:
    """Every value ``rule`` finds, in page order, as published (surrounding whitespace
    trimmed)."""
    if rule.css:
        found = [v.strip() for v in sel.css(rule.css).getall()]
    elif rule.xpath:
        found = [v.strip() for v in sel.xpath(rule.xpath).getall()]
    elif rule.json_:
        found = _strings(json_path(blob, rule.json_))
    else:
        found = [text]
    if rule.regex:
        out = []
        for v in found:
            for m in _finditer(rule.regex, v):
                out.append((m.group(1) if m.groups() else m.group(0)).strip())
        found = out
    return [v for v in found if v]


# -- search results ----------------------------------------------------------------------------


def _result_links(profile: Profile, url: str, text: str, sel: Selector | None,
                  data: Any, page: ResultsPage) -> list[str]:
    r = profile.results
    assert r is not None
    if r.kind == "html":
        assert r.links is not None and sel is not None
        hrefs = apply_rule(r.links, sel, text)
    else:
        items = json_path(data, r.items)
        if not isinstance(items, list):
            page.notes.append(f"no list at {r.items or 'the root'!r}")
            return []
        hrefs = []
        for n, it in enumerate(items, start=1):
            value = json_path(it, r.link or "")
            if isinstance(value, str) and value.strip():
                hrefs.append(value.strip())
            else:
                page.skipped.append((url, f"result {n} has no link at {r.link!r}"))
    links: list[str] = []
    pattern = profile.product.link_pattern
    for href in hrefs:
        absolute = urljoin(url, href)  # protocol-relative links are joined as a browser does
        if urlsplit(absolute).scheme not in ("http", "https"):
            page.skipped.append((absolute[:200], "not an http(s) link"))
        elif pattern and not search(pattern, absolute):
            page.skipped.append((absolute, "link does not match product.link_pattern"))
        elif absolute not in links:
            links.append(absolute)
    return links


def read_results(profile: Profile, base_url: str, term: str, req: SearchRequest, url: str,
                 text: str, *, max_pages: int) -> ResultsPage:
    """Product links and the next search requests from one search page's text."""
    try:
        return _read_results(profile, base_url, term, req, url, text, max_pages=max_pages)
    except RuleTimeout as exc:
        page = ResultsPage()
        page.skipped.append((url, f"search page not read: {exc}"))
        return page


def _read_results(profile: Profile, base_url: str, term: str, req: SearchRequest, url: str,
                  text: str, *, max_pages: int) -> ResultsPage:
    r, p = profile.results, profile.pagination
    assert r is not None
    page = ResultsPage()
    sel = Selector(text=text) if r.kind != "json" else None
    data: Any = None
    try:
        if r.kind == "json":
            data = json.loads(text)
        elif r.kind == "embedded_json" and sel is not None:
            data = embedded_json(sel, text, r.script or "")
    except (ValueError, StructuredDataError) as exc:
        page.skipped.append((url, f"unreadable search results: {exc}"))
        return page
    page.links = _result_links(profile, url, text, sel, data, page)
    limit = min(max_pages, p.max_pages or max_pages)
    if not page.links or req.page >= limit:
        return page
    nxt = req.page + 1
    if p.kind == "next_link":
        assert p.next is not None and sel is not None
        href = next(iter(apply_rule(p.next, sel, text)), None)
        if href:
            page.next.append(SearchRequest(urljoin(url, href), "GET", dict(profile.search.headers)
                                           if profile.search else {}, None, nxt,
                                           req.offset + len(page.links)))
        else:
            page.notes.append("no next page link")
    elif p.kind == "page_number":
        size = profile.search.page_size if profile.search and profile.search.page_size else len(
            page.links)
        if p.total_pages is not None:
            if req.page == 1:  # the count is announced on page 1: ask for every page now
                found = apply_rule(p.total_pages, sel, text) if sel is not None else []
                total = int(found[0]) if found and found[0].isdigit() else 1
                for n in range(2, min(total, limit) + 1):
                    page.next.append(_numbered(profile, base_url, term, n, (n - 1) * size))
        else:
            page.next.append(_numbered(profile, base_url, term, nxt, req.offset + len(page.links)))
    elif p.kind == "offset":
        more = json_path(data, p.has_more) if p.has_more else True
        off = json_path(data, p.next_offset) if p.next_offset else None
        if more and off is None:
            off = req.offset + len(page.links)
        if more and isinstance(off, int | str) and str(off).isdigit():
            page.next.append(search_request(profile, base_url, term, nxt, offset=int(off)))
    elif p.kind == "cursor":
        more = json_path(data, p.has_more) if p.has_more else True
        cursor = json_path(data, p.cursor or "")
        if more and isinstance(cursor, str | int) and str(cursor):
            page.next.append(search_request(profile, base_url, term, nxt,
                                            offset=req.offset + len(page.links),
                                            cursor=str(cursor)))
    return page


def _numbered(profile: Profile, base_url: str, term: str, n: int, offset: int) -> SearchRequest:
    return search_request(profile, base_url, term, n, offset=offset)


# -- product pages -----------------------------------------------------------------------------


def _field_value(name: str, values: list[str], url: str) -> Any:
    if not values:
        return None
    first = values[0]
    if name == "price":
        return first  # read into a number once the currency is known
    if name == "currency":
        return currency_from_text(first)
    if name == "condition":
        return normalise_condition(first)
    if name == "seller_url":
        return urljoin(url, first)
    if name == "images":
        out: list[str] = []
        for v in values:
            u = urljoin(url, v)
            if u not in out:
                out.append(u)
        return out
    return first


def read_product(profile: Profile, url: str, body: bytes | str,
                 encoding: str = "UTF-8") -> ProductRead:
    """A product page's fields: structured data first (in the profile's order), then the field
    rules filling what it left empty. Raises StructuredDataError on unreadable JSON-LD, and
    RuleTimeout (one) when a rule's regular expression runs over its time limit."""
    pr = profile.product
    notes: list[str] = []
    data = extract_product(body, url, sources=pr.structured, encoding=encoding)
    if pr.fields:
        text = body if isinstance(body, str) else body.decode(encoding or "utf-8", "replace")
        sel = Selector(text=text)
        blob = None
        if pr.script:
            try:
                blob = embedded_json(sel, text, pr.script)
            except StructuredDataError as exc:
                notes.append(f"{exc}; using the page's other data")
        rules = ProductData()
        raw_price: Any = None
        for name, tried in pr.fields.items():
            for rule in tried:
                value = _field_value(name, apply_rule(rule, sel, text, blob), url)
                if name == "price":
                    raw_price = value
                    value = parse_price(value)
                if value not in (None, "", []):
                    setattr(rules, name, value)
                    break
        data = data.merge(rules) if data else rules
        if data.currency is None and profile.currency and data.price is not None:
            data.currency = profile.currency  # the marketplace's currency when a page is silent
        if raw_price is not None and rules.price is not None and data.price == rules.price and (
                data.currency in WHOLE_UNIT_CURRENCIES):
            data.price = parse_price(raw_price, whole_units=True)
    elif data is not None and data.currency is None and profile.currency and (
            data.price is not None):
        data.currency = profile.currency
    return ProductRead(data, listing_id(profile, url, data), notes)


def listing_id(profile: Profile, url: str, data: ProductData | None) -> str | None:
    m = search(profile.product.listing_id, urlsplit(url).path)
    if m and m.group(1):
        return m.group(1)
    return data.sku if data else None


def missing_fields(data: ProductData | None) -> Iterator[str]:
    """The fields a reviewer wants that a product read lacks."""
    for name in ("title", "price", "currency", "seller"):
        if data is None or getattr(data, name) in (None, "", []):
            yield name
