"""The registered-IP and dispute-tracking store: SQLAlchemy 2 typed models.

One declarative base with a naming convention, so every constraint and index has a stable name
that the migrations and the models share (``tests/db/test_migrations.py`` proves they agree).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import JSONType, Money, UTCDateTime, created_at, enum_column, intpk, updated_at

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}  # noqa: RUF012


# --- enums (stored by value) ---------------------------------------------------------------


class Role(enum.StrEnum):
    ADMIN = "admin"  # registers marks, products, sellers, watches; manages users
    REVIEWER = "reviewer"  # works the alert queue and the cases
    VIEWER = "viewer"  # reads


class MarkStatus(enum.StrEnum):
    PENDING = "pending"
    REGISTERED = "registered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class CrawlStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ListingState(enum.StrEnum):
    LIVE = "live"
    GONE = "gone"  # the marketplace answered 404/410 for it


class AlertStatus(enum.StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


# --- tenants and people --------------------------------------------------------------------


class RightsHolder(Base):
    """The tenant: a company that owns marks and pays for monitoring."""

    __tablename__ = "rights_holder"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[created_at]

    marks: Mapped[list[Mark]] = relationship(back_populates="rights_holder")


class User(Base):
    """A person's account at one rights holder. The same e-mail address may hold accounts at
    several rights holders (an agent working for several brands), so creating one never tells an
    admin whether the address is known elsewhere. Stored lower-cased."""

    __tablename__ = "app_user"
    __table_args__ = (sa.UniqueConstraint("rights_holder_id", "email"),)

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.VIEWER)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]


# --- the registry ----------------------------------------------------------------------------


class Marketplace(Base):
    __tablename__ = "marketplace"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    spider: Mapped[str] = mapped_column(sa.String(64))  # the Scrapy spider that reads it
    base_url: Mapped[str] = mapped_column(sa.String(500))
    country: Mapped[str | None] = mapped_column(sa.String(2))  # where it is based
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    # the marketplace profile (crawler/profile.py) the generic spider reads, as validated JSON
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: the countries (ISO 3166 codes) it sells in: a notice to it must rest on a right valid in
    #: one of them (``db.notice_support``)
    countries: Mapped[list[Any]] = mapped_column(default=list)


class Mark(Base):
    """A registered trademark (one registration at one office)."""

    __tablename__ = "mark"
    __table_args__ = (
        sa.UniqueConstraint("rights_holder_id", "office", "registration_number"),
    )

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    word_mark: Mapped[str] = mapped_column(sa.String(200))
    aliases: Mapped[list[Any]] = mapped_column(default=list)  # forms in other scripts
    registration_number: Mapped[str] = mapped_column(sa.String(64))
    office: Mapped[str] = mapped_column(sa.String(32))  # EUIPO, USPTO, CNIPA, ...
    jurisdictions: Mapped[list[Any]] = mapped_column(default=list)
    nice_classes: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[MarkStatus] = mapped_column(
        enum_column(MarkStatus), default=MarkStatus.REGISTERED
    )
    expires_on: Mapped[date | None]
    famous: Mapped[bool] = mapped_column(default=False)
    #: the rights holder stopped enforcing it: no screening, its watches paused, no notice
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    rights_holder: Mapped[RightsHolder] = relationship(back_populates="marks")


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (sa.UniqueConstraint("rights_holder_id", "name"),)

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    mark_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mark.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(300))
    model_numbers: Mapped[list[Any]] = mapped_column(default=list)
    retail_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    image_hashes: Mapped[list[Any]] = mapped_column(default=list)  # SHA-256 of official photos
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class AuthorisedSeller(Base):
    """A seller the rights holder authorises, on one marketplace or (marketplace NULL) on all."""

    __tablename__ = "authorised_seller"
    __table_args__ = (sa.Index(None, "rights_holder_id", "marketplace_id", "seller_key"),)

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE")
    )
    marketplace_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("marketplace.id", ondelete="CASCADE")
    )
    seller_name: Mapped[str] = mapped_column(sa.String(300))
    seller_key: Mapped[str] = mapped_column(sa.String(300))  # casefolded, spaces collapsed
    #: the authorisation ended: from this day the seller is screened like any other
    ended_on: Mapped[date | None]
    created_at: Mapped[created_at]

    marketplace: Mapped[Marketplace | None] = relationship()


class Watch(Base):
    """Search one marketplace for one mark's terms, on a schedule."""

    __tablename__ = "watch"
    __table_args__ = (sa.UniqueConstraint("mark_id", "marketplace_id"),)

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    mark_id: Mapped[int] = mapped_column(sa.ForeignKey("mark.id", ondelete="CASCADE"))
    marketplace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("marketplace.id", ondelete="CASCADE"), index=True
    )
    terms: Mapped[list[Any]] = mapped_column(default=list)
    schedule_minutes: Mapped[int] = mapped_column(default=360)
    active: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]

    mark: Mapped[Mark] = relationship()
    marketplace: Mapped[Marketplace] = relationship()


