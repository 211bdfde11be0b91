"""Draft a marketplace profile from its home page and one search, unaided: the first thing
``markwatch marketplaces probe URL --term WORD`` does before it shows what the draft reads.

What it looks for, in order (every fetch through the SSRF-guarded client, robots.txt obeyed):

1. the search: a ``<form>`` with a text input on the home page (its action and input name);
2. the results: on the search page, links to one kind of page (the path shape most result links
   share, e.g. ``/item/…``); or, when the page is a script-filled shell, the JSON endpoint it
   names (a ``data-endpoint`` attribute or a ``fetch("/api/…")`` call), asked with the form's
   parameter, its list of results and their URL key; or, when it names none, the page run in
   chromium (``markwatch/render.py``, the crawl's browser and request guard) and its links read
   from the DOM its scripts built: ``render = "browser"``, with ``wait_for`` the element the
   scripts made around the links;
3. the pagination: a ``rel="next"`` link, a link to page 2 of the same search (its parameter),
   an announced page count (``data-total-pages``), or the API's ``has_more``/``next_offset``;
4. the product pages: which structured data (JSON-LD, microdata, OpenGraph) gives a title and a
   price on the first pages; without any, ``json`` rules over an embedded JSON the pages share
   (``__NEXT_DATA__``, ``window.__DATA__``: the title, price, currency and seller keys;
   ``markwatch/draft_json.py``), else
   field rules (the title from ``h1`` or ``<title>`` unless it is the same on every page, the
   price and currency from the first price-like text, the seller after a seller label); and,
   when nothing gives the seller, an embedded JSON key that names the shop.

It writes what it found as a profile; what it could not find is left out and said.
These are heuristics (no library drafts scraping rules from one search); each step is small so
that a wrong guess is easy to see in the probe's report and to correct in the TOML.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from parsel import Selector

from crawler.extract import StructuredDataError, extract_product
from crawler.outbound import OutboundClient
from crawler.profile import Profile, validate_profile
from markwatch.draft_json import embedded, script_fields, seller_path
from markwatch.probe import Robots
from markwatch.render import Renderer

_SHELL_SCRIPT = re.compile(r"""fetch\(\s*["'](/[\w/.-]+)""")


class DraftError(ValueError):
    """The site did not show enough to draft a profile; the message says what was missing."""


@dataclass
class Draft:
    data: dict[str, Any]
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def profile(self) -> Profile:
        return validate_profile(self.data, "draft")

    def toml(self) -> str:
        """The draft as a TOML profile (flat tables, inline rule tables)."""
        def value(v: Any) -> str:
            if isinstance(v, dict):
                return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
            if isinstance(v, list):
                return "[" + ", ".join(value(x) for x in v) + "]"
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, int | float):
                return str(v)
            return json.dumps(v, ensure_ascii=False)

        lines = ["# drafted by markwatch marketplaces probe; check it, then markwatch "
                 "marketplaces add", *(f"# not found: {m}" for m in self.missing)]
        tables: list[tuple[str, dict]] = []
        for k, v in self.data.items():
            if isinstance(v, dict) and k != "headers":
                tables.append((k, v))
            else:
                lines.append(f"{k} = {value(v)}")
        for name, table in tables:
            sub = {k: v for k, v in table.items() if isinstance(v, dict) and k == "fields"}
            lines += ["", f"[{name}]"]
            lines += [f"{k} = {value(v)}" for k, v in table.items() if k not in sub]
            for k, v in sub.items():
                lines += ["", f"[{name}.{k}]"]
                lines += [f"{fk} = {value(fv)}" for fk, fv in v.items()]
        return "\n".join(lines) + "\n"


def _get(client: OutboundClient, robots: Robots, url: str) -> tuple[str, str, str]:
    if not robots.allowed(url):
        raise DraftError(f"{url} is disallowed by robots.txt")
    r = client.request("GET", url)
    if r.status != 200:
        raise DraftError(f"{url} answered {r.status}")
    return r.url, r.headers.get("content-type", ""), r.body.decode("utf-8", "replace")


