"""Registration: import rights holders, marketplaces, marks, products, authorised sellers and
watches from CSV files, or add them one at a time.

Every import is whole or nothing: all rows are validated first and every bad row is reported with
its line number; only a clean file is written, inside the caller's transaction. Re-importing the
same file updates rows in place (each noun has a natural key) and never duplicates them.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.orm import Session

from crawler.profile import (
    CODE_PATTERN,
    PROFILE_SPIDER,
    Profile,
    ProfileError,
    known_spiders,
    read_profile_file,
)
from db.jurisdictions import check_token
from db.models import (
    AuthorisedSeller,
    Mark,
    Marketplace,
    MarkStatus,
    Product,
    RightsHolder,
    Watch,
)

MAX_ROWS = 200_000


class RegistryImportError(ValueError):
    """A file that cannot be taken whole. ``errors`` holds ``(line, message)`` pairs."""

    def __init__(self, source: str, errors: list[tuple[int, str]]):
        self.source = source
        self.errors = errors
        shown = "\n".join(f"  line {line}: {msg}" for line, msg in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{source}: {len(errors)} bad row(s), nothing imported\n{shown}{more}")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def seller_key(name: str) -> str:
    """The form authorised-seller names are compared in: casefolded, NFKC, spaces collapsed."""
    import unicodedata

    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name)).strip().casefold()


# --- row models --------------------------------------------------------------------------------


def _split(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x).strip() for x in v if str(x).strip()]
    return [p.strip() for p in str(v).split("|") if p.strip()]


class _Row(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class RightsHolderRow(_Row):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    contact_email: str | None = Field(None, max_length=254)

    @field_validator("country", "contact_email", mode="before")
    @classmethod
    def _empty_none(cls, v: Any) -> Any:
        return v or None


class MarketplaceRow(_Row):
    code: str = Field(pattern=CODE_PATTERN)  # hyphens allowed: "shop-a"
    name: str = Field(min_length=1, max_length=200)
    spider: str = Field(PROFILE_SPIDER, pattern=r"^[a-z0-9_]{1,64}$")
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=500)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    profile: str | None = Field(None, max_length=500)  # a profile file, relative to the CSV's

    @field_validator("country", "currency", "profile", mode="before")
    @classmethod
    def _empty_none(cls, v: Any) -> Any:
        return v or None


class MarkRow(_Row):
    rights_holder: str = Field(min_length=1)
    mark: str = Field(min_length=1, max_length=200)
    aliases: list[str] = []
    registration_number: str = Field(min_length=1, max_length=64)
    office: str = Field(min_length=1, max_length=32)
    jurisdictions: list[str] = []
    nice_classes: list[int] = Field(min_length=1)
    status: MarkStatus = MarkStatus.REGISTERED
    expires_on: date | None = None
    famous: bool = False

    _lists = field_validator("aliases", "jurisdictions", "nice_classes", mode="before")(
        classmethod(lambda cls, v: _split(v))
    )

    @field_validator("jurisdictions")
    @classmethod
    def _where(cls, v: list[str]) -> list[str]:
        # XX: a national registration; EU: an EU trade mark; WO:XX: a Madrid designation of XX
        return [check_token(t) for t in v]

    @field_validator("nice_classes")
    @classmethod
    def _nice(cls, v: list[int]) -> list[int]:
        bad = [c for c in v if not 1 <= c <= 45]
        if bad:
            raise ValueError(f"Nice classes run from 1 to 45, got {bad}")
        return sorted(set(v))

    @field_validator("famous", mode="before")
    @classmethod
    def _bool(cls, v: Any) -> Any:
        return v or False


class ProductRow(_Row):
    rights_holder: str = Field(min_length=1)
    mark_registration: str | None = None
    name: str = Field(min_length=1, max_length=300)
    model_numbers: list[str] = []
    retail_price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    image_sha256: list[str] = []

    _lists = field_validator("model_numbers", "image_sha256", mode="before")(
        classmethod(lambda cls, v: _split(v))
    )

    @field_validator("mark_registration", "retail_price", "currency", mode="before")
    @classmethod
    def _empty_none(cls, v: Any) -> Any:
        return v or None

    @field_validator("image_sha256")
    @classmethod
    def _hashes(cls, v: list[str]) -> list[str]:
        for h in v:
            if not re.fullmatch(r"[0-9a-f]{64}", h):
                raise ValueError(f"not a SHA-256 hex digest: {h[:80]!r}")
        return v


class SellerRow(_Row):
    rights_holder: str = Field(min_length=1)
    marketplace: str | None = None  # empty: every marketplace
    seller: str = Field(min_length=1, max_length=300)

    @field_validator("marketplace", mode="before")
    @classmethod
    def _empty_none(cls, v: Any) -> Any:
        return v or None


class WatchRow(_Row):
    rights_holder: str = Field(min_length=1)
    mark_registration: str | None = Field(None, min_length=1)
    mark: str | None = Field(None, min_length=1, max_length=200)  # the word mark's text
    marketplace: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)
    schedule_minutes: int = Field(360, ge=5, le=60 * 24 * 31)

    _lists = field_validator("terms", mode="before")(classmethod(lambda cls, v: _split(v)))

    @model_validator(mode="after")
    def _one_mark(self) -> WatchRow:
        if not self.mark_registration and not self.mark:
            raise ValueError("name the mark: mark_registration, or mark (its text)")
        return self


R = TypeVar("R", bound=_Row)


def read_rows(source: str | Path | io.TextIOBase, model: type[R]) -> list[tuple[int, R]]:
    """Parse and validate a CSV file; raise RegistryImportError listing every bad row."""
    rows, errors = parse_rows(source, model)
    if errors:
        raise RegistryImportError(_name(source), errors)
    return rows


def _name(source: str | Path | io.TextIOBase) -> str:
    return str(source) if not isinstance(source, io.TextIOBase) else "<stream>"


def parse_rows(
    source: str | Path | io.TextIOBase, model: type[R]
) -> tuple[list[tuple[int, R]], list[tuple[int, str]]]:
    """Parse and validate a CSV file into (line, row) pairs and (line, message) errors. A file
    that cannot be read as CSV at all raises RegistryImportError at once."""
    name = _name(source)
    try:
        if isinstance(source, io.TextIOBase):
            text = source.read()
        else:
            text = Path(source).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise RegistryImportError(name, [(0, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise RegistryImportError(name, [(0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise RegistryImportError(name, [(0, f"cannot read: {exc.strerror}")]) from None
    if "\x00" in text:
        raise RegistryImportError(name, [(0, "file contains NUL bytes; not a CSV text file")])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise RegistryImportError(name, [(1, f"missing column(s): {', '.join(missing)}")])
    rows: list[tuple[int, R]] = []
    errors: list[tuple[int, str]] = []
    for raw in reader:
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append((line, f"more than {MAX_ROWS} rows; split the file"))
            break
        if None in raw:
            errors.append((line, "more fields than the header has columns"))
            continue
        if not any((v or "").strip() for v in raw.values()):
            continue  # blank line
        data = {k: (v if v is not None else "") for k, v in raw.items() if k}
        # Optional columns left empty take their defaults.
        data = {k: v for k, v in data.items() if not (v.strip() == "" and k not in required)}
        try:
            rows.append((line, model.model_validate(data)))
        except ValidationError as exc:
            msg = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
            )
            errors.append((line, msg))
    return rows, errors


# --- lookups -------------------------------------------------------------------------------------


class _Resolver:
    """Resolves natural keys to rows, collecting errors with line numbers."""

    def __init__(self, session: Session, errors: list[tuple[int, str]] | None = None):
        self.s = session
        self.errors: list[tuple[int, str]] = list(errors or [])
        self._holders: dict[str, RightsHolder | None] = {}
        self._markets: dict[str, Marketplace | None] = {}

    def holder(self, line: int, slug: str) -> RightsHolder | None:
        if slug not in self._holders:
            self._holders[slug] = self.s.scalar(sa.select(RightsHolder).filter_by(slug=slug))
        h = self._holders[slug]
        if h is None:
            self.errors.append((line, f"unknown rights holder {slug!r}"))
        return h

    def marketplace(self, line: int, code: str) -> Marketplace | None:
        if code not in self._markets:
            self._markets[code] = self.s.scalar(sa.select(Marketplace).filter_by(code=code))
        m = self._markets[code]
        if m is None:
            self.errors.append((line, f"unknown marketplace {code!r}"))
        return m

    def mark(self, line: int, holder: RightsHolder, registration: str) -> Mark | None:
        marks = self.s.scalars(
            sa.select(Mark).filter_by(rights_holder_id=holder.id, registration_number=registration)
        ).all()
        if len(marks) != 1:
            what = "no" if not marks else "more than one"
            self.errors.append(
                (line, f"{what} mark with registration {registration!r} for {holder.slug!r}")
            )
            return None
        return marks[0]

    def mark_by_text(self, line: int, holder: RightsHolder, text: str) -> Mark | None:
        """The holder's one mark whose word mark is ``text`` (case and width folded)."""
        key = seller_key(text)
        marks = [m for m in self.s.scalars(sa.select(Mark).filter_by(rights_holder_id=holder.id))
                 if seller_key(m.word_mark) == key]
        if len(marks) == 1:
            return marks[0]
        if not marks:
            self.errors.append((line, f"no mark {text!r} for {holder.slug!r}"))
        else:
            regs = ", ".join(f"{m.office} {m.registration_number}" for m in marks)
            self.errors.append((line, f"mark {text!r} is ambiguous for {holder.slug!r} ({regs}); "
                                      "name it by its registration"))
        return None


