"""The versioned JSON API (``/api/v1``): the same operations and permissions as the pages.

Authenticate with ``Authorization: Bearer <token>``; a signed-in browser may call it too, sending
its CSRF token in ``X-CSRF-Token`` on state changes.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from db.accounts import create_user
from db.alert_queue import QueueFilters, queue_all, queue_page, status_counts
from db.cases import build_cases, case_view, close_case, list_cases, seller_history
from db.coverage import coverage
from db.dashboard import dashboard
from db.enforcement import CounterNotice, Notice
from db.models import Mark, User, Watch
from db.notices import record_answer, record_counter_notice, resolve_counter_notice
from db.registry import add_mark, add_watch
from db.verdicts import DISMISS_REASONS, dismiss_reason_counts, transition
from markwatch.accounts import hash_password
from web import services
from web.core import MAX_ID, Admin, Reader, Reviewer, TextLimits

router = APIRouter(prefix="/api/v1", tags=["api"])

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


class WatchIn(BaseModel):
    mark_registration: Annotated[str, TextLimits(64, 1)]
    marketplace: Annotated[str, TextLimits(32, 1)]
    terms: list[Annotated[str, TextLimits(200, 1)]] = Field(min_length=1, max_length=20)
    schedule_minutes: int = Field(360, ge=5, le=60 * 24 * 31)


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


def _filters(status: Status | None, mark_id: int | None, marketplace: str | None, tier: Tier | None,
             seller: str | None, since: date | None, until: date | None,
             min_score: int | None) -> QueueFilters:
    return QueueFilters(status=status, mark_id=mark_id, marketplace=marketplace or None, tier=tier,
                        seller=seller or None, since=since, until=until, min_score=min_score)


def _events(events: list[Any]) -> list[EventOut]:
    return [EventOut(actor=e.actor, action=e.action, from_status=e.from_status,
                     to_status=e.to_status, reason=e.reason, created_at=e.created_at)
            for e in events]


def _notice_out(n: Notice, answers: list[Any] | None = None) -> NoticeOut:
    return NoticeOut(
        notice_id=n.id, case_id=n.case_id, status=n.status.value, listing_count=n.listing_count,
        alert_ids=n.alert_ids, document_ids=n.document_ids, created_at=n.created_at,
        sent_at=n.sent_at, sender=n.sender,
        answers=[{"outcome": a.outcome.value, "note": a.note,
                  "answered_on": a.answered_on.isoformat(), "recorded_by": a.recorded_by}
                 for a in answers or []],
    )


def _cn_out(c: CounterNotice) -> CounterNoticeOut:
    return CounterNoticeOut(counter_notice_id=c.id, case_id=c.case_id, seller=c.seller,
                            received_on=c.received_on, deadline=c.deadline,
                            status=c.status.value, resolution=c.resolution)


def _alert_out(item: Any) -> AlertOut:
    return AlertOut(**item.as_dict())


F = Query(None)
SellerQ = Annotated[Annotated[str, TextLimits(300)] | None, Query()]
MarketQ = Annotated[Annotated[str, TextLimits(32)] | None, Query()]


# --- who am I ----------------------------------------------------------------------------------


@router.get("/me", response_model=Me)
def me(ctx: Reader) -> Me:
    return Me(email=ctx.user.email, name=ctx.user.name, role=ctx.user.role.value,
              rights_holder=ctx.holder_slug, permissions=sorted(ctx.perms))


# --- alerts ------------------------------------------------------------------------------------


@router.get("/alerts", response_model=AlertPage)
def alerts(
    ctx: Reader,
    status: Status | None = None,
    mark_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    marketplace: MarketQ = None,
    tier: Tier | None = None,
    seller: SellerQ = None,
    since: date | None = None,
    until: date | None = None,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=40, pattern=r"^-?\d{1,4}\.\d{1,10}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """The queue, highest score first, by keyset pages: pass ``next_cursor`` back as ``cursor``."""
    f = _filters(status, mark_id, marketplace, tier, seller, since, until, min_score)
    items, nxt = queue_page(ctx.scope, f, cursor=cursor, limit=limit)
    return AlertPage(items=[_alert_out(i) for i in items], next_cursor=nxt,
                     counts=status_counts(ctx.scope, f))


@router.get("/alerts/export", responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export_alerts(
    ctx: Reader,
    format: Literal["json", "csv"] = "csv",
    status: Status | None = None,
    mark_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    marketplace: MarketQ = None,
    tier: Tier | None = None,
    seller: SellerQ = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """Every alert under the filters (up to 100,000), as CSV (formula cells neutralised) or JSON."""
    f = _filters(status, mark_id, marketplace, tier, seller, since, until, None)
    rows = [services.alert_export_row(i) for i in queue_all(ctx.scope, f)]
    if format == "json":
        return Response(json.dumps(rows, ensure_ascii=False), media_type="application/json")
    return Response(services.csv_text(services.ALERT_EXPORT_COLUMNS, rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="alerts.csv"'})


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut)
def alert(ctx: Reader, alert_id: Id) -> AlertDetailOut:
    from db.alert_queue import alert_detail

    d = alert_detail(ctx.scope, alert_id)
    a, li = d.alert, d.listing
    ev = None
    if d.snapshot is not None:
        ev = EvidenceOut(sha256=d.snapshot.sha256, url=d.snapshot.url,
                         fetched_at=d.snapshot.fetched_at, http_status=d.snapshot.http_status,
                         size=d.snapshot.size)
    return AlertDetailOut(
        alert_id=a.id, status=a.status.value, score=a.score, tier=a.tier, kind=a.kind,
        mark=d.mark.word_mark, mark_id=d.mark.id, marks=[m.word_mark for m in d.marks],
        marketplace=d.marketplace.code, seller=li.seller, price=None if li.price is None else str(li.price),
        currency=li.currency, title=li.title, url=li.url, reasons=a.reasons,
        created_at=a.created_at.isoformat(), case_id=d.case_id, description=li.description,
        images=[str(x) for x in li.images], category=li.category, brand=li.brand,
        condition=li.condition, evidence=ev, events=_events(d.events),
    )


def _verdict(ctx: Any, alert_id: int, action: str, reason: str | None, note: str | None) -> AlertOut:
    transition(ctx.scope, [alert_id], action, reason=reason, note=note)
    from db.alert_queue import alert_detail

    d = alert_detail(ctx.scope, alert_id)
    return AlertOut(
        alert_id=d.alert.id, status=d.alert.status.value, score=d.alert.score, tier=d.alert.tier,
        kind=d.alert.kind, mark=d.mark.word_mark, mark_id=d.mark.id,
        marks=[m.word_mark for m in d.marks], marketplace=d.marketplace.code,
        seller=d.listing.seller,
        price=None if d.listing.price is None else str(d.listing.price),
        currency=d.listing.currency, title=d.listing.title, url=d.listing.url,
        reasons=d.alert.reasons, created_at=d.alert.created_at.isoformat(), case_id=d.case_id,
    )


@router.post("/alerts/{alert_id}/review", response_model=AlertOut)
def review_alert(ctx: Reviewer, alert_id: Id, body: VerdictIn | None = None) -> AlertOut:
    """new -> in_review."""
    return _verdict(ctx, alert_id, "review", None, body.note if body else None)


@router.post("/alerts/{alert_id}/confirm", response_model=AlertOut)
def confirm_alert(ctx: Reviewer, alert_id: Id, body: VerdictIn | None = None) -> AlertOut:
    """new | in_review -> confirmed."""
    return _verdict(ctx, alert_id, "confirm", None, body.note if body else None)


@router.post("/alerts/{alert_id}/dismiss", response_model=AlertOut)
def dismiss_alert(ctx: Reviewer, alert_id: Id, body: DismissIn) -> AlertOut:
    """new | in_review -> dismissed, with a reason (counted for tuning the matcher)."""
    return _verdict(ctx, alert_id, "dismiss", body.reason, body.note)


@router.post("/alerts/{alert_id}/reopen", response_model=AlertOut)
def reopen_alert(ctx: Reviewer, alert_id: Id, body: VerdictIn | None = None) -> AlertOut:
    """confirmed | dismissed -> in_review (not while the alert is in a case)."""
    return _verdict(ctx, alert_id, "reopen", None, body.note if body else None)


@router.post("/alerts/bulk", response_model=BulkOut)
def bulk(ctx: Reviewer, body: BulkIn) -> BulkOut:
    """Confirm, dismiss or start reviewing many alerts; those that cannot move are reported."""
    out = transition(ctx.scope, body.alert_ids, body.action, reason=body.reason, note=body.note,
                     strict=False)
    return BulkOut(changed=out.changed, refused={str(k): v for k, v in out.refused.items()})


@router.get("/dismiss-reasons", response_model=dict[str, int])
def dismiss_reasons(ctx: Reader) -> dict[str, int]:
    """Current dismissals per reason."""
    return dismiss_reason_counts(ctx.scope)


# --- cases -------------------------------------------------------------------------------------


@router.get("/cases", response_model=list[CaseOut])
def cases(ctx: Reader, status: Literal["open", "notice_sent", "answered", "closed", "reopened"] | None = None) -> list[CaseOut]:
    rows = services.case_export_rows(ctx, list_cases(ctx.scope, status=status))
    return [CaseOut(**r) for r in rows]


@router.post("/cases", response_model=list[CaseOut], status_code=201)
def create_cases(ctx: Reviewer, body: CaseIn) -> list[CaseOut]:
    """Group confirmed alerts into cases (per seller or per marketplace)."""
    ids = set(build_cases(ctx.scope, body.alert_ids, group_by=body.group_by))
    rows = services.case_export_rows(ctx, [(c, n) for c, n in list_cases(ctx.scope) if c.id in ids])
    return [CaseOut(**r) for r in rows]


@router.get("/cases/export", responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export_cases(ctx: Reader, format: Literal["json", "csv"] = "csv") -> Response:
    rows = services.case_export_rows(ctx, list_cases(ctx.scope, limit=100_000))
    if format == "json":
        return Response(json.dumps(rows, ensure_ascii=False), media_type="application/json")
    return Response(services.csv_text(services.CASE_EXPORT_COLUMNS, rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="cases.csv"'})


def _case_detail(ctx: Any, case_id: int) -> CaseDetailOut:
    v = case_view(ctx.scope, case_id)
    base = services.case_export_rows(ctx, [(v.case, len(v.members))])[0]
    return CaseDetailOut(
        **base, alert_ids=[m[1].id for m in v.members],
        notices=[_notice_out(n, v.answers.get(n.id)) for n in v.notices],
        counter_notices=[_cn_out(c) for c in v.counter_notices], events=_events(v.events),
    )


@router.get("/cases/{case_id}", response_model=CaseDetailOut)
def case(ctx: Reader, case_id: Id) -> CaseDetailOut:
    return _case_detail(ctx, case_id)


@router.post("/cases/{case_id}/notices", response_model=list[NoticeOut], status_code=201)
def generate(ctx: Reviewer, case_id: Id, body: GenerateIn | None = None) -> list[NoticeOut]:
    """Draft notices for the case's listings not yet in one, split at the marketplace's limit."""
    notices = services.generate_notices(ctx, case_id, limit=body.limit if body else None)
    return [_notice_out(n) for n in notices]


@router.post("/cases/{case_id}/close", response_model=CaseOut)
def close(ctx: Reviewer, case_id: Id, body: CloseIn) -> CaseOut:
    c = close_case(ctx.scope, case_id, body.reason)
    return CaseOut(**services.case_export_rows(ctx, [(c, len(c.members))])[0])


@router.post("/cases/{case_id}/counter-notices", response_model=CounterNoticeOut, status_code=201)
def counter_notice(ctx: Reviewer, case_id: Id, body: CounterIn) -> CounterNoticeOut:
    """Record a seller's counter-notice and its deadline."""
    c = record_counter_notice(ctx.scope, case_id, seller=body.seller, received_on=body.received_on,
                              deadline=body.deadline, statement=body.statement)
    return _cn_out(c)