def _search_form(sel: Selector, base: str) -> tuple[str, str] | None:
    for form in sel.css("form"):
        if (form.attrib.get("method") or "get").lower() != "get":
            continue
        for inp in form.css("input"):
            kind = (inp.attrib.get("type") or "text").lower()
            if kind in ("text", "search") and inp.attrib.get("name"):
                return urljoin(base, form.attrib.get("action") or base), inp.attrib["name"]
    return None


def _shape(path: str) -> tuple[str, str] | None:
    """``/item/BZ6D6`` -> (``/item/``, ``""``); ``/goods/TJ1.html`` -> (``/goods/``, ``.html``)."""
    m = re.fullmatch(r"(/(?:[\w-]+/)*)([\w-]*\d[\w-]*)(\.html?)?/?", path)
    return (m.group(1), m.group(3) or "") if m else None


def _links(sel: Selector, url: str) -> list[str]:
    host = urlsplit(url).netloc
    out = []
    for href in sel.css("a::attr(href)").getall():
        u = urljoin(url, href.strip())
        if urlsplit(u).netloc == host and u not in out:
            out.append(u)
    return out


def _json_results(data: Any) -> tuple[str, str] | None:
    """The path of the first list of objects with a URL-like string key, and that key."""
    def walk(v: Any, path: str) -> tuple[str, str] | None:
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v[:5]):
            for k, x in v[0].items():
                urlish = x.startswith(("/", "http")) if isinstance(x, str) else False
                if urlish and k in ("url", "link", "href", "permalink", "path"):
                    return path, k
        if isinstance(v, dict):
            for k, x in v.items():
                found = walk(x, f"{path}.{k}" if path else k)
                if found:
                    return found
        return None
    return walk(data, "")


def draft_profile(client: OutboundClient, url: str, term: str, *, code: str | None = None,
                  product_pages: int = 5, renderer: Renderer | None = None) -> Draft:
    """Draft a profile for the site at ``url``. ``renderer`` runs a search page whose results
    only scripts fill in, when neither its links nor a JSON endpoint it names give them."""
    robots = Robots(client)
    home, _, text = _get(client, robots, url)
    parts = urlsplit(home)
    base = f"{parts.scheme}://{parts.netloc}"
    host = (parts.hostname or "shop").split(".")
    d = Draft({"code": code or re.sub(r"[^a-z0-9-]", "-", host[-2] if len(host) > 1 and
                                      not host[-1].isdigit() else "shop")[:32].strip("-") or "shop",
               "name": Selector(text=text).css("title::text").get(default="").strip()[:200]
               or parts.netloc, "base_url": base})
    form = _search_form(Selector(text=text), home)
    if form is None:
        raise DraftError(f"no search form on {home}; write [search] by hand")
    action, param = form
    search_path = urlsplit(action).path or "/"
    d.data["search"] = {"url": f"{search_path}?{param}={{term}}"}
    d.found.append(f"search form: {search_path}?{param}=")
    surl, _ctype, stext = _get(client, robots, urljoin(base, f"{search_path}?{param}={term}"))
    product_links = _html_results(d, Selector(text=stext), surl, search_path, param)
    if product_links is None and _endpoint(Selector(text=stext), stext):
        before = copy.deepcopy(d.data), list(d.found)
        try:
            product_links = _api(d, client, robots, base, stext, param, term)
        except DraftError:
            if renderer is None:
                raise
            d.data, d.found = before  # the endpoint gave no usable results: try the browser
    if product_links is None:
        if renderer is None:
            raise DraftError("the search page has no result links and names no JSON endpoint")
        product_links = _rendered(d, renderer, surl, stext, search_path, param)
    _product(d, client, robots, product_links[:product_pages])
    return d


