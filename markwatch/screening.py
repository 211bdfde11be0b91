"""Screening: run the pure matcher over stored listings and record the alertable findings.

This is the one place that turns store rows into matcher values and matcher results into alert
rows; tasks call it, and so does the synchronous ``markwatch screen`` command.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

import matcher
from db.alerts import Finding, per_holder, record_findings
from db.automation import apply_rules
from db.jurisdictions import unprotected_reason
from db.listings import latest_snapshot_id
from db.models import AuthorisedSeller, Listing, Mark, Marketplace, MarkStatus, Product
from db.photos import (
    ImageText,
    ListingImage,
    ProductPhoto,
    add_text,
    listing_images,
    texts_of,
)
from db.registry_lifecycle import active_authorisation
from db.types import utcnow
from markwatch.fx import current_rates
from markwatch.settings import Settings

log = logging.getLogger(__name__)

SCREENED_STATUSES = (MarkStatus.REGISTERED, MarkStatus.PENDING)


def matcher_config(settings: Settings) -> matcher.MatcherConfig:
    return matcher.MatcherConfig(
        high=settings.tier_high, medium=settings.tier_medium, low=settings.tier_low,
        fx_per_usd=current_rates(settings).as_config(),
    )


def _fingerprint(session: Session) -> str:
    """Cheap summary of the registry; the cached index is rebuilt when it changes."""
    parts = [
        session.execute(
            sa.select(sa.func.count(), sa.func.max(Mark.updated_at), sa.func.max(Mark.id))
        ).one(),
        session.execute(
            sa.select(sa.func.count(), sa.func.max(Product.updated_at), sa.func.max(Product.id))
        ).one(),
        session.execute(
            sa.select(
                sa.func.count(), sa.func.max(AuthorisedSeller.created_at), sa.func.max(AuthorisedSeller.id)
            ).where(active_authorisation(utcnow().date()))  # an ended one changes the count
        ).one(),
        session.execute(sa.select(sa.func.count(), sa.func.max(ProductPhoto.id))).one(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def build_index_from_store(session: Session, config: matcher.MatcherConfig) -> matcher.MarkIndex:
    marks = [
        matcher.MarkRecord(
            mark_id=str(m.id),
            mark=m.word_mark,
            owner_id=str(m.rights_holder_id),
            aliases=tuple(m.aliases or ()),
            nice_classes=frozenset(int(c) for c in m.nice_classes or ()),
            owner=m.rights_holder.name,
            famous=m.famous,
        )
        for m in session.scalars(sa.select(Mark).where(Mark.status.in_(SCREENED_STATUSES),
                                                       Mark.retired_at.is_(None)))
    ]
    products = [
        matcher.ProductRecord(
            product_id=str(p.id),
            mark_id=str(p.mark_id),
            name=p.name,
            model_numbers=tuple(p.model_numbers or ()),
            retail_price=p.retail_price,
            currency=p.currency,
        )
        for p in session.scalars(sa.select(Product).where(Product.mark_id.is_not(None)))
    ]
    sellers = [
        matcher.AuthorisedSeller(
            owner_id=str(s.rights_holder_id),
            seller=s.seller_name,
            marketplace=s.marketplace.code if s.marketplace else None,
        )
        for s in session.scalars(sa.select(AuthorisedSeller)
                                 .where(active_authorisation(utcnow().date())))
    ]
    return matcher.build_index(marks, products=products, sellers=sellers, config=config,
                               photos=official_photos(session))


def official_photos(session: Session) -> list[matcher.OfficialPhoto]:
    """Every hashed form of every official product photo: as it is, mirrored, cropped."""
    out = []
    for ph in session.scalars(sa.select(ProductPhoto).order_by(ProductPhoto.id)):
        forms = [("", ph.phash, ph.dhash), *((f, p, d) for f, p, d in ph.variants or ())]
        out += [matcher.OfficialPhoto(str(ph.id), str(ph.product_id), ph.filename, int(p, 16),
                                      int(d, 16), form) for form, p, d in forms]
    return out


def listing_photos(images: list[ListingImage]) -> tuple[matcher.ListingPhoto, ...]:
    return tuple(matcher.ListingPhoto(f"image {im.position + 1}", int(im.phash, 16),
                                      int(im.dhash, 16)) for im in images)


def read_image_texts(session: Session, images: Iterable[ListingImage], settings: Settings
                     ) -> dict[str, ImageText]:
    """The text in each photo (by SHA-256), read by Tesseract for the photos not read yet.
    A photo missing from the store is logged and counted, and read again another time."""
    from markwatch import ocr
    from markwatch.objectstore import evidence_store
    from storage import StoreError

    by_digest = {im.sha256: im for im in images}
    known = texts_of(session, by_digest)
    if not settings.ocr_enabled:
        return known
    todo = [im for d, im in by_digest.items() if d not in known]
    if not todo:
        return known
    store = evidence_store(settings)
    version = ocr.engine_version()
    for im in todo:
        try:
            data = store.get(im.object_key)
        except StoreError as exc:
            log.error("photo %s of listing %s cannot be read from the store: %s", im.id,
                      im.listing_id, exc)
            continue
        got = ocr.read_text(data, languages=settings.ocr_languages, timeout=settings.ocr_timeout)
        if got.status != "ok":
            log.warning("photo %s (%s): text not read: %s after %.1f s", im.id, im.sha256[:12],
                        got.status, got.seconds)
        row = ImageText(sha256=im.sha256, text=got.text, status=got.status, engine=version[:64],
                        languages=settings.ocr_languages, seconds=round(got.seconds, 3))
        add_text(session, row)
        known[im.sha256] = row
    return known


def image_texts(images: list[ListingImage], texts: dict[str, ImageText]
                ) -> tuple[tuple[str, str], ...]:
    return tuple((f"image {im.position + 1}", texts[im.sha256].text) for im in images
                 if im.sha256 in texts and texts[im.sha256].text)


@dataclass(frozen=True)
class ScreeningIndex:
    index: matcher.MarkIndex
    owner_of: dict[int, int]  # mark id -> rights holder id
    word_of: dict[int, str]  # mark id -> word mark
    jurisdictions_of: dict[int, list[str]] = field(default_factory=dict)  # mark id -> where


class IndexCache:
    """One matcher index per worker process, rebuilt only when the registry changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, matcher.MatcherConfig] | None = None
        self._index: ScreeningIndex | None = None

    def get(self, session: Session, config: matcher.MatcherConfig) -> ScreeningIndex:
        key = (_fingerprint(session), config)
        with self._lock:
            if self._index is None or self._key != key:
                log.info("building the matcher index")
                index = build_index_from_store(session, config)
                ids = [int(m.mark_id) for m in index.marks]
                where: dict[int, Any] = {
                    mid: j for mid, j in session.execute(
                        sa.select(Mark.id, Mark.jurisdictions).where(Mark.id.in_(ids)))}
                self._index = ScreeningIndex(
                    index,
                    {int(m.mark_id): int(m.owner_id) for m in index.marks},
                    {int(m.mark_id): m.mark for m in index.marks},
                    {k: list(v or ()) for k, v in where.items()},
                )
                self._key = key
            return self._index