def _apply(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


def _upsert(
    session: Session,
    result: ImportResult,
    existing: Any | None,
    factory: Callable[[], Any],
    values: dict[str, Any],
) -> Any:
    if existing is None:
        obj = factory()
        _apply(obj, values)
        session.add(obj)
        session.flush()
        result.created += 1
    else:
        obj = existing
        if _apply(obj, values):
            session.flush()
            result.updated += 1
        else:
            result.unchanged += 1
    result.ids.append(obj.id)
    return obj


def _finish(source: str, resolver: _Resolver) -> None:
    if resolver.errors:
        raise RegistryImportError(source, sorted(resolver.errors))


# --- imports -------------------------------------------------------------------------------------


def import_rights_holders(session: Session, source: str | Path | io.TextIOBase) -> ImportResult:
    rows = read_rows(source, RightsHolderRow)
    result = ImportResult()
    for _line, r in rows:
        existing = session.scalar(sa.select(RightsHolder).filter_by(slug=r.slug))
        _upsert(session, result, existing, RightsHolder, r.model_dump())
    return result


def import_marketplaces(
    session: Session,
    source: str | Path | io.TextIOBase,
    base_urls: dict[str, str] | None = None,
) -> ImportResult:
    """``base_urls`` overrides the file's base URL per marketplace code (the demo uses it to
    point at the ports the bundled test marketplaces listen on).

    A row's ``profile`` column names a profile file (relative to the CSV file) read by the
    generic spider; a row without one names a Python spider. Unknown spiders, unreadable or
    invalid profiles are refused with the line and the reason, before anything is written."""
    rows = read_rows(source, MarketplaceRow)
    here = Path(source).parent if not isinstance(source, io.TextIOBase) else Path.cwd()
    spiders = known_spiders()
    errors: list[tuple[int, str]] = []
    values_by_row: list[dict[str, Any]] = []
    for line, r in rows:
        values = r.model_dump(exclude={"profile"})
        if base_urls and r.code in base_urls:
            values["base_url"] = base_urls[r.code]
        values["profile"] = None
        if r.profile:
            try:
                prof = read_profile_file(here / r.profile, base_url=values["base_url"],
                                         spider=r.spider)
            except ProfileError as exc:
                errors.extend((line, f"profile {r.profile}" + (f" line {n}" if n else "")
                               + f": {m}") for n, m in exc.errors)
                continue
            if prof.code != r.code:
                errors.append((line, f"profile {r.profile} describes {prof.code!r}, not "
                                     f"{r.code!r}"))
                continue
            values["profile"] = profile_values(prof)
        elif r.spider == PROFILE_SPIDER:
            errors.append((line, "the generic spider needs a profile column (a profile file), "
                                 "or name a Python spider"))
            continue
        if r.spider != PROFILE_SPIDER and r.spider not in spiders:
            errors.append((line, f"unknown spider {r.spider!r}; known: {', '.join(spiders)}"))
            continue
        values_by_row.append(values)
    if errors:
        raise RegistryImportError(_name(source), errors)
    result = ImportResult()
    for values in values_by_row:
        existing = session.scalar(sa.select(Marketplace).filter_by(code=values["code"]))
        _upsert(session, result, existing, Marketplace, values)
    return result


def profile_values(profile: Profile) -> dict[str, Any]:
    """A profile as the store keeps it (JSON, defaults spelt out)."""
    import json

    return dict(json.loads(profile.to_json()))


def add_marketplace_profile(session: Session, profile: Profile) -> ImportResult:
    """Add or update the marketplace ``profile`` describes (by its code)."""
    if profile.spider != PROFILE_SPIDER and profile.spider not in known_spiders():
        raise RegistryImportError(profile.code, [(0, f"unknown spider {profile.spider!r}; "
                                                     f"known: {', '.join(known_spiders())}")])
    values = {"code": profile.code, "name": profile.name, "spider": profile.spider,
              "base_url": profile.base_url, "country": profile.country,
              "currency": profile.currency, "profile": profile_values(profile)}
    result = ImportResult()
    existing = session.scalar(sa.select(Marketplace).filter_by(code=profile.code))
    _upsert(session, result, existing, Marketplace, values)
    return result


def mark_values(r: MarkRow) -> dict[str, Any]:
    return {
        "word_mark": r.mark,
        "aliases": r.aliases,
        "registration_number": r.registration_number,
        "office": r.office,
        "jurisdictions": r.jurisdictions,
        "nice_classes": r.nice_classes,
        "status": r.status,
        "expires_on": r.expires_on,
        "famous": r.famous,
    }


def import_marks(session: Session, source: str | Path | io.TextIOBase) -> ImportResult:
    rows, errors = parse_rows(source, MarkRow)
    return _write_marks(session, _name(source), rows, errors)


def add_mark(session: Session, **fields: Any) -> ImportResult:
    """Register one mark (the same validation as a CSV row)."""
    try:
        row = MarkRow.model_validate(fields)
    except ValidationError as exc:
        raise RegistryImportError("marks add", [(0, str(exc))]) from None
    return _write_marks(session, "marks add", [(0, row)])


def _write_marks(
    session: Session,
    source: str,
    rows: list[tuple[int, MarkRow]],
    errors: list[tuple[int, str]] | None = None,
) -> ImportResult:
    res = _Resolver(session, errors)
    result = ImportResult()
    seen: dict[tuple[str, str, str], int] = {}
    for line, r in rows:
        key = (r.rights_holder, r.office, r.registration_number)
        if key in seen:
            res.errors.append((line, f"duplicate of line {seen[key]} (same holder, office, number)"))
            continue
        seen[key] = line
        holder = res.holder(line, r.rights_holder)
        if holder is None:
            continue
        existing = session.scalar(
            sa.select(Mark).filter_by(
                rights_holder_id=holder.id, office=r.office, registration_number=r.registration_number
            )
        )
        _upsert(
            session, result, existing, functools.partial(Mark, rights_holder_id=holder.id), mark_values(r)
        )
    _finish(source, res)
    return result


def import_products(session: Session, source: str | Path | io.TextIOBase) -> ImportResult:
    rows, errors = parse_rows(source, ProductRow)
    res = _Resolver(session, errors)
    result = ImportResult()
    for line, r in rows:
        holder = res.holder(line, r.rights_holder)
        if holder is None:
            continue
        mark = res.mark(line, holder, r.mark_registration) if r.mark_registration else None
        if r.mark_registration and mark is None:
            continue
        if (r.retail_price is None) != (r.currency is None):
            res.errors.append((line, "retail_price and currency go together"))
            continue
        existing = session.scalar(
            sa.select(Product).filter_by(rights_holder_id=holder.id, name=r.name)
        )
        values = {
            "mark_id": mark.id if mark else None,
            "name": r.name,
            "model_numbers": r.model_numbers,
            "retail_price": r.retail_price,
            "currency": r.currency,
            "image_hashes": r.image_sha256,
        }
        _upsert(session, result, existing, functools.partial(Product, rights_holder_id=holder.id), values)
    _finish(_name(source), res)
    return result


def import_sellers(session: Session, source: str | Path | io.TextIOBase) -> ImportResult:
    rows, errors = parse_rows(source, SellerRow)
    res = _Resolver(session, errors)
    result = ImportResult()
    for line, r in rows:
        holder = res.holder(line, r.rights_holder)
        market = res.marketplace(line, r.marketplace) if r.marketplace else None
        if holder is None or (r.marketplace and market is None):
            continue
        key = seller_key(r.seller)
        existing = session.scalar(
            sa.select(AuthorisedSeller).filter_by(
                rights_holder_id=holder.id,
                marketplace_id=market.id if market else None,
                seller_key=key,
            )
        )
        values = {
            "marketplace_id": market.id if market else None,
            "seller_name": r.seller,
            "seller_key": key,
        }
        _upsert(
            session,
            result,
            existing,
            functools.partial(AuthorisedSeller, rights_holder_id=holder.id),
            values,
        )
    _finish(_name(source), res)
    return result


def import_watches(
    session: Session, source: str | Path | io.TextIOBase, *, now: datetime | None = None
) -> ImportResult:
    rows, errors = parse_rows(source, WatchRow)
    return _write_watches(session, _name(source), rows, now=now, errors=errors)


def add_watch(session: Session, *, now: datetime | None = None, **fields: Any) -> ImportResult:
    try:
        row = WatchRow.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        msg = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise RegistryImportError("watch add", [(0, msg)]) from None
    return _write_watches(session, "watch add", [(0, row)], now=now)


def _write_watches(
    session: Session,
    source: str,
    rows: Iterable[tuple[int, WatchRow]],
    *,
    now: datetime | None,
    errors: list[tuple[int, str]] | None = None,
) -> ImportResult:
    now = now or datetime.now(UTC)
    res = _Resolver(session, errors)
    result = ImportResult()
    for line, r in rows:
        holder = res.holder(line, r.rights_holder)
        market = res.marketplace(line, r.marketplace)
        if holder is None or market is None:
            continue
        mark = (res.mark(line, holder, r.mark_registration) if r.mark_registration
                else res.mark_by_text(line, holder, r.mark or ""))
        if mark is None:
            continue
        if r.mark_registration and r.mark and seller_key(r.mark) != seller_key(mark.word_mark):
            res.errors.append((line, f"registration {r.mark_registration!r} is "
                                     f"{mark.word_mark!r}, not {r.mark!r}"))
            continue
        existing = session.scalar(
            sa.select(Watch).filter_by(mark_id=mark.id, marketplace_id=market.id)
        )
        values = {"terms": r.terms, "schedule_minutes": r.schedule_minutes}
        _upsert(
            session,
            result,
            existing,
            # a new watch is due at once
            functools.partial(Watch, rights_holder_id=holder.id, mark_id=mark.id,
                              marketplace_id=market.id, next_run_at=now),
            values,
        )
    _finish(source, res)
    return result


REGISTRY_FILES: tuple[tuple[str, Callable[..., ImportResult]], ...] = (
    ("rights_holders.csv", import_rights_holders),
    ("marketplaces.csv", import_marketplaces),
    ("marks.csv", import_marks),
    ("products.csv", import_products),
    ("sellers.csv", import_sellers),
    ("watches.csv", import_watches),
)


def load_directory(
    session: Session, directory: Path, *, base_urls: dict[str, str] | None = None
) -> dict[str, ImportResult]:
    """Import every registry file found in ``directory``, in dependency order."""
    results: dict[str, ImportResult] = {}
    for filename, fn in REGISTRY_FILES:
        path = directory / filename
        if not path.exists():
            continue
        if fn is import_marketplaces:
            results[filename] = fn(session, path, base_urls=base_urls)
        else:
            results[filename] = fn(session, path)
    return results