def _html_results(d: Draft, sel: Selector, surl: str, search_path: str,
                  param: str) -> list[str] | None:
    """Results as links to one kind of page (at least three), and the pagination; None when
    the page has no such links."""
    links = _links(sel, surl)
    shapes = Counter(s for s in (_shape(urlsplit(u).path) for u in links) if s)
    best = shapes.most_common(1)
    if not best or best[0][1] < 3:
        return None
    (prefix, suffix), _n = best[0]
    lid = f"{re.escape(prefix)}([^/?#]+?){re.escape(suffix)}" if suffix else \
        f"{re.escape(prefix)}([^/?#]+)"
    d.data["results"] = {"kind": "html", "links": {"css": f'a[href*="{prefix}"]::attr(href)'}}
    d.data["product"] = {"listing_id": lid.replace("\\/", "/"),
                         "link_pattern": re.escape(prefix).replace("\\/", "/")}
    _html_pagination(d, sel, surl, search_path, param)
    return [u for u in links if _shape(urlsplit(u).path) == (prefix, suffix)]


def _rendered(d: Draft, renderer: Renderer, surl: str, plain: str, search_path: str,
              param: str) -> list[str]:
    """The search page run in the browser: its result links in the DOM the scripts built,
    ``render = "browser"`` and a ``wait_for`` selector for the element that holds them."""
    page = renderer.render(surl)
    sel = Selector(text=page.html)
    links = _html_results(d, sel, page.url, search_path, param)
    if links is None:
        raise DraftError("the search page has no result links, nor a JSON endpoint that gives "
                         "them, even once its scripts ran in a browser")
    d.data["render"] = "browser"
    link_css = d.data["results"]["links"]["css"].removesuffix("::attr(href)")
    wait = _wait_for(sel, Selector(text=plain), link_css)
    d.data["results"]["wait_for"] = wait
    d.found.append(f"results: filled in by scripts; the search page runs in a browser, "
                   f"waiting for {wait}")
    return links


_CSS_NAME = re.compile(r"-?[A-Za-z_][\w-]*")


def _wait_for(rendered: Selector, plain: Selector, link_css: str) -> str:
    """A CSS selector for the nearest element around the result links that the scripts made
    (it is not in the page as served, and holds every result link); else the links' own."""
    first = rendered.css(link_css)
    total = len(first)
    if not total:
        return link_css
    for node in reversed(first[0].xpath("ancestor::*")):
        tag = node.root.tag
        if not isinstance(tag, str) or tag in ("html", "body"):
            break
        ident = node.attrib.get("id", "")
        classes = [c for c in node.attrib.get("class", "").split() if _CSS_NAME.fullmatch(c)]
        if ident and _CSS_NAME.fullmatch(ident):
            css = f"{tag}#{ident}"
        elif classes:
            css = tag + "".join(f".{c}" for c in classes)
        else:
            continue
        if not plain.css(css) and len(rendered.css(f"{css} {link_css}")) == total:
            return css
    return link_css


def _html_pagination(d: Draft, sel: Selector, surl: str, search_path: str, param: str) -> None:
    nxt = sel.css('a[rel~="next"]::attr(href)').get()
    if nxt:
        d.data["pagination"] = {"kind": "next_link", "next": {"css":
                                                             'a[rel~="next"]::attr(href)'}}
        d.found.append("pagination: rel=next links")
        return
    for u in _links(sel, surl):
        parts = urlsplit(u)
        q = dict(parse_qsl(parts.query))
        if parts.path == search_path and param in q:
            for k, v in q.items():
                if k != param and v == "2":
                    d.data["search"]["url"] += f"&{k}={{page}}"
                    pag: dict[str, Any] = {"kind": "page_number"}
                    total = sel.xpath("//*[@data-total-pages]/@data-total-pages").get()
                    if total:
                        pag["total_pages"] = {"xpath": "//*[@data-total-pages]/@data-total-pages"}
                    d.data["pagination"] = pag
                    d.found.append(f"pagination: page parameter {k}"
                                   + (", page count announced" if total else ""))
                    return
    d.missing.append("pagination (no next link or page-2 link on the first results page)")