# --- crawling and evidence -------------------------------------------------------------------


class CrawlRun(Base):
    __tablename__ = "crawl_run"

    id: Mapped[intpk]
    watch_id: Mapped[int] = mapped_column(sa.ForeignKey("watch.id", ondelete="CASCADE"), index=True)
    status: Mapped[CrawlStatus] = mapped_column(enum_column(CrawlStatus), default=CrawlStatus.QUEUED)
    created_at: Mapped[created_at]
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pages_fetched: Mapped[int] = mapped_column(default=0)
    listings_seen: Mapped[int] = mapped_column(default=0)
    listings_new: Mapped[int] = mapped_column(default=0)
    listings_changed: Mapped[int] = mapped_column(default=0)
    items_dropped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the Celery worker running it, and when it last said it still was (a lost host stops)
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    watch: Mapped[Watch] = relationship()


class Listing(Base):
    """A marketplace listing, unique per marketplace and the marketplace's own id."""

    __tablename__ = "listing"
    __table_args__ = (sa.UniqueConstraint("marketplace_id", "external_id"),)

    id: Mapped[intpk]
    marketplace_id: Mapped[int] = mapped_column(sa.ForeignKey("marketplace.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    url: Mapped[str] = mapped_column(sa.String(2000))
    title: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    seller: Mapped[str | None] = mapped_column(sa.String(300), index=True)
    seller_url: Mapped[str | None] = mapped_column(sa.String(2000))
    images: Mapped[list[Any]] = mapped_column(default=list)
    category: Mapped[str | None] = mapped_column(sa.String(300))
    brand: Mapped[str | None] = mapped_column(sa.String(200))
    condition: Mapped[str | None] = mapped_column(sa.String(32))
    state: Mapped[ListingState] = mapped_column(
        enum_column(ListingState), default=ListingState.LIVE
    )
    content_hash: Mapped[str] = mapped_column(sa.String(64))  # of the matchable fields
    matched_hash: Mapped[str | None] = mapped_column(sa.String(64))  # content_hash last matched
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_crawl_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crawl_run.id", ondelete="SET NULL")
    )

    marketplace: Mapped[Marketplace] = relationship()


class CrawlSighting(Base):
    """A listing seen in one crawl's results for one search term, at a rank."""

    __tablename__ = "crawl_sighting"

    crawl_run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("crawl_run.id", ondelete="CASCADE"), primary_key=True
    )
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    search_term: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    rank: Mapped[int | None]