@router.post("/counter-notices/{counter_notice_id}/resolve", response_model=CounterNoticeOut)
def resolve(ctx: Reviewer, counter_notice_id: Id, body: ResolveIn) -> CounterNoticeOut:
    """Reply to, withdraw before, or accept a counter-notice."""
    return _cn_out(resolve_counter_notice(ctx.scope, counter_notice_id, body.status, body.resolution))


# --- notices -----------------------------------------------------------------------------------


@router.get("/notices/{notice_id}", response_model=NoticeOut)
def notice(ctx: Reader, notice_id: Id) -> NoticeOut:
    n = ctx.scope.get(Notice, notice_id)
    v = case_view(ctx.scope, n.case_id)
    return _notice_out(n, v.answers.get(n.id))


@router.post("/notices/{notice_id}/send", response_model=NoticeOut, status_code=202)
def send_notice(ctx: Reviewer, notice_id: Id, request: Request) -> NoticeOut:
    """Send the notice once: a draft is queued and sent after commit; any other state is 409."""
    return _notice_out(services.send(ctx, request.app, notice_id))


@router.post("/notices/{notice_id}/answers", response_model=NoticeOut, status_code=201)
def answer(ctx: Reviewer, notice_id: Id, body: AnswerIn) -> NoticeOut:
    """Record the marketplace's answer: removed, rejected or more information needed."""
    record_answer(ctx.scope, notice_id, body.outcome, note=body.note, answered_on=body.answered_on)
    n = ctx.scope.get(Notice, notice_id)
    return _notice_out(n, case_view(ctx.scope, n.case_id).answers.get(n.id))