def _endpoint(sel: Selector, stext: str) -> str | None:
    """The JSON endpoint a script-filled results page names in its own text."""
    return sel.xpath("//@data-endpoint").get() or next(iter(_SHELL_SCRIPT.findall(stext)), None)


def _api(d: Draft, client: OutboundClient, robots: Robots, base: str, stext: str, param: str,
         term: str) -> list[str]:
    sel = Selector(text=stext)
    endpoint = _endpoint(sel, stext)
    if not endpoint:
        raise DraftError("the search page has no result links and names no JSON endpoint")
    limit = sel.xpath("//@data-limit").get()
    paged = "offset" in stext
    url = f"{endpoint}?{param}={{term}}"
    if paged:
        url += "&offset={offset}" + ("&limit={limit}" if limit else "")
    d.data["search"] = {"url": url, "headers": {"Accept": "application/json"}}
    if limit and limit.isdigit():
        d.data["search"]["page_size"] = int(limit)
    first = url.replace("{term}", term).replace("{offset}", "0").replace("{limit}", limit or "")
    aurl, _, atext = _get(client, robots, urljoin(base, first))
    try:
        data = json.loads(atext)
    except ValueError as exc:
        raise DraftError(f"{endpoint} did not answer JSON: {exc}") from None
    found = _json_results(data)
    if found is None:
        raise DraftError(f"no list of results with URLs in {endpoint}'s answer")
    items, key = found
    d.data["results"] = {"kind": "json", "items": items, "link": key}
    d.found.append(f"results: JSON endpoint {endpoint}, list {items or '(root)'}, key {key}")
    if paged and isinstance(data, dict):
        pag: dict[str, Any] = {"kind": "offset"}
        for k in ("has_more", "hasMore", "more"):
            if k in data:
                pag["has_more"] = k
        for k in ("next_offset", "nextOffset"):
            if k in data:
                pag["next_offset"] = k
        d.data["pagination"] = pag
        d.found.append("pagination: offsets")
    links = [urljoin(aurl, it[key]) for it in json_path_list(data, items)
             if isinstance(it, dict) and isinstance(it.get(key), str)]
    shapes = Counter(s for s in (_shape(urlsplit(u).path) for u in links) if s)
    if shapes:
        (prefix, suffix), _n = shapes.most_common(1)[0]
        d.data["product"] = {"listing_id": re.escape(prefix).replace("\\/", "/") + "([^/?#]+?)"
                             + re.escape(suffix) if suffix else
                             re.escape(prefix).replace("\\/", "/") + "([^/?#]+)"}
    return links


def json_path_list(data: Any, path: str) -> list[Any]:
    for step in [s for s in path.split(".") if s]:
        data = data.get(step) if isinstance(data, dict) else None
    return data if isinstance(data, list) else []


#: a price as shops write it: a sign or code before or after a number
PRICE_RX = (r"(?:US\$|Rp|RM|€|£|\$|¥|￥|₫|₩|₱|฿)\s?\d[\d.,]*\d|"
            r"\d[\d.,]*\s?(?:€|Rp|zł|kr|₫|元)")
#: words shops put before the seller's name, in the languages of the region
SELLER_LABELS = ("Sold by", "Seller", "Sold and shipped by", "Verkäufer", "Vendu par",
                 "Vendido por", "Dijual oleh", "Penjual", "Người bán", "ผู้ขาย", "卖家", "店铺",
                 "商家", "ショップ")


def _works(rule: dict[str, str], pages: list[tuple[str, str, str]], share: float = 0.6) -> bool:
    """Whether ``rule`` finds a value on at least ``share`` of ``pages``."""
    from crawler.profile import Rule
    from crawler.profile_reader import apply_rule

    r = Rule.model_validate(rule)
    hits = sum(1 for _, _, t in pages if apply_rule(r, Selector(text=t), t))
    return hits >= share * len(pages)


