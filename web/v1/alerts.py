"""Alerts: the queue, exports, one alert and verdicts."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from db.alert_queue import queue_all, queue_page, status_counts
from db.verdicts import dismiss_reason_counts, transition
from web import services
from web.core import MAX_ID, Reader, Reviewer
from web.v1.schemas import (
    AlertDetailOut,
    AlertOut,
    AlertPage,
    BulkIn,
    BulkOut,
    DismissIn,
    EvidenceOut,
    Id,
    MarketQ,
    SellerQ,
    Status,
    Tier,
    VerdictIn,
    alert_out,
    events_out,
    queue_filters,
)

router = APIRouter()


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
    f = queue_filters(status, mark_id, marketplace, tier, seller, since, until, min_score)
    items, nxt = queue_page(ctx.scope, f, cursor=cursor, limit=limit)
    return AlertPage(items=[alert_out(i) for i in items], next_cursor=nxt,
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
    f = queue_filters(status, mark_id, marketplace, tier, seller, since, until, None)
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
        condition=li.condition, evidence=ev, events=events_out(d.events),
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
