"""Read product fields from the structured data marketplaces publish.

Most product pages carry schema.org ``Product`` markup (JSON-LD or microdata) or OpenGraph tags.
:func:`extract_product` reads whichever a page has and returns a :class:`ProductData`; a shop that
publishes structured data needs only its own search-results parsing on top.

Pure functions over bytes/strings: no Scrapy, no network. Text is returned as published (odd
Unicode, confusables and zero-width characters are kept); only surrounding whitespace is trimmed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin

from extruct.jsonld import JsonLdExtractor
from extruct.opengraph import OpenGraphExtractor
from extruct.utils import parse_html
from extruct.w3cmicrodata import MicrodataExtractor

SOURCES = ("json-ld", "microdata", "opengraph")


class StructuredDataError(ValueError):
    """Structured data is present but cannot be read (e.g. invalid JSON-LD)."""


@dataclass
class ProductData:
    """Product fields as a page declares them; ``None`` when the page does not say."""

    title: str | None = None
    description: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    seller: str | None = None
    seller_url: str | None = None
    images: list[str] = field(default_factory=list)
    category: str | None = None
    brand: str | None = None
    condition: str | None = None  # "new", "used", "refurbished"
    sku: str | None = None
    url: str | None = None

    def merge(self, other: ProductData | None) -> ProductData:
        """Fill this object's empty fields from ``other``; return self."""
        if other is None:
            return self
        for f in fields(self):
            if not getattr(self, f.name) and getattr(other, f.name):
                setattr(self, f.name, getattr(other, f.name))
        return self

    @property
    def complete(self) -> bool:
        """Has what a listing cannot do without: a title and a price."""
        return bool(self.title) and self.price is not None


# ---------------------------------------------------------------------------------------------
# small value parsers

_NUMBER = re.compile(r"\d[\d,.\s\u00a0']*")
_CURRENCY_SIGNS = {"£": "GBP", "$": "USD", "€": "EUR", "¥": "CNY", "￥": "CNY", "元": "CNY",
                   "Rp": "IDR"}
#: currencies whose prices are written in whole units: "Rp 125.000" is 125000, not 125
WHOLE_UNIT_CURRENCIES = frozenset({"IDR", "JPY", "KRW", "VND", "CLP", "ISK"})


def parse_price(value: Any, *, whole_units: bool = False) -> Decimal | None:
    """``"£1,234.50"``, ``"1234.5"``, ``12``, ``"¥ 298.00"``, ``"1.234,50"``, ``"Rp 1.250.000"``
    -> Decimal; else None. ``whole_units``: the currency has no minor unit in use (rupiah, yen),
    so dots and commas group thousands unless two digits follow the last one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            return None
        return d if d.is_finite() and d >= 0 else None
    m = _NUMBER.search(str(value))
    if not m:
        return None
    s = re.sub(r"[\s\u00a0']", "", m.group(0)).rstrip(".,")
    if whole_units and not re.search(r"[.,]\d{1,2}$", s):
        s = s.replace(".", "").replace(",", "")
    if "," in s and "." in s:
        s = (
            s.replace(",", "")
            if s.rfind(".") > s.rfind(",")
            else s.replace(".", "").replace(",", ".")
        )
    elif s.count(".") > 1:  # "1.250.000": dots group thousands
        s = s.replace(".", "")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = f"{head.replace(',', '')}.{tail}" if len(tail) in (1, 2) else s.replace(",", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def currency_from_text(value: str | None) -> str | None:
    """An ISO 4217 code from ``"GBP"`` or from a sign like ``"£"``."""
    if not value:
        return None
    v = value.strip()
    if re.fullmatch(r"[A-Za-z]{3}", v):
        return v.upper()
    for sign, code in _CURRENCY_SIGNS.items():
        if sign in v:
            return code
    return None


_CONDITIONS = {
    "newcondition": "new",
    "new": "new",
    "全新": "new",
    "usedcondition": "used",
    "used": "used",
    "二手": "used",
    "damagedcondition": "used",
    "refurbishedcondition": "refurbished",
    "refurbished": "refurbished",
    "翻新": "refurbished",
    "官方翻新": "refurbished",
}


def normalise_condition(value: Any) -> str | None:
    """schema.org ``itemCondition`` (URL or name), English or Chinese words -> new/used/refurbished."""
    if not value:
        return None
    v = str(value).strip().rstrip("/").rsplit("/", 1)[-1].lower()
    return _CONDITIONS.get(v)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@value"))
    if isinstance(value, list):
        return _text(value[0]) if value else None
    s = str(value).strip()
    return s or None


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _urls(values: Iterable[Any], base_url: str | None) -> list[str]:
    out: list[str] = []
    for v in values:
        if isinstance(v, dict):
            v = v.get("url") or v.get("contentUrl") or v.get("@id")
        if isinstance(v, str) and v.strip():
            u = urljoin(base_url or "", v.strip())
            if u not in out:
                out.append(u)
    return out


def _is_type(item: dict, name: str, key: str = "@type") -> bool:
    types = _as_list(item.get(key))
    return any(isinstance(t, str) and t.rstrip("/").rsplit("/", 1)[-1] == name for t in types)


# ---------------------------------------------------------------------------------------------
# documents and raw structured data


def parse_document(body: bytes | str, encoding: str = "UTF-8"):
    """An lxml document for the extractors (tolerates broken HTML)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
        encoding = "UTF-8"
    return parse_html(body, encoding=encoding)


