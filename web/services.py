"""Operations the pages and the API share, on top of the ``db`` review modules (tenancy, verdicts, alert_queue, cases, notices, dashboard, accounts) (always through the scope)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from db.accounts import holder
from db.alert_queue import QueueItem
from db.enforcement import Case, Notice, NoticeStatus
from db.models import Alert, Mark, Marketplace
from db.notice_support import refusal, supports
from db.notices import create_notice, documents_for, queue_notice, unnoticed_members
from db.tenancy import Refused
from db.types import utcnow
from markwatch.notices import limit_for, render_notice, sign_notice, write_csv
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
    today = utcnow().date()
    notices = []
    for start in range(0, len(lines), size):
        chunk = lines[start:start + size]
        regs = {ln.registration_number for ln in chunk}
        marks = list(ctx.session.scalars(
            scope.select(Mark).where(Mark.registration_number.in_(regs)).order_by(Mark.id)
        ))
        why = refusal(supports(marks, market, today))
        if why:
            raise Refused(f"No notice to {market.name}: {why}")
        docs = documents_for(scope, [m.id for m in marks])
        html, csv_text = render_notice(
            holder=rh, marketplace=market, case=case, marks=marks, documents=docs, lines=chunk,
            reference=f"{case.id}-{start // size + 1}",
        )
        notices.append(create_notice(scope, case, chunk, html=html, csv_text=csv_text,
                                     document_ids=[d.id for d in docs]))
    return notices


class NeedsConfirmation(Refused):
    """Sending needs the person's explicit yes (no rights documents attached)."""


def send(ctx: Ctx, request_app: Any, notice_id: int, *, signatory: str | None = None,
         without_documents: bool = False) -> Notice:
    """Sign the notice with the name of the person sending it, queue it (refused unless it is a
    draft) and send it once the transaction commits.

    A notice with no rights documents is weak (a marketplace usually asks for the registration
    certificate): it goes only when the sender said so. ``signatory`` defaults to the user's
    name; a notice is never signed by a role or a company."""
    check_before_sending(ctx, notice_id)
    draft = ctx.scope.get(Notice, notice_id)
    name = " ".join((signatory or ctx.user.name or "").split())
    if draft.status is NoticeStatus.DRAFT:
        if not name:
            raise Refused("a notice is signed by the named person who sends it: give your full "
                          "name as the signatory (or add it to your account)")
        if not draft.document_ids and not without_documents:
            raise NeedsConfirmation(
                "no rights documents are attached to this notice: marketplaces usually ask for "
                "the registration certificate. Upload it under Registry and generate the notice "
                "again, or confirm that it goes without them")
        rh = holder(ctx.session, ctx.scope.rights_holder_id)
        draft.html = sign_notice(draft.html, name=name, email=ctx.user.email, holder=rh.name,
                                 when=utcnow())
        ctx.session.flush()
    notice = queue_notice(ctx.scope, notice_id)
    dispatch = request_app.state.dispatch
    ctx.after_commit(lambda: dispatch(notice.id))
    return notice


def notice_marks(ctx: Ctx, notice: Notice) -> list[Mark]:
    """The marks a notice rests on (those of its listings' alerts)."""
    return list(ctx.session.scalars(
        ctx.scope.select(Mark).join(Alert, Alert.mark_id == Mark.id)
        .where(Alert.id.in_(notice.alert_ids)).distinct().order_by(Mark.id)
    ))


def check_before_sending(ctx: Ctx, notice_id: int) -> None:
    """A draft written while its marks were valid may wait: a mark that expired or was retired
    since, or a marketplace that changed its countries, stops it here."""
    notice = ctx.scope.get(Notice, notice_id)
    market = ctx.session.get(Marketplace, notice.marketplace_id)
    assert market is not None
    why = refusal(supports(notice_marks(ctx, notice), market, utcnow().date()))
    if why:
        raise Refused(f"Not sent: {why}")


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
