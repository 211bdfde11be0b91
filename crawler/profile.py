"""Marketplace profiles: a declarative description of how to search one marketplace and read its
listings, so a new shop needs a TOML file instead of a spider.

A profile is read by the one generic spider (``crawler/spiders/profile.py``) through the pure
reading functions in ``crawler/profile_reader.py``, which ``markwatch marketplaces probe`` uses
too. This module only describes and validates: :func:`load_profile` turns TOML text into a
:class:`Profile` or raises :class:`ProfileError` with the line and the reason of every problem.

A minimal profile::

    code = "bazaarly"
    name = "Bazaarly"
    base_url = "https://bazaarly.example"

    [search]
    url = "/search?q={term}&page={page}"

    [results]
    links = { css = "li.result a::attr(href)" }

    [pagination]
    kind = "next_link"
    next = { css = "a[rel~=next]::attr(href)" }

    [product]
    listing_id = "/item/([^/?#]+)"

The full reference is in the README ("Watch a new marketplace").
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: the spider that reads a profile; any other ``spider`` value names a Python spider
PROFILE_SPIDER = "profile"
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
FIELDS = ("title", "description", "price", "currency", "seller", "seller_url", "images",
          "category", "brand", "condition", "sku")
PLACEHOLDERS = {"term", "page", "offset", "limit", "cursor"}
MAX_PROFILE_BYTES = 256 * 1024


class ProfileError(ValueError):
    """A profile that cannot be used. ``errors`` holds ``(line, message)`` pairs (line 0: the
    whole file)."""

    def __init__(self, source: str, errors: list[tuple[int, str]]):
        self.source = source
        self.errors = errors
        shown = "\n".join(f"  line {line}: {msg}" if line else f"  {msg}" for line, msg in errors)
        super().__init__(f"{source}: invalid marketplace profile\n{shown}")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _check_css(css: str) -> None:
    from parsel.csstranslator import HTMLTranslator

    try:
        HTMLTranslator().css_to_xpath(css)
    except Exception as exc:  # cssselect's SelectorSyntaxError / ExpressionError
        raise ValueError(f"invalid CSS selector {css!r}: {exc}") from None


def _check_xpath(xpath: str) -> None:
    from lxml import etree

    try:
        etree.XPath(xpath)
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"invalid XPath {xpath!r}: {exc}") from None


def _check_regex(pattern: str, groups: int | None = None) -> None:
    # the reader runs profile patterns with the ``regex`` package (it has a time limit)
    try:
        rx = regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    if groups is not None and rx.groups != groups:
        raise ValueError(f"regular expression {pattern!r} needs exactly {groups} group(s)")


class Rule(_M):
    """Where one value is on a page: a CSS selector, an XPath, a path into the page's embedded
    JSON, or a regular expression over the page's HTML; ``regex`` after a selector keeps its first
    group (or the whole match). A plain string is a CSS selector."""

    css: str | None = None
    xpath: str | None = None
    json_: str | None = Field(None, alias="json")  # "json" would shadow a pydantic method
    regex: str | None = None

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True,
                              populate_by_name=True, serialize_by_alias=True)

    @model_validator(mode="before")
    @classmethod
    def _string_is_css(cls, v: Any) -> Any:
        return {"css": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_source(self) -> Rule:
        given = [k.rstrip("_") for k in ("css", "xpath", "json_") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"give one of css, xpath or json, not {' and '.join(given)}")
        if not given and not self.regex:
            raise ValueError("a rule needs css, xpath, json or regex")
        if self.css:
            _check_css(self.css)
        if self.xpath:
            _check_xpath(self.xpath)
        if self.regex:
            _check_regex(self.regex)
        return self


def _check_script(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(r"#[\w-]+|[A-Za-z_$][\w$.]*", v):
        raise ValueError(f"script must be a script element id like '#__NEXT_DATA__' or a "
                         f"variable like 'window.__DATA__', got {v!r}")
    return v


class Search(_M):
    url: str = Field(min_length=1, max_length=2000)
    first_url: str | None = Field(None, max_length=2000)  # page 1, when it differs
    method: Literal["GET", "POST"] = "GET"
    body: str | None = Field(None, max_length=10_000)  # a POST form body template
    headers: dict[str, str] = {}
    page_size: int | None = Field(None, ge=1, le=1000)  # {limit}, and ranks on numbered pages

    @field_validator("url", "first_url", "body")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is None:
            return v
        names = set(re.findall(r"\{(\w*)\}", v))
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {', '.join(sorted(unknown))}; "
                             f"use {{term}}, {{page}}, {{offset}}, {{limit}}, {{cursor}}")
        return v

    @model_validator(mode="after")
    def _has_term(self) -> Search:
        if "{term}" not in self.url + (self.body or ""):
            raise ValueError("the search url or body must contain {term}")
        if self.body is not None and self.method != "POST":
            raise ValueError("a body needs method = \"POST\"")
        if "{limit}" in self.url + (self.body or "") and self.page_size is None:
            raise ValueError("{limit} needs page_size")
        return self


class Results(_M):
    """Where the product links of a search page are."""

    kind: Literal["html", "json", "embedded_json"] = "html"
    links: Rule | None = None  # html: the product links' href values
    script: str | None = None  # embedded_json: '#__NEXT_DATA__' or 'window.__DATA__'
    items: str = ""  # json, embedded_json: dotted path to the list of results ("" = the root)
    link: str | None = None  # json, embedded_json: dotted path to the URL inside one result
    wait_for: str | None = None  # render = "browser": a CSS selector the results show up as

    @field_validator("wait_for")
    @classmethod
    def _wait_for(cls, v: str | None) -> str | None:
        if v is not None:
            _check_css(v)
        return v

    _script = field_validator("script")(classmethod(lambda cls, v: _check_script(v)))

    @model_validator(mode="after")
    def _complete(self) -> Results:
        if self.kind == "html" and self.links is None:
            raise ValueError('kind = "html" needs links (a CSS or XPath rule)')
        if self.kind != "html" and not self.link:
            raise ValueError(f'kind = "{self.kind}" needs link (the URL\'s path in one result)')
        if self.kind == "embedded_json" and not self.script:
            raise ValueError('kind = "embedded_json" needs script')
        return self


class Pagination(_M):
    kind: Literal["none", "next_link", "page_number", "offset", "cursor"] = "none"
    next: Rule | None = None  # next_link: the next page's href
    total_pages: Rule | None = None  # page_number: the page count page 1 announces
    has_more: str | None = None  # offset, cursor: JSON path of a "there is more" flag
    next_offset: str | None = None  # offset: JSON path of the next offset
    cursor: str | None = None  # cursor: JSON path of the next cursor
    max_pages: int | None = Field(None, ge=1, le=1000)

    @model_validator(mode="after")
    def _complete(self) -> Pagination:
        if self.kind == "next_link" and self.next is None:
            raise ValueError('kind = "next_link" needs next (a rule for the next page\'s href)')
        if self.kind == "cursor" and not self.cursor:
            raise ValueError('kind = "cursor" needs cursor (the JSON path of the next cursor)')
        return self


class Product(_M):
    listing_id: str = r"(.+)"  # a regular expression with one group over the URL path
    link_pattern: str | None = None  # result links must match this to be followed
    structured: list[Literal["json-ld", "microdata", "opengraph"]] = [
        "json-ld", "microdata", "opengraph"]
    script: str | None = None  # embedded JSON the ``json`` field rules read
    # per field, one rule or a list of rules tried in turn until one finds a value
    fields: dict[str, list[Rule]] = {}

    _script = field_validator("script")(classmethod(lambda cls, v: _check_script(v)))

    @field_validator("fields", mode="before")
    @classmethod
    def _rule_lists(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: r if isinstance(r, list) else [r] for k, r in v.items()}
        return v

    @field_validator("listing_id")
    @classmethod
    def _id(cls, v: str) -> str:
        _check_regex(v, groups=1)
        return v

    @field_validator("link_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None:
            _check_regex(v)
        return v

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: dict[str, list[Rule]]) -> dict[str, list[Rule]]:
        unknown = sorted(set(v) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; fields are "
                             f"{', '.join(FIELDS)}")
        return v

    @model_validator(mode="after")
    def _json_needs_script(self) -> Product:
        uses_json = [k for k, rules in self.fields.items() if any(r.json_ for r in rules)]
        if uses_json and not self.script:
            raise ValueError(f"field rule(s) {', '.join(uses_json)} read json but the product "
                             "section names no script")
        return self


class Politeness(_M):
    delay: float | None = Field(None, ge=0, le=600)  # seconds between requests to the host
    concurrency: int | None = Field(None, ge=1, le=16)  # requests in flight to the host


class Profile(_M):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=500)
    spider: str = Field(PROFILE_SPIDER, pattern=r"^[a-z0-9_]{1,64}$")
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    render: Literal["http", "browser"] = "http"  # search pages: plain HTTP or a real browser
    notice_limit: int | None = Field(None, ge=1, le=100_000)  # listings one notice may carry
    search: Search | None = None
    results: Results | None = None
    pagination: Pagination = Pagination()
    product: Product = Product()
    politeness: Politeness = Politeness()

    @model_validator(mode="after")
    def _reads_something(self) -> Profile:
        if self.spider == PROFILE_SPIDER and (self.search is None or self.results is None):
            raise ValueError("a profile read by the generic spider needs [search] and [results] "
                             "(or name a Python spider with spider = \"...\")")
        pk = self.pagination.kind
        uses = (self.search.url + (self.search.body or "")) if self.search else ""
        if pk == "offset" and "{offset}" not in uses:
            raise ValueError('pagination kind = "offset" needs {offset} in the search url or body')
        if pk == "page_number" and "{page}" not in uses:
            raise ValueError('pagination kind = "page_number" needs {page} in the search url')
        if pk == "cursor" and "{cursor}" not in uses:
            raise ValueError('pagination kind = "cursor" needs {cursor} in the search url or body')
        if pk in ("offset", "cursor") and self.results and self.results.kind == "html":
            raise ValueError(f'pagination kind = "{pk}" reads a JSON answer; results kind is html')
        return self

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False)

    @property
    def uses_generic_spider(self) -> bool:
        return self.spider == PROFILE_SPIDER


# -- loading -----------------------------------------------------------------------------------


def _line_of(text: str, loc: tuple[Any, ...]) -> int:
    """The line a validation error's location points at: the key's line inside its table, else
    the table's header, else 0. TOML parsers keep no positions, so this reads the text."""
    keys = [str(p) for p in loc if not isinstance(p, int)]
    if not keys:
        return 0
    table: list[str] = []
    best = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            table = [p.strip().strip('"') for p in m.group(1).split(".")]
            if table == keys[: len(table)] and not best:
                best = n
            continue
        m = re.match(r'^"?([\w-]+)"?(?:\s*\.\s*"?([\w-]+)"?)?\s*=', line)
        if not m:
            continue
        path = table + [g for g in m.groups() if g]
        if path == keys[: len(path)] and len(path) >= len(keys) - 1:
            return n
        if path == keys[: len(path)] and len(path) > len(table):
            best = n
    return best


