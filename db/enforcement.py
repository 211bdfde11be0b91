"""Enforcement records: cases, notices, the marketplace's answers, counter-notices, the rights
documents sent with notices, and the web app's sessions and API tokens.

Every row a tenant owns carries ``rights_holder_id``, so one scoped query (``db.tenancy.Scope``)
is enough to keep rights holders apart. Histories (case events, listing checks) are append-only.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models import Alert, Base, ImmutableRowError, Listing, Marketplace
from db.types import UTCDateTime, created_at, enum_column, intpk, updated_at


class CaseStatus(enum.StrEnum):
    OPEN = "open"  # built, no notice sent yet
    NOTICE_SENT = "notice_sent"  # at least one notice went out, awaiting the answer
    ANSWERED = "answered"  # the marketplace answered every notice
    CLOSED = "closed"
    REOPENED = "reopened"  # a removed listing came back


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"  # generated, not sent
    QUEUED = "queued"  # a person asked to send it; the task will
    SENDING = "sending"  # the task claimed it
    SENT = "sent"
    FAILED = "failed"  # the marketplace refused it outright; a person looks, it is not resent
    # every attempt (all under the same idempotency key) ended without a clear answer: a person
    # checks with the marketplace; it is never resent under a new key
    NEEDS_RECONCILIATION = "needs_reconciliation"


class AnswerOutcome(enum.StrEnum):
    REMOVED = "removed"
    REJECTED = "rejected"
    MORE_INFO = "more_info"  # more information needed


class CounterNoticeStatus(enum.StrEnum):
    OPEN = "open"
    REPLIED = "replied"  # the rights holder answered it (e.g. filed suit / insisted)
    WITHDRAWN = "withdrawn"  # the rights holder withdrew its notice
    ACCEPTED = "accepted"  # the rights holder accepts the seller's claim


class MemberState(enum.StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    REMOVED = "removed"


# --- web sessions and API tokens --------------------------------------------------------------


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for scripts; it acts as its user. Only the SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(12))  # shown to people to tell tokens apart
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: a token stops working at this time (tokens made before expiry existed: never)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- automation --------------------------------------------------------------------------------


class AutomationRule(Base):
    """One rule of a rights holder's automation (``db.automation``): conditions, and what it
    does to a new alert that meets them. Rules run in ``position`` order; the first match acts."""

    __tablename__ = "automation_rule"

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(100))
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    action: Mapped[str] = mapped_column(sa.String(16))  # confirm, dismiss, review
    reason: Mapped[str | None] = mapped_column(sa.String(40))  # a dismissal's reason
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[created_at]


# --- rights documents ---------------------------------------------------------------------------


class RightsDocument(Base):
    """A registration certificate, power of attorney, ... uploaded once, attached to every
    notice of its rights holder (or of its mark)."""

    __tablename__ = "rights_document"

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    mark_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mark.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[created_at]


# --- cases --------------------------------------------------------------------------------------


class Case(Base):
    """Confirmed alerts grouped for enforcement, usually one seller on one marketplace."""

    __tablename__ = "enforcement_case"

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    marketplace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("marketplace.id", ondelete="RESTRICT"), index=True
    )
    seller: Mapped[str | None] = mapped_column(sa.String(300), index=True)  # None: many sellers
    title: Mapped[str] = mapped_column(sa.String(300))
    grouping: Mapped[str] = mapped_column(sa.String(16))  # seller | marketplace
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus), default=CaseStatus.OPEN)
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    marketplace: Mapped[Marketplace] = relationship()
    members: Mapped[list[CaseAlert]] = relationship(
        back_populates="case", order_by="CaseAlert.alert_id"
    )


class CaseAlert(Base):
    """An alert in a case. An alert belongs to one case at most."""

    __tablename__ = "case_alert"

    case_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enforcement_case.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[MemberState] = mapped_column(
        enum_column(MemberState), default=MemberState.UNKNOWN
    )
    added_by: Mapped[str] = mapped_column(sa.String(254))
    added_at: Mapped[created_at]
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="members")
    alert: Mapped[Alert] = relationship()
    listing: Mapped[Listing] = relationship()


class CaseEvent(Base):
    """Append-only history of a case: built, notice generated/sent, answer, counter-notice,
    listing back up, reopened, closed."""

    __tablename__ = "case_event"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enforcement_case.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]


class ListingCheck(Base):
    """One re-fetch of a case's listing: was it still up? Append-only."""

    __tablename__ = "listing_check"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enforcement_case.id", ondelete="CASCADE"), index=True
    )
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    http_status: Mapped[int | None]
    up: Mapped[bool]
    error: Mapped[str | None] = mapped_column(sa.String(500))


# --- notices and what came back ----------------------------------------------------------------


class Notice(Base):
    """A takedown notice to one marketplace for up to its limit of listings of one case.

    ``idempotency_key`` is unique: the notice is stored with it before anything is sent, and the
    status moves draft -> queued -> sending -> sent|failed by conditional updates, so it is sent
    at most once.
    """

    __tablename__ = "notice"

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enforcement_case.id", ondelete="CASCADE"), index=True
    )
    marketplace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("marketplace.id", ondelete="RESTRICT")
    )
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[NoticeStatus] = mapped_column(
        enum_column(NoticeStatus), default=NoticeStatus.DRAFT
    )
    alert_ids: Mapped[list[Any]] = mapped_column(default=list)
    document_ids: Mapped[list[Any]] = mapped_column(default=list)
    listing_count: Mapped[int]
    html: Mapped[str] = mapped_column(sa.Text)
    csv: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[created_at]
    queued_by: Mapped[str | None] = mapped_column(sa.String(254))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sender: Mapped[str | None] = mapped_column(sa.String(64))
    # delivery attempts so far (each one under ``idempotency_key``), and when the last began
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_reference: Mapped[str | None] = mapped_column(sa.String(500))
    send_error: Mapped[str | None] = mapped_column(sa.Text)

    case: Mapped[Case] = relationship()
    marketplace: Mapped[Marketplace] = relationship()


class MarketplaceAnswer(Base):
    """What the marketplace answered to a notice. Append-only: a later answer is a new row."""

    __tablename__ = "marketplace_answer"

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notice.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[AnswerOutcome] = mapped_column(enum_column(AnswerOutcome))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    answered_on: Mapped[date]
    recorded_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[created_at]


class CounterNotice(Base):
    """A seller's counter-notice against a case, with the deadline to answer it."""

    __tablename__ = "counter_notice"

    id: Mapped[intpk]
    rights_holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_holder.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enforcement_case.id", ondelete="CASCADE"), index=True
    )
    seller: Mapped[str] = mapped_column(sa.String(300))
    received_on: Mapped[date]
    deadline: Mapped[date]
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[CounterNoticeStatus] = mapped_column(
        enum_column(CounterNoticeStatus), default=CounterNoticeStatus.OPEN
    )
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(254))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[created_at]


# The queue's keyset pagination walks (score desc, id desc) within one rights holder, with or
# without a status filter; these indexes serve both walks at 100,000 alerts.
sa.Index("ix_alert_queue_all", Alert.rights_holder_id, Alert.score, Alert.id)
sa.Index("ix_alert_queue_status", Alert.rights_holder_id, Alert.status, Alert.score, Alert.id)


def _refuse(verb: str):
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        raise ImmutableRowError(f"{type(target).__name__} rows are write-once; refused {verb}")

    return listener


for _cls in (CaseEvent, ListingCheck, MarketplaceAnswer):
    sa.event.listen(_cls, "before_update", _refuse("update"))
    sa.event.listen(_cls, "before_delete", _refuse("delete"))