def jsonld_items(document) -> list[dict]:
    """Top-level JSON-LD objects (``@graph`` flattened). Raises StructuredDataError if invalid."""
    try:
        items = JsonLdExtractor().extract_items(document)
    except ValueError as exc:  # json / jstyleson decoding errors
        raise StructuredDataError(f"invalid JSON-LD: {exc}") from exc
    out: list[dict] = []
    for it in items:
        if isinstance(it, dict) and isinstance(it.get("@graph"), list):
            out.extend(g for g in it["@graph"] if isinstance(g, dict))
        elif isinstance(it, dict):
            out.append(it)
    return out


def microdata_items(document, base_url: str | None = None) -> list[dict]:
    """Top-level microdata items as extruct returns them (``type``, ``properties``)."""
    return MicrodataExtractor().extract_items(document, base_url=base_url or "")


def opengraph_properties(document) -> dict[str, list[str]]:
    """OpenGraph-style ``<meta property=...>`` values, by property, in page order."""
    props: dict[str, list[str]] = {}
    for item in OpenGraphExtractor().extract_items(document):
        for k, v in item["properties"]:
            props.setdefault(k, []).append(v)
    return props


def inline_json(text: str, variable: str) -> Any:
    """The JSON value assigned to ``variable`` in inline script (``window.__DATA__ = {...};``).

    Returns None when the assignment is absent; raises StructuredDataError when it is not JSON.
    """
    m = re.search(re.escape(variable) + r"\s*=\s*", text)
    if not m:
        return None
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(text, m.end())
    except ValueError as exc:
        raise StructuredDataError(f"invalid JSON in {variable}: {exc}") from exc
    return value


# ---------------------------------------------------------------------------------------------
# Product from each kind of markup


def product_from_jsonld(items: Sequence[dict], base_url: str | None = None) -> ProductData | None:
    product = next((it for it in items if _is_type(it, "Product")), None)
    if product is None:
        return None
    offers = _as_list(product.get("offers"))
    offer = next((o for o in offers if isinstance(o, dict)), {})
    if (
        _is_type(offer, "AggregateOffer")
        and offer.get("lowPrice") is not None
        and offer.get("price") is None
    ):
        offer = {**offer, "price": offer.get("lowPrice")}
    seller = offer.get("seller") or product.get("seller")
    seller_url = seller.get("url") if isinstance(seller, dict) else None
    return ProductData(
        title=_text(product.get("name")),
        description=_text(product.get("description")),
        price=parse_price(offer.get("price")),
        currency=currency_from_text(_text(offer.get("priceCurrency"))),
        seller=_text(seller),
        seller_url=urljoin(base_url or "", seller_url) if seller_url else None,
        images=_urls(_as_list(product.get("image")), base_url),
        category=_text(product.get("category")),
        brand=_text(product.get("brand")),
        condition=normalise_condition(offer.get("itemCondition") or product.get("itemCondition")),
        sku=_text(product.get("sku") or product.get("productID")),
        url=_text(offer.get("url") or product.get("url")),
    )