def load_profile(text: str, source: str = "<profile>", **overrides: Any) -> Profile:
    """Parse and validate a profile's TOML; ``overrides`` replace top-level keys (``base_url``)."""
    if len(text.encode("utf-8", "replace")) > MAX_PROFILE_BYTES:
        raise ProfileError(source, [(0, f"larger than {MAX_PROFILE_BYTES // 1024} KiB")])
    if "\x00" in text:
        raise ProfileError(source, [(0, "contains NUL bytes; not a TOML text file")])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        raise ProfileError(source, [(int(m.group(1)) if m else 0, f"not valid TOML: {exc}")]) from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    return validate_profile(data, source, text)


def validate_profile(data: dict[str, Any], source: str = "<profile>", text: str = "") -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        errors = []
        for e in exc.errors():
            loc = tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
            where = ".".join(str(p) for p in loc) or "profile"
            msg = e["msg"].removeprefix("Value error, ")
            errors.append((_line_of(text, loc) if text else 0, f"{where}: {msg}"))
        raise ProfileError(source, sorted(errors)) from None


def read_profile_file(path: Path, **overrides: Any) -> Profile:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ProfileError(str(path), [(0, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(str(path), [(0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise ProfileError(str(path), [(0, f"cannot read: {exc.strerror}")]) from None
    return load_profile(text, str(path), **overrides)


def profile_from_json(value: str | dict[str, Any] | Profile) -> Profile:
    """A stored (JSON) profile, or one passed as a spider argument."""
    if isinstance(value, Profile):
        return value
    data = json.loads(value) if isinstance(value, str) else value
    return validate_profile(data, "stored profile")


#: the Python spiders in crawler/spiders besides the generic one, for profiles that name one;
#: listed here so the registry can check names without loading Scrapy (a test keeps this list
#: equal to what Scrapy's spider loader finds)
PYTHON_SPIDERS: frozenset[str] = frozenset({
    # the South-East Asian storefronts: prices read by each currency's CLDR number format
    # (crawler/prices.py), which the generic reader's one heuristic for every currency is not
    "sea_shop",
})


def known_spiders() -> list[str]:
    """The names of the spiders a marketplace may name (the generic one included)."""
    return sorted({PROFILE_SPIDER, *PYTHON_SPIDERS})


def why_not_crawlable(spider: str, profile: dict[str, Any] | None) -> str | None:
    """Why a stored marketplace (its spider name and profile) cannot be crawled, or None."""
    if spider == PROFILE_SPIDER:
        if not profile:
            return "the generic spider needs a profile and this marketplace has none"
        try:
            profile_from_json(profile)
        except ProfileError as exc:
            return "; ".join(m for _, m in exc.errors)
        return None
    if spider not in known_spiders():
        return f"unknown spider {spider!r}; known spiders: {', '.join(known_spiders())}"
    return None

