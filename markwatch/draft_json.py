"""Field rules over the JSON a product page embeds (``__NEXT_DATA__``, ``window.__DATA__``), for
the profile draft (``markwatch/draft.py``): which keys hold the title, price, currency and seller,
found by their names and checked against the values on the first product pages. Heuristics, as
the rest of the draft (no library does this); the probe's report shows what they read.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from parsel import Selector

from crawler.extract import StructuredDataError, inline_json

SELLER_KEYS = ("seller", "shop", "store", "vendor", "merchant")
SCRIPT_VARS = ("window.__DATA__", "window.__INITIAL_STATE__", "window.__NUXT__")


def embedded(ptext: str) -> list[tuple[str, Any]]:
    """The embedded JSON blobs of a page (``__NEXT_DATA__``, ``window.__DATA__`` …), named as
    a profile's ``script`` names them."""
    sel = Selector(text=ptext)
    candidates: list[tuple[str, Any]] = []
    sid = sel.xpath('//script[@id="__NEXT_DATA__"]/text()').get()
    if sid:
        with contextlib.suppress(ValueError):  # not JSON: nothing to read there
            candidates.append(("#__NEXT_DATA__", json.loads(sid)))
    for var in SCRIPT_VARS:
        try:
            blob = inline_json(ptext, var)
        except StructuredDataError:
            continue
        if blob is not None:
            candidates.append((var, blob))
    return candidates


def seller_path(blob: Any) -> str | None:
    """The dotted path of the key that names the shop (``seller``, ``shop.name`` …)."""
    if not isinstance(blob, dict):
        return None
    for path in _paths(blob, ""):
        last = path.rsplit(".", 1)[-1].lower()
        parent = path.rsplit(".", 2)[-2].lower() if "." in path else ""
        if any(k in parent for k in SELLER_KEYS) and last in ("name", "title"):
            return path
        if any(k == last or last == f"{k}_name" or last == f"{k}name" for k in SELLER_KEYS):
            return path
    return None


def _paths(v: Any, path: str) -> list[str]:
    out: list[str] = []
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{path}.{k}" if path else k
            if isinstance(x, str) and x.strip():
                out.append(p)
            elif isinstance(x, dict):
                out += _paths(x, p)
    return out


_TITLE_KEYS = ("title", "name", "product_name", "productname", "label")
_PRICE_KEYS = ("price", "amount", "value", "sale_price", "current_price", "prix")
_CURRENCY_KEYS = ("currency", "currency_code", "currencycode", "pricecurrency", "devise")
_IMAGE_KEYS = ("images", "pictures", "photos", "gallery", "image_urls", "imageurls", "media")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _leaves(v: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) of every string, number or list of strings under the objects of
    ``v``."""
    out: list[tuple[str, Any]] = []
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{path}.{k}" if path else str(k)
            if (isinstance(x, str | int | float) and not isinstance(x, bool)) or (
                    isinstance(x, list) and all(isinstance(i, str) for i in x)):
                out.append((p, x))
            elif isinstance(x, dict):
                out += _leaves(x, p)
    return out


def _is_title(path: str, values: list[Any]) -> bool:
    *parents, last = path.lower().split(".")
    return (last in _TITLE_KEYS and not any(k in p for p in parents for k in SELLER_KEYS)
            and all(isinstance(v, str) and v.strip() for v in values)
            and (len(values) < 2 or len(set(values)) > 1))


def _is_price(path: str, values: list[Any]) -> bool:
    *parents, last = path.lower().split(".")
    pricey = last in ("price", "sale_price", "current_price", "prix") or (
        last in _PRICE_KEYS and any(k in p for p in parents for k in ("price", "offer", "prix")))
    return pricey and all(isinstance(v, int | float) or (isinstance(v, str)
                                                          and _NUMBER.fullmatch(v.strip()))
                          for v in values)


def _is_currency(path: str, values: list[Any]) -> bool:
    last = path.lower().rsplit(".", 1)[-1]
    return last in _CURRENCY_KEYS and all(isinstance(v, str) and re.fullmatch(r"[A-Z]{3}", v)
                                          for v in values)


def _urlish(v: Any) -> bool:
    return isinstance(v, str) and v.startswith(("/", "http://", "https://"))


def _is_seller_url(path: str, values: list[Any]) -> bool:
    *parents, last = path.lower().split(".")
    named = last in ("seller_url", "shop_url", "store_url", "vendor_url", "merchant_url") or (
        last in ("url", "href", "link", "path", "permalink")
        and any(k in p for p in parents[-1:] for k in SELLER_KEYS))
    return named and all(_urlish(v) for v in values)


def _is_images(path: str, values: list[Any]) -> bool:
    last = path.lower().rsplit(".", 1)[-1]
    return (last in _IMAGE_KEYS and all(isinstance(v, list) and all(map(_urlish, v))
                                        for v in values) and any(values))


def _pick(seen: dict[str, list[Any]], test: Any, least: float) -> str | None:
    """The shortest path whose values (on at least ``least`` pages) pass ``test``."""
    fits = [p for p, vs in seen.items() if len(vs) >= least and test(p, vs)]
    return min(fits, key=lambda p: p.count("."), default=None)


def script_fields(pages: list[str]) -> tuple[str, dict[str, dict[str, str]]] | None:
    """``json`` field rules over an embedded JSON the product ``pages`` (their text) share:
    the title, price, currency and seller keys (and the seller's link and the photos), by
    their names, where the values fit (a price is a number, a currency three capitals, titles
    differ from page to page, links and photos are URLs). The script and
    the rules when it found a title and a price, else None."""
    blobs: dict[str, list[Any]] = {}
    for ptext in pages:
        for script, blob in embedded(ptext):
            blobs.setdefault(script, []).append(blob)
    for script, found in blobs.items():
        if len(found) < 0.6 * len(pages):
            continue
        seen: dict[str, list[Any]] = {}
        for blob in found:
            for path, value in _leaves(blob):
                seen.setdefault(path, []).append(value)
        title = _pick(seen, _is_title, 0.8 * len(pages))
        price = _pick(seen, _is_price, 0.6 * len(pages))
        if not (title and price):
            continue
        fields = {"title": {"json": title}, "price": {"json": price}}
        currency = _pick(seen, _is_currency, 0.6 * len(pages))
        if currency:
            fields["currency"] = {"json": currency}
        seller = next(filter(None, (seller_path(b) for b in found)), None)
        if seller:
            fields["seller"] = {"json": seller}
        for name, test in (("seller_url", _is_seller_url), ("images", _is_images)):
            where = _pick(seen, test, 0.6 * len(pages))
            if where:
                fields[name] = {"json": where}
        return script, fields
    return None
