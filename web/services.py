"""Operations the pages and the API share, on top of the ``db`` review modules (tenancy, verdicts, alert_queue, cases, notices, dashboard, accounts) (always through the scope)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from db.accounts import holder
from db.alert_queue import QueueItem
from db.enforcement import Case, Notice
from db.models import Mark, Marketplace
from db.notices import create_notice, documents_for, queue_notice, unnoticed_members
from db.tenancy import Refused
from markwatch.notices import limit_for, render_notice, write_csv
from web.core import Ctx

ALERT_EXPORT_COLUMNS = ["alert_id", "status", "score", "tier", "kind", "mark", "marketplace",
                        "seller", "price", "currency", "title", "url", "reasons", "created_at",
                        "case_id"]
CASE_EXPORT_COLUMNS = ["case_id", "title", "status", "marketplace", "seller", "grouping",
                       "alerts", "created_by", "created_at", "closed_at"]


def generate_notices(ctx: Ctx, case_id: int, *, limit: int | None = None) -> list[Notice]:
    """Draft notices for every listing of the case that no notice covers yet, split at the
    marketplace's limit, each with the rights documents of the marks involved attached."""
    scope = ctx.scope
    case = scope.get(Case, case_id)
    lines = unnoticed_members(scope, case)
    if not lines:
        raise Refused("every listing of this case is already in a notice")
    market = ctx.session.get(Marketplace, case.marketplace_id)
    assert market is not None
    most = limit_for(market.code, market.profile)
    size = min(limit or most, most)
    rh = holder(ctx.session, scope.rights_holder_id)
    notices = []
    for start in range(0, len(lines), size):
        chunk = lines[start:start + size]
        regs = {ln.registration_number for ln in chunk}
        marks = list(ctx.session.scalars(
            scope.select(Mark).where(Mark.registration_number.in_(regs)).order_by(Mark.id)
        ))
        docs = documents_for(scope, [m.id for m in marks])
        html, csv_text = render_notice(
            holder=rh, marketplace=market, case=case, marks=marks, documents=docs, lines=chunk,
            signer=ctx.user.name or ctx.user.email, reference=f"{case.id}-{start // size + 1}",
        )
        notices.append(create_notice(scope, case, chunk, html=html, csv_text=csv_text,
                                     document_ids=[d.id for d in docs]))
    return notices


def send(ctx: Ctx, request_app: Any, notice_id: int) -> Notice:
    """Queue the notice (refused unless it is a draft) and send it once the transaction commits."""
    notice = queue_notice(ctx.scope, notice_id)
    dispatch = request_app.state.dispatch
    ctx.after_commit(lambda: dispatch(notice.id))
    return notice


def csv_text(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    return write_csv(columns, list(rows))


def alert_export_row(item: QueueItem) -> dict[str, Any]:
    d = item.as_dict()
    d["reasons"] = "; ".join(str(r.get("detail") or r.get("check")) for r in item.reasons)
    return d


def case_export_rows(ctx: Ctx, cases: list[tuple[Case, int]]) -> list[dict[str, Any]]:
    codes = dict(ctx.session.execute(sa.select(Marketplace.id, Marketplace.code)).all())
    return [
        {
            "case_id": c.id, "title": c.title, "status": c.status.value,
            "marketplace": codes.get(c.marketplace_id), "seller": c.seller,
            "grouping": c.grouping, "alerts": n, "created_by": c.created_by,
            "created_at": c.created_at.isoformat(),
            "closed_at": c.closed_at.isoformat() if c.closed_at else None,
        }
        for c, n in cases
    ]