class EvidenceSnapshot(Base):
    """The page a listing was read from: its SHA-256 and where its bytes are (a WARC record in
    the object store; rows older than the store keep them here, compressed). Written once."""

    __tablename__ = "evidence_snapshot"

    id: Mapped[intpk]
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listing.id", ondelete="RESTRICT"), index=True
    )
    crawl_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crawl_run.id", ondelete="SET NULL")
    )
    url: Mapped[str] = mapped_column(sa.String(2000))
    http_status: Mapped[int]
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)  # of the raw, uncompressed body
    size: Mapped[int]  # raw bytes
    # "zlib": ``body`` holds the page; "warc": the page is the payload of the WARC record
    compression: Mapped[str] = mapped_column(sa.String(16), default="zlib")
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    # the capture's WARC 1.1 record: its object key in the evidence store (and offset in it)
    warc_file: Mapped[str | None] = mapped_column(sa.String(300))
    warc_offset: Mapped[int | None] = mapped_column(sa.BigInteger)
    warc_record_id: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[created_at]


# --- alerts and their history ----------------------------------------------------------------


class Alert(Base):
    """A suspected infringement: one listing against one rights holder, awaiting review.

    ``mark_id`` is the best-scoring of the holder's marks the listing was matched to; every
    matched mark (that one included) is an ``alert_mark`` row, so a listing that hits KESTREL
    and KESTREL TRAIL is one alert found under either mark.
    """

    __tablename__ = "alert"
    __table_args__ = (
        sa.UniqueConstraint("listing_id", "rights_holder_id"),
        sa.Index(None, "rights_holder_id", "status", "score"),
    )

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE")
    )
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"))
    mark_id: Mapped[int] = mapped_column(sa.ForeignKey("mark.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product.id", ondelete="SET NULL"))
    snapshot_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("evidence_snapshot.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(sa.String(24))
    score: Mapped[int]
    tier: Mapped[str] = mapped_column(sa.String(8))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[AlertStatus] = mapped_column(enum_column(AlertStatus), default=AlertStatus.NEW)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    # the head of the alert's history chain and its length (db/chain.py): deleting the newest
    # events leaves a chain that no longer ends here; checkpoints seal both outside the store
    chain_head: Mapped[str | None] = mapped_column(sa.String(64))
    chain_length: Mapped[int] = mapped_column(default=0, server_default="0")

    listing: Mapped[Listing] = relationship()
    mark: Mapped[Mark] = relationship()
    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id"
    )
    matched_marks: Mapped[list[AlertMark]] = relationship(
        order_by="(AlertMark.score.desc(), AlertMark.mark_id)", viewonly=True
    )


class AlertMark(Base):
    """A mark an alert's listing was matched to, with that mark's best score."""

    __tablename__ = "alert_mark"

    alert_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True
    )
    mark_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mark.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    score: Mapped[int]

    mark: Mapped[Mark] = relationship()


class AlertEvent(Base):
    """Append-only history of an alert: who did what, when and why."""

    __tablename__ = "alert_event"

    id: Mapped[intpk]
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(sa.String(254))  # "system:matcher" or a user's e-mail
    action: Mapped[str] = mapped_column(sa.String(32))  # created, rescored, confirm, dismiss, ...
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]
    # hash chain over the alert's history (db/chain.py): tampering with any event breaks it
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))

    alert: Mapped[Alert] = relationship(back_populates="events")


# --- write-once guards -----------------------------------------------------------------------


class ImmutableRowError(RuntimeError):
    """Raised on an attempt to change a write-once row (evidence, alert history)."""


def _refuse(verb: str):
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        raise ImmutableRowError(f"{type(target).__name__} rows are write-once; refused {verb}")

    return listener


for _cls in (EvidenceSnapshot, AlertEvent):
    sa.event.listen(_cls, "before_update", _refuse("update"))
    sa.event.listen(_cls, "before_delete", _refuse("delete"))


# Models defined in their own modules, imported here so that Base.metadata is complete: the
# history hash chain, listing and product photos, seller networks, delivery bookkeeping (outbox, dead letters) and
# the enforcement tables (cases, notices, answers, sessions, tokens).
from db import chain, networks, photos, reliability, throttle  # noqa: E402,F401
from db import enforcement as _enforcement  # noqa: E402,F401
