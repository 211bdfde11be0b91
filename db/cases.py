"""Cases: confirmed alerts grouped by seller or marketplace, their events, seller histories and
repeat infringers."""


from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from db.enforcement import (
    Case,
    CaseAlert,
    CaseEvent,
    CaseStatus,
    CounterNotice,
    CounterNoticeStatus,
    ListingCheck,
    MarketplaceAnswer,
    Notice,
    NoticeStatus,
)
from db.models import (
    Alert,
    AlertStatus,
    Listing,
    Mark,
    Marketplace,
)
from db.tenancy import NotFound, Refused, Scope
from db.types import utcnow


def case_event(scope: Scope, case: Case, action: str, *, before: CaseStatus | None = None,
                reason: str | None = None, **details: Any) -> None:
    scope.session.add(
        CaseEvent(
            case_id=case.id, actor=scope.actor, action=action,
            from_status=before.value if before else None,
            to_status=case.status.value, reason=reason, details=details,
        )
    )


def build_cases(scope: Scope, alert_ids: Sequence[int], *, group_by: str = "seller") -> list[int]:
    """Group confirmed alerts into cases, one per (marketplace, seller) or per marketplace. An
    alert joins the open case of its group if there is one; an alert already in a case, or not
    confirmed, is refused."""
    if group_by not in ("seller", "marketplace"):
        raise Refused("group_by is seller or marketplace")
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        raise Refused("no alerts given")
    rows = scope.session.execute(
        sa.select(Alert, Listing)
        .join(Listing, Listing.id == Alert.listing_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id, Alert.id.in_(ids))
    ).all()
    if len(rows) != len(ids):
        found = {a.id for a, _ in rows}
        raise NotFound(f"alerts not found: {[i for i in ids if i not in found][:20]}")
    taken = set(scope.session.scalars(sa.select(CaseAlert.alert_id).where(CaseAlert.alert_id.in_(ids))))
    bad = [a.id for a, _ in rows if a.status != AlertStatus.CONFIRMED or a.id in taken]
    if bad:
        raise Refused(f"only confirmed alerts that are in no case can be grouped: {bad[:20]}")
    groups: dict[tuple[int, str | None], list[tuple[Alert, Listing]]] = defaultdict(list)
    for a, li in rows:
        key = (li.marketplace_id, li.seller if group_by == "seller" else None)
        groups[key].append((a, li))
    case_ids = []
    for (market_id, seller), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        case = scope.session.scalar(
            scope.select(Case).where(
                Case.marketplace_id == market_id,
                Case.grouping == group_by,
                Case.status == CaseStatus.OPEN,
                Case.seller.is_(None) if seller is None else Case.seller == seller,
            )
        )
        if case is None:
            market = scope.session.get(Marketplace, market_id)
            assert market is not None
            title = f"{seller or 'several sellers'} on {market.name}"
            case = Case(
                rights_holder_id=scope.rights_holder_id, marketplace_id=market_id,
                seller=seller, title=title[:300], grouping=group_by, status=CaseStatus.OPEN,
                created_by=scope.actor,
            )
            scope.session.add(case)
            scope.session.flush()
            case_event(scope, case, "created", group_by=group_by)
        for a, li in members:
            scope.session.add(
                CaseAlert(case_id=case.id, alert_id=a.id, listing_id=li.id, added_by=scope.actor)
            )
        case_event(scope, case, "alerts_added", alert_ids=[a.id for a, _ in members])
        case_ids.append(case.id)
    scope.session.flush()
    return case_ids


def remove_from_case(scope: Scope, case_id: int, alert_id: int) -> None:
    case = scope.get_for_update(Case, case_id)
    if case.status != CaseStatus.OPEN:
        raise Refused("alerts can be taken out of an open case only")
    member = scope.session.get(CaseAlert, {"case_id": case.id, "alert_id": alert_id})
    if member is None:
        raise NotFound("the alert is not in this case")
    if _alert_in_live_notice(scope, case.id, alert_id):
        raise Refused("the alert is in a notice; it stays in the case")
    scope.session.delete(member)
    case_event(scope, case, "alert_removed", alert_id=alert_id)
    scope.session.flush()


def _alert_in_live_notice(scope: Scope, case_id: int, alert_id: int) -> bool:
    for ids in scope.session.scalars(
        sa.select(Notice.alert_ids).where(Notice.case_id == case_id, Notice.status != NoticeStatus.FAILED)
    ):
        if alert_id in ids:
            return True
    return False


@dataclass
class CaseView:
    case: Case
    members: list[tuple[CaseAlert, Alert, Listing, Mark]]
    notices: list[Notice]
    answers: dict[int, list[MarketplaceAnswer]]
    counter_notices: list[CounterNotice]
    events: list[CaseEvent]
    checks: list[ListingCheck]


