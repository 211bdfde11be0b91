"""A seller's history and the dashboard."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from db.cases import (
    seller_history,
)
from db.coverage import coverage
from db.dashboard import dashboard
from db.models import Mark, Watch
from db.notice_support import EXPIRY_WARNING_DAYS, expiring
from db.types import utcnow
from db.verdicts import DISMISS_REASONS
from web import charts
from web.core import (
    Reader,
    TextLimits,
)
from web.pages.common import page

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/sellers")
def seller(request: Request, ctx: Reader, marketplace: Annotated[str, TextLimits(32, 1), Query()],
           seller: Annotated[str, TextLimits(300, 1), Query()]) -> HTMLResponse:
    h = seller_history(ctx.scope, marketplace, seller)
    return page(request, "seller.html", ctx, h=h)


@router.get("/dashboard")
def dashboard_page(request: Request, ctx: Reader) -> HTMLResponse:
    d = dashboard(ctx.scope)
    watches = {w.id: ", ".join(str(t) for t in w.terms) or f"watch {w.id}"
               for w in ctx.session.scalars(ctx.scope.select(Watch))}
    marks = ctx.session.scalars(ctx.scope.select(Mark).order_by(Mark.id)).all()
    return page(request, "dashboard.html", ctx, d=d, watches=watches, cov=coverage(ctx.scope),
                expiring=expiring(marks, utcnow().date()), warn_days=EXPIRY_WARNING_DAYS,
                totals={k: sum(v) for k, v in d.by_day.items()},
                status_chart=charts.grouped_bars(d.days, d.by_day),
                reasons_chart=charts.hbars([(DISMISS_REASONS.get(k, k), n)
                                            for k, n in d.dismiss_reasons.items()]),
                hours_chart=charts.histogram(d.detection_to_notice_hours),
                reasons=DISMISS_REASONS)