def _varies(rule: dict[str, str], pages: list[tuple[str, str, str]]) -> bool:
    """Whether ``rule`` reads more than one value over ``pages`` (a title that is the same on
    every product page is the shop's name, not the product's)."""
    from crawler.profile import Rule
    from crawler.profile_reader import apply_rule

    r = Rule.model_validate(rule)
    values = {tuple(apply_rule(r, Selector(text=t), t)) for _, _, t in pages}
    return len(pages) < 2 or len(values) > 1


def _text_rules(d: Draft, pages: list[tuple[str, str, str]]) -> None:
    """Field rules for pages without structured data: the title from ``h1`` or ``<title>``, the
    price and currency from the first price-like text, the seller after a seller label."""
    fields: dict[str, Any] = {}
    for rule in ({"css": "h1::text"}, {"css": "title::text"}):
        if _works(rule, pages, 0.8) and _varies(rule, pages):
            fields["title"] = rule
            break
    price = {"xpath": "//body//text()", "regex": f"({PRICE_RX})"}
    if _works(price, pages):
        fields["price"] = price
        fields["currency"] = price
    for label in SELLER_LABELS:
        same = {"xpath": f"//body//text()[contains(., '{label}')]",
                "regex": f"{re.escape(label)}\\s*[:：]?\\s*([^\\s:：].*)"}
        after = {"xpath": f"//body//text()[contains(., '{label}')]"
                          "/following::text()[normalize-space()][1]"}
        rules = [r for r in (same, after) if _works(r, pages, 0.3)]
        if rules and _works(after if after in rules else same, pages):
            fields["seller"] = rules
            break
    if fields:
        d.data["product"]["fields"] = fields
        d.found.append("field rules for " + ", ".join(fields))
    missing = [f for f in ("title", "price", "seller") if f not in fields]
    if missing:
        d.missing.append("no structured data, and no rule found for " + ", ".join(missing))


def _product(d: Draft, client: OutboundClient, robots: Robots, links: list[str]) -> None:
    product = d.data.setdefault("product", {})
    pages = []
    for u in links:
        try:
            pages.append(_get(client, robots, u))
        except (DraftError, OSError):
            continue
    if not pages:
        d.missing.append("product pages (none could be fetched)")
        return
    score: Counter[str] = Counter()
    seller_from: Counter[str] = Counter()
    for purl, _, ptext in pages:
        for source in ("json-ld", "microdata", "opengraph"):
            try:
                got = extract_product(ptext, purl, sources=[source])
            except StructuredDataError:
                continue
            if got and got.title and got.price is not None:
                score[source] += 1
            if got and got.seller:
                seller_from[source] += 1
    order = [s for s, _n in score.most_common()]
    product["structured"] = order + [s for s in ("json-ld", "microdata", "opengraph")
                                     if s not in order]
    d.found.append(f"structured data: {', '.join(order) or 'none'}")
    if not order and not _script_rules(d, pages):
        _text_rules(d, pages)
    if any(seller_from[s] for s in order):
        return
    if "seller" in product.get("fields", {}):
        return
    for _purl, _, ptext in pages:
        for script, blob in embedded(ptext):
            if product.get("script", script) != script:
                continue  # the profile reads one embedded JSON, already chosen
            path = seller_path(blob)
            if path:
                product["script"] = script
                product.setdefault("fields", {})["seller"] = {"json": path}
                d.found.append(f"seller: {script} {path}")
                return
    d.missing.append("the seller (not in structured data nor in an embedded JSON)")


def _script_rules(d: Draft, pages: list[tuple[str, str, str]]) -> bool:
    """``json`` field rules over an embedded JSON the product pages share; True when it found
    a title and a price (``markwatch/draft_json.py``)."""
    found = script_fields([t for _, _, t in pages])
    if found is None:
        return False
    script, fields = found
    d.data["product"]["script"] = script
    d.data["product"]["fields"] = fields
    d.found.append(f"field rules over the embedded JSON {script}: "
                   + ", ".join(f"{k} {v['json']}" for k, v in fields.items()))
    return True
