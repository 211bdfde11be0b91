"""The API's request and response models and the helpers that fill them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import Path, Query
from pydantic import BaseModel, Field

from db.alert_queue import QueueFilters
from db.enforcement import CounterNotice, Notice
from db.verdicts import DISMISS_REASONS
from markwatch.notices import status_label
from web.core import MAX_ID, TextLimits

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Status = Literal["new", "in_review", "confirmed", "dismissed"]
Tier = Literal["high", "medium", "low"]
DismissReason = Literal["authorised_seller", "genuine_product", "nominative_use",
                        "unrelated_class", "dictionary_word", "not_our_mark", "duplicate", "other"]
# the API's list and the store's are one list
assert set(get_args(DismissReason)) == set(DISMISS_REASONS), "DismissReason is out of step"
IdList = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(min_length=1, max_length=1000)]


# --- models ------------------------------------------------------------------------------------


class Me(BaseModel):
    email: str
    name: str
    role: str
    rights_holder: str
    permissions: list[str]


class AlertOut(BaseModel):
    alert_id: int
    status: str
    score: int
    tier: str
    kind: str
    mark: str  # the best of the matched marks
    mark_id: int
    marks: list[str] = Field(default_factory=list)  # every matched mark, the best first
    marketplace: str
    seller: str | None
    price: str | None
    currency: str | None
    title: str
    url: str
    reasons: list[dict[str, Any]]
    created_at: str
    case_id: int | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None
    counts: dict[str, int]


class EventOut(BaseModel):
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    created_at: datetime


class EvidenceOut(BaseModel):
    sha256: str
    url: str
    fetched_at: datetime
    http_status: int
    size: int


class AlertDetailOut(AlertOut):
    description: str
    images: list[str]
    category: str | None
    brand: str | None
    condition: str | None
    evidence: EvidenceOut | None
    events: list[EventOut]


class VerdictIn(BaseModel):
    note: Annotated[str, TextLimits(1000)] | None = None


class DismissIn(BaseModel):
    reason: DismissReason
    note: Annotated[str, TextLimits(1000)] | None = None


class BulkIn(BaseModel):
    alert_ids: IdList
    action: Literal["confirm", "dismiss", "review"]
    reason: DismissReason | None = None
    note: Annotated[str, TextLimits(1000)] | None = None


class BulkOut(BaseModel):
    changed: list[int]
    refused: dict[str, str]


class CaseIn(BaseModel):
    alert_ids: IdList
    group_by: Literal["seller", "marketplace"] = "seller"


class CaseOut(BaseModel):
    case_id: int
    title: str
    status: str
    marketplace: str | None
    seller: str | None
    grouping: str
    alerts: int
    created_by: str
    created_at: str
    closed_at: str | None


class NoticeOut(BaseModel):
    notice_id: int
    case_id: int
    status: str
    status_label: str = ""  # what happened, in words ("written to outbox", "delivered", ...)
    listing_count: int
    alert_ids: list[int]
    document_ids: list[int]
    created_at: datetime
    sent_at: datetime | None
    sender: str | None
    answers: list[dict[str, Any]] = []


class CounterNoticeOut(BaseModel):
    counter_notice_id: int
    case_id: int
    seller: str
    received_on: date
    deadline: date
    status: str
    resolution: str | None


class CaseDetailOut(CaseOut):
    alert_ids: list[int]
    notices: list[NoticeOut]
    counter_notices: list[CounterNoticeOut]
    events: list[EventOut]


class GenerateIn(BaseModel):
    limit: int | None = Field(None, ge=1, le=300, description="Listings per notice (at most the marketplace's limit)")


class SendIn(BaseModel):
    signatory: Annotated[str, TextLimits(200)] | None = Field(
        None, description="The full name the notice is signed with (default: your account's name)")
    without_documents: bool = Field(
        False, description="Send although no rights documents are attached")


class CloseIn(BaseModel):
    reason: Annotated[str, TextLimits(1000, 1)]


class AnswerIn(BaseModel):
    outcome: Literal["removed", "rejected", "more_info"]
    note: Annotated[str, TextLimits(2000)] = ""
    answered_on: date | None = None


class CounterIn(BaseModel):
    seller: Annotated[str, TextLimits(300, 1)]
    received_on: date
    deadline: date
    statement: Annotated[str, TextLimits(5000)] = ""


class ResolveIn(BaseModel):
    status: Literal["replied", "withdrawn", "accepted"]
    resolution: Annotated[str, TextLimits(2000, 1)]


class MarkIn(BaseModel):
    mark: Annotated[str, TextLimits(200, 1)]
    registration_number: Annotated[str, TextLimits(64, 1)]
    office: Annotated[str, TextLimits(32, 1)]
    nice_classes: list[Annotated[int, Field(ge=1, le=45)]] = Field(min_length=1, max_length=45)
    aliases: list[Annotated[str, TextLimits(200, 1)]] = Field(default_factory=list, max_length=50)
    jurisdictions: list[Annotated[str, TextLimits(8, 1)]] = Field(default_factory=list, max_length=50)
    expires_on: date | None = None
    famous: bool = False


class MarkOut(BaseModel):
    mark_id: int
    mark: str
    aliases: list[Any]
    registration_number: str
    office: str
    nice_classes: list[Any]
    jurisdictions: list[Any]
    status: str
    expires_on: date | None = None
    retired: bool = False


class WatchIn(BaseModel):
    mark_registration: Annotated[str, TextLimits(64, 1)]
    marketplace: Annotated[str, TextLimits(32, 1)]
    terms: list[Annotated[str, TextLimits(200, 1)]] = Field(min_length=1, max_length=20)
    schedule_minutes: int = Field(360, ge=5, le=60 * 24 * 31)


class WatchEdit(BaseModel):
    terms: list[Annotated[str, TextLimits(200, 1)]] | None = Field(None, min_length=1, max_length=20)
    schedule_minutes: int | None = Field(None, ge=5, le=60 * 24 * 31)


class EndIn(BaseModel):
    ended_on: date = Field(description="From this day the seller is not authorised")


class SellerOut(BaseModel):
    seller_id: int
    seller: str
    marketplace_id: int | None
    ended_on: date | None


class WatchOut(BaseModel):
    watch_id: int
    mark_id: int
    marketplace_id: int
    terms: list[Any]
    schedule_minutes: int
    active: bool


class UserIn(BaseModel):
    email: Annotated[str, TextLimits(254, 3)]
    name: Annotated[str, TextLimits(200)] = ""
    role: Literal["admin", "reviewer", "viewer"]
    password: Annotated[str, Field(min_length=10, max_length=200)]


class UserOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: str
    active: bool


# --- helpers -----------------------------------------------------------------------------------


def queue_filters(status: Status | None, mark_id: int | None, marketplace: str | None, tier: Tier | None,
             seller: str | None, since: date | None, until: date | None,
             min_score: int | None) -> QueueFilters:
    return QueueFilters(status=status, mark_id=mark_id, marketplace=marketplace or None, tier=tier,
                        seller=seller or None, since=since, until=until, min_score=min_score)


def events_out(events: list[Any]) -> list[EventOut]:
    return [EventOut(actor=e.actor, action=e.action, from_status=e.from_status,
                     to_status=e.to_status, reason=e.reason, created_at=e.created_at)
            for e in events]


def notice_out(n: Notice, answers: list[Any] | None = None) -> NoticeOut:
    return NoticeOut(
        notice_id=n.id, case_id=n.case_id, status=n.status.value,
        status_label=status_label(n.status.value, n.sender), listing_count=n.listing_count,
        alert_ids=n.alert_ids, document_ids=n.document_ids, created_at=n.created_at,
        sent_at=n.sent_at, sender=n.sender,
        answers=[{"outcome": a.outcome.value, "note": a.note,
                  "answered_on": a.answered_on.isoformat(), "recorded_by": a.recorded_by}
                 for a in answers or []],
    )


def counter_notice_out(c: CounterNotice) -> CounterNoticeOut:
    return CounterNoticeOut(counter_notice_id=c.id, case_id=c.case_id, seller=c.seller,
                            received_on=c.received_on, deadline=c.deadline,
                            status=c.status.value, resolution=c.resolution)


def alert_out(item: Any) -> AlertOut:
    return AlertOut(**item.as_dict())


F = Query(None)
SellerQ = Annotated[Annotated[str, TextLimits(300)] | None, Query()]
MarketQ = Annotated[Annotated[str, TextLimits(32)] | None, Query()]