# --- sellers, dashboard ------------------------------------------------------------------------


@router.get("/sellers/history")
def seller(ctx: Reader, marketplace: Annotated[str, TextLimits(32, 1), Query()],
           seller: Annotated[str, TextLimits(300, 1), Query()]) -> dict[str, Any]:
    """A seller's alerts and cases across time (repeat infringers)."""
    h = seller_history(ctx.scope, marketplace, seller)
    return {
        "seller": h.seller, "marketplace": h.marketplace.code,
        "cases": [{"case_id": c.id, "status": c.status.value, "title": c.title} for c in h.cases],
        "alerts": [{"alert_id": a.id, "status": a.status.value, "score": a.score,
                    "mark": m.word_mark, "title": li.title, "case_id": cid}
                   for a, li, m, cid in h.alerts],
    }


@router.get("/dashboard")
def dashboard_data(ctx: Reader) -> dict[str, Any]:
    d = dashboard(ctx.scope)
    return {
        "days": [x.isoformat() for x in d.days], "by_day": d.by_day, "counts": d.counts,
        "precision": d.precision,
        "reviewers": [{"reviewer": r, "confirmed": c, "dismissed": x, "precision": p}
                      for r, c, x, p in d.per_reviewer],
        "detection_to_notice_hours": d.detection_to_notice_hours,
        "takedown": [{"marketplace": m, "removed": r, "answered": t, "rate": rate}
                     for m, r, t, rate in d.takedown],
        "cleanliness": [{"watch_id": w, "mark": m, "marketplace": mk, "clean": c, "top": n,
                         "share": s} for w, m, mk, c, n, s in d.cleanliness],
        "dismiss_reasons": d.dismiss_reasons,
        "coverage": _coverage_out(coverage(ctx.scope)),
    }


