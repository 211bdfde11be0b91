"""Cases: building them from confirmed alerts, their notices and counter-notices."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.cases import (
    build_cases,
    case_view,
    close_case,
    list_cases,
    remove_from_case,
    repeat_infringers,
)
from db.models import Marketplace
from db.notice_support import marketplace_countries, supports
from db.notices import record_counter_notice, resolve_counter_notice
from web import services
from web.core import (
    Reader,
    Reviewer,
    TextLimits,
)
from web.pages.common import Id, IdForm, page

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/cases")
def cases(request: Request, ctx: Reader,
          status: Literal["", "open", "notice_sent", "answered", "closed", "reopened"] = "") -> HTMLResponse:
    rows = list_cases(ctx.scope, status=status or None)
    codes = dict(ctx.session.execute(sa.select(Marketplace.id, Marketplace.code)).all())
    return page(request, "cases.html", ctx, rows=rows, codes=codes, status=status,
                repeaters=repeat_infringers(ctx.scope))


@router.post("/cases")
def create_cases(ctx: Reviewer, alert_ids: IdForm,
                 group_by: Annotated[Literal["seller", "marketplace"], Form()] = "seller") -> Response:
    ids = build_cases(ctx.scope, alert_ids, group_by=group_by)
    if len(set(ids)) == 1:
        return RedirectResponse(f"/cases/{ids[0]}", status_code=303)
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases/{case_id}")
def case_page(request: Request, ctx: Reader, case_id: Id) -> HTMLResponse:
    v = case_view(ctx.scope, case_id)
    market = ctx.session.get(Marketplace, v.case.marketplace_id)
    assert market is not None
    today = date.today()
    marks = {mk.id: mk for _m, _a, _li, mk in v.members}
    checked = supports(sorted(marks.values(), key=lambda m: m.id), market, today)
    return page(request, "case.html", ctx, v=v, market=market, today=today, support=checked,
                countries=marketplace_countries(market),
                default_deadline=today + timedelta(days=10))


@router.post("/cases/{case_id}/notices")
def generate(ctx: Reviewer, case_id: Id) -> Response:
    notices = services.generate_notices(ctx, case_id)
    if len(notices) == 1:
        return RedirectResponse(f"/notices/{notices[0].id}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/close")
def close(ctx: Reviewer, case_id: Id, reason: Annotated[str, TextLimits(1000, 1), Form()]) -> Response:
    close_case(ctx.scope, case_id, reason)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/alerts/{alert_id}/remove")
def remove(ctx: Reviewer, case_id: Id, alert_id: Id) -> Response:
    remove_from_case(ctx.scope, case_id, alert_id)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/counter-notices")
def counter(ctx: Reviewer, case_id: Id, seller: Annotated[str, TextLimits(300, 1), Form()],
            received_on: Annotated[date, Form()], deadline: Annotated[date, Form()],
            statement: Annotated[str, TextLimits(5000), Form()] = "") -> Response:
    record_counter_notice(ctx.scope, case_id, seller=seller, received_on=received_on,
                          deadline=deadline, statement=statement)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/counter-notices/{counter_notice_id}/resolve")
def resolve(ctx: Reviewer, counter_notice_id: Id,
            status: Annotated[Literal["replied", "withdrawn", "accepted"], Form()],
            resolution: Annotated[str, TextLimits(2000, 1), Form()]) -> Response:
    c = resolve_counter_notice(ctx.scope, counter_notice_id, status, resolution)
    return RedirectResponse(f"/cases/{c.case_id}", status_code=303)
