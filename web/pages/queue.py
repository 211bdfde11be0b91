"""The alert queue, one alert's page with its captured evidence, and verdicts.

Scraped HTML is only ever shown as escaped source or inside a sandboxed frame."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.alert_queue import (
    QueueFilters,
    alert_after,
    alert_detail,
    queue_page,
    snapshot_html,
    status_counts,
)
from db.captures import CaptureUnreadable
from db.models import Mark, Marketplace
from db.photos import alert_images, first_photos
from db.verdicts import DISMISS_REASONS, transition
from web import charts
from web.app import SANDBOX_CSP
from web.core import (
    MAX_ID,
    Ctx,
    Reader,
    Reviewer,
    TextLimits,
)
from web.explain import explain_all, glossary_for
from web.pages.common import Id, IdForm, Note, back, page

log = logging.getLogger(__name__)
router = APIRouter()


SOURCE_LIMIT = 300_000  # characters of captured HTML shown as escaped source


#: what the result of a bulk action adds to the queue's URL; dropped before it is added again,
#: so a reviewer can triage all morning without the URL growing
RESULT_PARAMS = ("done", "refused")


@dataclass(frozen=True)
class QueueView:
    """Where the reviewer is in the queue: the filters and the page. Carried from the queue to an
    alert and on to the next one, so "« queue" and "next" keep both."""

    status: str
    filters: QueueFilters
    params: dict[str, Any]  # the filters as query parameters, defaults left out
    cursor: str | None
    limit: int = 50
    view: str = "table"  # or "cards": a photo per alert

    @property
    def query(self) -> str:
        return urlencode({**self.params, **({"cursor": self.cursor} if self.cursor else {})})

    def url(self) -> str:
        return "/alerts?" + self.query

    def with_params(self, **changes: Any) -> str:
        return "/alerts?" + urlencode({**self.params, **changes})


def queue_view(
    status: Literal["new", "in_review", "confirmed", "dismissed", "all"] = "new",
    mark_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    marketplace: Annotated[str, TextLimits(32), Query()] = "",
    tier: Literal["", "high", "medium", "low"] = "",
    seller: Annotated[str, TextLimits(300), Query()] = "",
    since: date | None = None,
    until: date | None = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=10, le=200)] = 50,
    view: Literal["table", "cards"] = "table",
) -> QueueView:
    f = QueueFilters(status=None if status == "all" else status, mark_id=mark_id,
                     marketplace=marketplace or None, tier=tier or None, seller=seller or None,
                     since=since, until=until)
    params = {k: v for k, v in {
        "status": status, "mark_id": mark_id, "marketplace": marketplace, "tier": tier,
        "seller": seller, "since": since, "until": until, "limit": limit if limit != 50 else None,
        "view": view if view != "table" else None,
    }.items() if v not in (None, "")}
    return QueueView(status, f, params, cursor, limit, view)


View = Annotated[QueueView, Depends(queue_view)]


@router.get("/alerts")
def queue(
    request: Request,
    ctx: Reader,
    qv: View,
    done: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    refused: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> HTMLResponse:
    f = qv.filters
    items, nxt = queue_page(ctx.scope, f, cursor=qv.cursor, limit=qv.limit)
    counts = status_counts(ctx.scope, f)
    marks = ctx.session.scalars(ctx.scope.select(Mark).order_by(Mark.word_mark)).all()
    markets = ctx.session.scalars(sa.select(Marketplace).order_by(Marketplace.code)).all()
    return page(
        request, "queue.html", ctx, items=items, counts=counts, status=qv.status,
        params=qv.params, qv=qv,
        next_url=qv.with_params(cursor=nxt) if nxt else None,
        first_url=qv.with_params() if qv.cursor else None,
        tab_url=lambda st: qv.with_params(status=st),
        marks=marks, markets=markets, reasons=DISMISS_REASONS, here=qv.url(), done=done,
        refused=refused, f=f, view=qv.view, view_url=lambda v: qv.with_params(view=v),
        photos=first_photos(ctx.session, [a.alert_id for a in items]) if qv.view == "cards" else {},
    )


def _without_results(url: str) -> str:
    """``url`` with the result of an earlier bulk action taken out."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in RESULT_PARAMS]
    return urlunsplit(("", "", parts.path, urlencode(kept), ""))


