"""A seller's history and the dashboard's figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from db.cases import seller_history
from db.coverage import coverage
from db.dashboard import dashboard
from web.core import Reader, TextLimits

router = APIRouter()


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