def _props(item: Any) -> dict:
    return item.get("properties", {}) if isinstance(item, dict) else {}


def _md_walk(items: Iterable[dict]) -> Iterator[dict]:
    for it in items:
        if not isinstance(it, dict):
            continue
        yield it
        for v in _props(it).values():
            yield from _md_walk(v if isinstance(v, list) else [v])


def product_from_microdata(
    items: Sequence[dict], base_url: str | None = None
) -> ProductData | None:
    product = next((it for it in _md_walk(items) if _is_type(it, "Product", key="type")), None)
    if product is None:
        return None
    p = _props(product)
    offer = next((o for o in _as_list(p.get("offers")) if isinstance(o, dict)), {})
    op = _props(offer)
    seller = op.get("seller") or p.get("seller")
    sp = _props(seller) if isinstance(seller, dict) else {}
    seller_name = _text(sp.get("name")) if sp else _text(seller)
    brand = p.get("brand")
    return ProductData(
        title=_text(p.get("name")),
        description=_text(p.get("description")),
        price=parse_price(_text(op.get("price"))),
        currency=currency_from_text(_text(op.get("priceCurrency"))),
        seller=seller_name,
        seller_url=_urls([sp.get("url")], base_url)[0] if sp.get("url") else None,
        images=_urls(_as_list(p.get("image")), base_url),
        category=_text(p.get("category")),
        brand=_text(_props(brand).get("name")) if isinstance(brand, dict) else _text(brand),
        condition=normalise_condition(_text(op.get("itemCondition"))),
        sku=_text(p.get("sku")),
        url=_text(op.get("url") or p.get("url")),
    )


def product_from_opengraph(
    props: dict[str, list[str]], base_url: str | None = None
) -> ProductData | None:
    if not props:
        return None

    def first(*names: str) -> str | None:
        for n in names:
            for v in props.get(n, []):
                if v.strip():
                    return v.strip()
        return None

    price = first("product:price:amount", "og:price:amount")
    data = ProductData(
        title=first("og:title"),
        description=first("og:description"),
        price=parse_price(price),
        currency=currency_from_text(first("product:price:currency", "og:price:currency")),
        images=_urls(props.get("og:image", []), base_url),
        brand=first("product:brand", "og:brand"),
        condition=normalise_condition(first("product:condition", "og:condition")),
        url=first("og:url"),
    )
    return data if (data.title or data.price is not None) else None


def extract_product(
    body: bytes | str,
    base_url: str | None = None,
    *,
    sources: Sequence[str] = SOURCES,
    encoding: str = "UTF-8",
) -> ProductData | None:
    """A product's fields from the first of ``sources`` that has them, the others filling gaps.

    Raises StructuredDataError when a requested source is present but unreadable (invalid JSON-LD).
    """
    doc = parse_document(body, encoding)
    result: ProductData | None = None
    for source in sources:
        if source == "json-ld":
            found = product_from_jsonld(jsonld_items(doc), base_url)
        elif source == "microdata":
            found = product_from_microdata(microdata_items(doc, base_url), base_url)
        elif source == "opengraph":
            found = product_from_opengraph(opengraph_properties(doc), base_url)
        else:
            raise ValueError(f"unknown structured-data source {source!r}")
        if found is not None:
            result = found if result is None else result.merge(found)
    return result