def case_view(scope: Scope, case_id: int) -> CaseView:
    case = scope.get(Case, case_id)
    s = scope.session
    members = [
        tuple(r)
        for r in s.execute(
            sa.select(CaseAlert, Alert, Listing, Mark)
            .join(Alert, Alert.id == CaseAlert.alert_id)
            .join(Listing, Listing.id == CaseAlert.listing_id)
            .join(Mark, Mark.id == Alert.mark_id)
            .where(CaseAlert.case_id == case.id)
            .order_by(Alert.score.desc(), Alert.id)
        )
    ]
    notices = list(s.scalars(sa.select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)))
    answers: dict[int, list[MarketplaceAnswer]] = defaultdict(list)
    if notices:
        for ans in s.scalars(
            sa.select(MarketplaceAnswer)
            .where(MarketplaceAnswer.notice_id.in_([n.id for n in notices]))
            .order_by(MarketplaceAnswer.id)
        ):
            answers[ans.notice_id].append(ans)
    counters = list(
        s.scalars(sa.select(CounterNotice).where(CounterNotice.case_id == case.id).order_by(CounterNotice.id))
    )
    events = list(s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    checks = list(
        s.scalars(
            sa.select(ListingCheck).where(ListingCheck.case_id == case.id)
            .order_by(ListingCheck.id.desc()).limit(50)
        )
    )
    return CaseView(case, members, notices, dict(answers), counters, events, checks)  # type: ignore[arg-type]


def list_cases(scope: Scope, *, status: str | None = None, limit: int = 500) -> list[tuple[Case, int]]:
    n = (
        sa.select(CaseAlert.case_id, sa.func.count().label("n"))
        .group_by(CaseAlert.case_id)
        .subquery()
    )
    q = (
        sa.select(Case, sa.func.coalesce(n.c.n, 0))
        .outerjoin(n, n.c.case_id == Case.id)
        .where(Case.rights_holder_id == scope.rights_holder_id)
        .order_by(Case.id.desc())
        .limit(limit)
    )
    if status:
        q = q.where(Case.status == CaseStatus(status))
    return [(c, k) for c, k in scope.session.execute(q)]


def close_case(scope: Scope, case_id: int, reason: str) -> Case:
    case = scope.get_for_update(Case, case_id)
    if case.status == CaseStatus.CLOSED:
        raise Refused("the case is already closed")
    if any(c.status == CounterNoticeStatus.OPEN for c in scope.session.scalars(
        sa.select(CounterNotice).where(CounterNotice.case_id == case.id)
    )):
        raise Refused("a counter-notice is still open")
    before = case.status
    case.status = CaseStatus.CLOSED
    case.closed_at = utcnow()
    case_event(scope, case, "closed", before=before, reason=reason)
    scope.session.flush()
    return case


@dataclass
class SellerHistory:
    seller: str
    marketplace: Marketplace
    cases: list[Case]
    alerts: list[tuple[Alert, Listing, Mark, int | None]]


def seller_history(scope: Scope, marketplace_code: str, seller: str) -> SellerHistory:
    market = scope.session.scalar(sa.select(Marketplace).where(Marketplace.code == marketplace_code))
    if market is None:
        raise NotFound("no such marketplace")
    alerts = [
        tuple(r)
        for r in scope.session.execute(
            sa.select(Alert, Listing, Mark, CaseAlert.case_id)
            .join(Listing, Listing.id == Alert.listing_id)
            .join(Mark, Mark.id == Alert.mark_id)
            .outerjoin(CaseAlert, CaseAlert.alert_id == Alert.id)
            .where(Alert.rights_holder_id == scope.rights_holder_id)
            .where(Listing.marketplace_id == market.id, Listing.seller == seller)
            .order_by(Alert.created_at.desc(), Alert.id.desc())
            .limit(1000)
        )
    ]
    case_ids = {r[3] for r in alerts if r[3] is not None}
    cases = list(
        scope.session.scalars(
            scope.select(Case).where(
                sa.or_(Case.id.in_(case_ids), sa.and_(Case.marketplace_id == market.id, Case.seller == seller))
            ).order_by(Case.id)
        )
    )
    if not alerts and not cases:
        raise NotFound("no alerts for this seller")
    return SellerHistory(seller, market, cases, alerts)  # type: ignore[arg-type]


def repeat_infringers(scope: Scope, *, min_cases: int = 2) -> list[tuple[str, str, int, int]]:
    """(marketplace code, seller, cases, confirmed alerts) for sellers in several cases."""
    q = (
        sa.select(Marketplace.code, Listing.seller, sa.func.count(sa.distinct(CaseAlert.case_id)),
                  sa.func.count(CaseAlert.alert_id))
        .select_from(CaseAlert)
        .join(Case, Case.id == CaseAlert.case_id)
        .join(Listing, Listing.id == CaseAlert.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .where(Case.rights_holder_id == scope.rights_holder_id, Listing.seller.is_not(None))
        .group_by(Marketplace.code, Listing.seller)
        .having(sa.func.count(sa.distinct(CaseAlert.case_id)) >= min_cases)
        .order_by(sa.func.count(sa.distinct(CaseAlert.case_id)).desc())
    )
    return [tuple(r) for r in scope.session.execute(q)]  # type: ignore[misc]