@router.post("/alerts/bulk")
def bulk(
    ctx: Reviewer,
    alert_ids: IdForm,
    action: Annotated[Literal["confirm", "dismiss", "review"], Form()],
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Note = "",
    next: Annotated[str, Form(max_length=2000)] = "/alerts",
) -> Response:
    out = transition(ctx.scope, alert_ids, action, reason=reason or None, note=note or None,
                     strict=False)
    target = _without_results(next)
    sep = "&" if "?" in target else "?"
    return back(f"{target}{sep}done={len(out.changed)}&refused={len(out.refused)}", "/alerts")


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, ctx: Reader, alert_id: Id, qv: View) -> HTMLResponse:
    d = alert_detail(ctx.scope, alert_id)
    source = unreadable = None
    if d.snapshot is not None:
        try:
            _snap, body = snapshot_html(ctx.scope, alert_id, request.app.state.evidence)
        except CaptureUnreadable as exc:
            log.error("alert %s: %s", alert_id, exc)
            unreadable = str(exc)
        else:
            source = body.decode("utf-8", errors="replace")[:SOURCE_LIMIT]
    photos = alert_images(ctx.scope, alert_id)
    captured_urls = {p.url for p in photos}
    uncaptured = [u for u in (str(x) for x in d.listing.images) if u not in captured_urls]
    return page(request, "alert.html", ctx, d=d, source=source, photos=photos,
                uncaptured=uncaptured, unreadable=unreadable,
                truncated=source is not None and len(source) >= SOURCE_LIMIT,
                reasons=DISMISS_REASONS, safe_link=charts.safe_link_url, explained=explain_all(d.alert.reasons),
                glossary=glossary_for(d.listing.title, d.listing.description),
                qv=qv, queue_url=qv.url(), here=f"/alerts/{alert_id}?{qv.query}",
                next_url=f"/alerts/{alert_id}/next?{qv.query}")


@router.get("/alerts/{alert_id}/next")
def next_alert(ctx: Reader, alert_id: Id, qv: View) -> Response:
    """The alert after this one in the reviewer's queue (same filters, same order), or the queue
    itself when there is none."""
    after = alert_after(ctx.scope, qv.filters, alert_id)
    if after is None:
        return RedirectResponse(qv.with_params(), status_code=303)
    return RedirectResponse(f"/alerts/{after}?{qv.query}", status_code=303)


@router.get("/alerts/{alert_id}/captured")
def captured(request: Request, ctx: Reader, alert_id: Id) -> Response:
    """The captured page, byte for byte, under a sandbox CSP: no script, no request leaves it."""
    try:
        _snap, body = snapshot_html(ctx.scope, alert_id, request.app.state.evidence)
    except CaptureUnreadable as exc:
        log.error("alert %s: %s", alert_id, exc)
        raise HTTPException(502, "the captured page cannot be read from the evidence "
                            "store") from None
    return Response(body, media_type="text/html", headers={
        "Content-Security-Policy": SANDBOX_CSP, "X-Frame-Options": "SAMEORIGIN",
        "Cross-Origin-Resource-Policy": "same-origin",
    })


def _verdict_form(ctx: Ctx, alert_id: int, action: str, reason: str | None, note: str,
                  next_url: str) -> Response:
    transition(ctx.scope, [alert_id], action, reason=reason, note=note or None)
    return back(next_url, f"/alerts/{alert_id}")


NextField = Annotated[str, Form(max_length=2000)]


@router.post("/alerts/{alert_id}/review")
def review(ctx: Reviewer, alert_id: Id, note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "review", None, note, next)


@router.post("/alerts/{alert_id}/confirm")
def confirm(ctx: Reviewer, alert_id: Id, note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "confirm", None, note, next)


@router.post("/alerts/{alert_id}/dismiss")
def dismiss(ctx: Reviewer, alert_id: Id, reason: Annotated[str, Form(max_length=40)],
            note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "dismiss", reason, note, next)


@router.post("/alerts/{alert_id}/reopen")
def reopen(ctx: Reviewer, alert_id: Id, note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "reopen", None, note, next)