INDEX_CACHE = IndexCache()


def listing_text(listing: Listing, marketplace_code: str,
                 images: list[ListingImage] | None = None,
                 texts: dict[str, ImageText] | None = None) -> matcher.ListingText:
    return matcher.ListingText(
        listing_id=str(listing.id),
        title=listing.title,
        description=listing.description or "",
        price=listing.price,
        currency=listing.currency,
        seller=listing.seller,
        marketplace=marketplace_code,
        category=listing.category,
        condition=listing.condition,
        photos=listing_photos(images or []),
        image_text=image_texts(images or [], texts or {}),
    )


def best_per_holder(
    matches: Iterable[matcher.Match], owner_of: dict[int, int], word_of: dict[int, str]
) -> list[Finding]:
    """One finding per (listing, rights holder): of the alertable matches for that holder's marks
    (a trademark and a product hit, or KESTREL and KESTREL TRAIL), the best one leads with its
    score; every mark hit is kept, and each reason says which mark it is about."""
    return per_holder(
        Finding(
            rights_holder_id=owner_of[int(m.mark_id)],
            mark_id=int(m.mark_id),
            kind=m.kind.value,
            score=m.score,
            tier=m.tier.value,
            reasons=[{**r.as_dict(), "mark": word_of[int(m.mark_id)]} for r in m.reasons],
            product_id=int(m.product_id) if m.product_id else None,
        )
        for m in matches
        if m.alertable
    )


@dataclass
class ScreenOutcome:
    listings: int = 0
    skipped: int = 0  # already screened at this content
    missing: int = 0  # no such listing (deleted, or its transaction was rolled back)
    alerts_created: int = 0
    alerts_rescored: int = 0
    alert_ids: list[int] = field(default_factory=list)


def screen_listings(
    session: Session,
    listing_ids: Iterable[int],
    settings: Settings,
    *,
    force: bool = False,
) -> ScreenOutcome:
    """Match the given listings and record alerts, in the caller's transaction. Listings that no
    longer exist, or whose content was already screened, are skipped (so reruns are no-ops)."""
    config = matcher_config(settings)
    cached = INDEX_CACHE.get(session, config)
    index = cached.index
    out = ScreenOutcome(alert_ids=[])
    wanted = set(listing_ids)
    rows = session.execute(
        sa.select(Listing, Marketplace.code, Marketplace.country)
        .join(Marketplace, Listing.marketplace_id == Marketplace.id)
        .where(Listing.id.in_(wanted))
        .order_by(Listing.id)
    ).all()
    out.missing = len(wanted) - len(rows)
    images = listing_images(session, [listing.id for listing, *_ in rows])
    pending = [im for listing, *_ in rows if force or listing.matched_hash != listing.content_hash
               for im in images[listing.id]]
    texts = read_image_texts(session, pending, settings)
    for listing, code, country in rows:
        if not force and listing.matched_hash == listing.content_hash:
            out.skipped += 1
            continue
        out.listings += 1
        findings = best_per_holder(
            index.match(listing_text(listing, code, images[listing.id], texts),
                        alertable_only=True), cached.owner_of,
            cached.word_of,
        )
        for f in findings:  # say when the mark is not registered where the storefront sells
            why = unprotected_reason(cached.word_of[f.mark_id],
                                     cached.jurisdictions_of.get(f.mark_id, []), code, country)
            if why:
                f.reasons.append(why)
        if findings:
            rec = record_findings(
                session, listing.id, findings, snapshot_id=latest_snapshot_id(session, listing.id)
            )
            out.alerts_created += len(rec.created)
            out.alerts_rescored += len(rec.rescored)
            out.alert_ids.extend(rec.created)
        listing.matched_hash = listing.content_hash
    session.flush()
    # each holder's automation rules act on the new alerts, in the same transaction
    apply_rules(session, out.alert_ids)
    return out