def _coverage_out(c: Any) -> dict[str, Any]:
    return {
        "marks": c.marks,
        "markets": [{"country": m.country, "storefronts": m.storefronts,
                     "protection": dict(zip(c.marks, m.protection, strict=True)),
                     "alerts": m.alerts, "unprotected_alerts": m.unprotected_alerts}
                    for m in c.markets],
        "unprotected_alerts": c.unprotected_alerts, "other_alerts": c.other_alerts,
    }


# --- registry ----------------------------------------------------------------------------------


@router.get("/marks", response_model=list[MarkOut])
def marks(ctx: Reader) -> list[MarkOut]:
    return [_mark_out(m) for m in ctx.session.scalars(ctx.scope.select(Mark).order_by(Mark.id))]


def _mark_out(m: Mark) -> MarkOut:
    return MarkOut(mark_id=m.id, mark=m.word_mark, aliases=m.aliases,
                   registration_number=m.registration_number, office=m.office,
                   nice_classes=m.nice_classes, jurisdictions=m.jurisdictions,
                   status=m.status.value)


@router.post("/marks", response_model=MarkOut, status_code=201)
def add_mark_api(ctx: Admin, body: MarkIn) -> MarkOut:
    """Register (or update) a mark of your rights holder, with the CLI's validation."""
    res = add_mark(ctx.session, rights_holder=ctx.holder_slug, mark=body.mark,
                   registration_number=body.registration_number, office=body.office,
                   nice_classes=body.nice_classes, aliases=body.aliases,
                   jurisdictions=body.jurisdictions, expires_on=body.expires_on,
                   famous=body.famous)
    return _mark_out(ctx.scope.get(Mark, res.ids[0]))


@router.get("/watches", response_model=list[WatchOut])
def watches(ctx: Reader) -> list[WatchOut]:
    return [WatchOut(watch_id=w.id, mark_id=w.mark_id, marketplace_id=w.marketplace_id,
                     terms=w.terms, schedule_minutes=w.schedule_minutes, active=w.active)
            for w in ctx.session.scalars(ctx.scope.select(Watch).order_by(Watch.id))]


@router.post("/watches", response_model=WatchOut, status_code=201)
def add_watch_api(ctx: Admin, body: WatchIn) -> WatchOut:
    res = add_watch(ctx.session, rights_holder=ctx.holder_slug,
                    mark_registration=body.mark_registration, marketplace=body.marketplace,
                    terms=body.terms, schedule_minutes=body.schedule_minutes)
    w = ctx.scope.get(Watch, res.ids[0])
    return WatchOut(watch_id=w.id, mark_id=w.mark_id, marketplace_id=w.marketplace_id,
                    terms=w.terms, schedule_minutes=w.schedule_minutes, active=w.active)


@router.get("/users", response_model=list[UserOut])
def users(ctx: Admin) -> list[UserOut]:
    return [UserOut(user_id=u.id, email=u.email, name=u.name, role=u.role.value, active=u.active)
            for u in ctx.session.scalars(ctx.scope.select(User).order_by(User.id))]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(ctx: Admin, body: UserIn) -> UserOut:
    u = create_user(ctx.session, rights_holder_id=ctx.user.rights_holder_id, email=body.email,
                    name=body.name, role=body.role, password_hash=hash_password(body.password))
    return UserOut(user_id=u.id, email=u.email, name=u.name, role=u.role.value, active=u.active)

