"""Review and enforcement operations: verdicts, cases, notices, answers, counter-notices, and the
users, sessions and tokens of the web app.

Tenant isolation lives in one place: every read and write of a rights holder's rows goes through
a ``Scope``, which adds ``rights_holder_id = <the user's>`` to the query. An object of another
rights holder is simply not found. Helpers never commit; the caller owns the transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.enforcement import (
    AnswerOutcome,
    ApiToken,
    Case,
    CaseAlert,
    CaseEvent,
    CaseStatus,
    CounterNotice,
    CounterNoticeStatus,
    ListingCheck,
    MarketplaceAnswer,
    MemberState,
    Notice,
    NoticeStatus,
    RightsDocument,
    WebSession,
)
from db.listings import decompress
from db.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    AuthorisedSeller,
    CrawlRun,
    CrawlSighting,
    CrawlStatus,
    EvidenceSnapshot,
    Listing,
    Mark,
    Marketplace,
    Product,
    RightsHolder,
    Role,
    User,
    Watch,
)
from db.types import utcnow

T = TypeVar("T")


class NotFound(LookupError):
    """No such object for this rights holder (it may exist for another: we do not say)."""


class Refused(ValueError):
    """A state change that the lifecycle does not allow (an illegal transition, a resend)."""


# --- the tenant scope --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """One rights holder's view of the store, acting as one person."""

    session: Session
    rights_holder_id: int
    actor: str  # the user's e-mail, written into every event

    def select(self, model: type[T]) -> sa.Select[tuple[T]]:
        return sa.select(model).where(model.rights_holder_id == self.rights_holder_id)  # type: ignore[attr-defined]

    def get(self, model: type[T], obj_id: int) -> T:
        obj = self.session.scalar(self.select(model).where(model.id == obj_id))  # type: ignore[attr-defined]
        if obj is None:
            raise NotFound(f"{model.__name__} {obj_id} not found")
        return obj

    def get_for_update(self, model: type[T], obj_id: int) -> T:
        q = self.select(model).where(model.id == obj_id)  # type: ignore[attr-defined]
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        obj = self.session.scalar(q)
        if obj is None:
            raise NotFound(f"{model.__name__} {obj_id} not found")
        return obj


# --- verdicts ----------------------------------------------------------------------------------

#: action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[AlertStatus], AlertStatus]] = {
    "review": (frozenset({AlertStatus.NEW}), AlertStatus.IN_REVIEW),
    "confirm": (frozenset({AlertStatus.NEW, AlertStatus.IN_REVIEW}), AlertStatus.CONFIRMED),
    "dismiss": (frozenset({AlertStatus.NEW, AlertStatus.IN_REVIEW}), AlertStatus.DISMISSED),
    "reopen": (frozenset({AlertStatus.CONFIRMED, AlertStatus.DISMISSED}), AlertStatus.IN_REVIEW),
}

#: Why an alert was dismissed. Counted, so the matcher can be tuned from them.
DISMISS_REASONS: dict[str, str] = {
    "authorised_seller": "Authorised seller or own store",
    "genuine_product": "Genuine product (resale)",
    "nominative_use": "Nominative use (compatible with, for)",
    "unrelated_class": "Same word, unrelated goods",
    "dictionary_word": "Ordinary word, not the mark",
    "not_our_mark": "Another company's mark",
    "duplicate": "Duplicate listing",
    "other": "Other (see note)",
}


@dataclass
class VerdictOutcome:
    changed: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def transition(
    scope: Scope,
    alert_ids: Sequence[int],
    action: str,
    *,
    reason: str | None = None,
    note: str | None = None,
    strict: bool = True,
) -> VerdictOutcome:
    """Move alerts along the review lifecycle, writing one append-only event per change.

    ``strict``: an alert that cannot make the move raises Refused (single verdicts); otherwise it
    is reported in ``refused`` and the others go ahead (bulk verdicts). Alerts of another rights
    holder are NotFound either way.
    """
    if action not in TRANSITIONS:
        raise Refused(f"unknown action {action!r}")
    sources, target = TRANSITIONS[action]
    if action == "dismiss":
        if reason not in DISMISS_REASONS:
            raise Refused("a dismissal needs one of the reasons: " + ", ".join(DISMISS_REASONS))
    elif reason is not None and action != "reopen":
        reason = None
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        raise Refused("no alerts given")
    found = {
        a.id: a
        for a in scope.session.scalars(scope.select(Alert).where(Alert.id.in_(ids)))
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"alerts not found: {missing[:20]}")
    out = VerdictOutcome()
    in_case = set(
        scope.session.scalars(sa.select(CaseAlert.alert_id).where(CaseAlert.alert_id.in_(ids)))
    )
    for i in ids:
        alert = found[i]
        before = alert.status
        why = None
        if before not in sources:
            why = f"cannot {action} an alert that is {before.value}"
        elif action == "reopen" and i in in_case:
            why = "the alert is in a case; take it out of the case first"
        if why:
            if strict:
                raise Refused(why)
            out.refused[i] = why
            continue
        # Conditional update: a concurrent verdict on the same alert makes this one a no-op.
        res = scope.session.execute(
            sa.update(Alert)
            .where(Alert.id == i, Alert.status == before)
            .values(status=target, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            if strict:
                raise Refused("the alert changed meanwhile; reload it")
            out.refused[i] = "changed meanwhile"
            continue
        scope.session.add(
            AlertEvent(
                alert_id=i,
                actor=scope.actor,
                action=action,
                from_status=before.value,
                to_status=target.value,
                reason=reason,
                details={"note": note} if note else {},
            )
        )
        out.changed.append(i)
    scope.session.flush()
    for i in out.changed:
        scope.session.expire(found[i])
    return out


def dismiss_reason_counts(scope: Scope) -> dict[str, int]:
    """Dismissals per reason (current dismissals only: a reopened alert no longer counts)."""
    last = (
        sa.select(AlertEvent.alert_id, sa.func.max(AlertEvent.id).label("eid"))
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id)
        .where(Alert.status == AlertStatus.DISMISSED, AlertEvent.action == "dismiss")
        .group_by(AlertEvent.alert_id)
        .subquery()
    )
    q = (
        sa.select(AlertEvent.reason, sa.func.count())
        .join(last, last.c.eid == AlertEvent.id)
        .group_by(AlertEvent.reason)
    )
    counts = {k: 0 for k in DISMISS_REASONS}
    for reason, n in scope.session.execute(q):
        counts[reason or "other"] = counts.get(reason or "other", 0) + n
    return counts


# --- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    mark_id: int | None = None
    marketplace: str | None = None
    tier: str | None = None
    seller: str | None = None
    since: date | None = None
    until: date | None = None
    min_score: int | None = None


@dataclass(frozen=True)
class QueueItem:
    alert_id: int
    status: str
    score: int
    tier: str
    kind: str
    mark: str
    mark_id: int
    marketplace: str
    seller: str | None
    price: Any
    currency: str | None
    title: str
    url: str
    reasons: list[dict[str, Any]]
    created_at: datetime
    case_id: int | None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["price"] = None if self.price is None else str(self.price)
        d["created_at"] = self.created_at.isoformat()
        return d


def encode_cursor(score: int, alert_id: int) -> str:
    return f"{score}.{alert_id}"


def decode_cursor(cursor: str | None) -> tuple[int, int] | None:
    if not cursor:
        return None
    try:
        s, i = cursor.split(".", 1)
        score, alert_id = int(s), int(i)
    except ValueError:
        raise Refused("bad cursor") from None
    if not (-1 <= score <= 1000 and 0 <= alert_id < 2**31):
        raise Refused("bad cursor")
    return score, alert_id


def _filtered(scope: Scope, f: QueueFilters, *, with_status: bool = True) -> sa.Select[Any]:
    q = (
        sa.select(Alert, Listing, Mark, Marketplace, CaseAlert.case_id)
        .join(Listing, Alert.listing_id == Listing.id)
        .join(Mark, Alert.mark_id == Mark.id)
        .join(Marketplace, Listing.marketplace_id == Marketplace.id)
        .outerjoin(CaseAlert, CaseAlert.alert_id == Alert.id)
        .where(Alert.rights_holder_id == scope.rights_holder_id)
    )
    if with_status and f.status:
        q = q.where(Alert.status == AlertStatus(f.status))
    if f.mark_id is not None:
        q = q.where(Alert.mark_id == f.mark_id)
    if f.marketplace:
        q = q.where(Marketplace.code == f.marketplace)
    if f.tier:
        q = q.where(Alert.tier == f.tier)
    if f.seller:
        q = q.where(Listing.seller == f.seller)
    if f.since:
        q = q.where(Alert.created_at >= datetime.combine(f.since, datetime.min.time(), UTC))
    if f.until:
        end = datetime.combine(f.until, datetime.min.time(), UTC) + timedelta(days=1)
        q = q.where(Alert.created_at < end)
    if f.min_score is not None:
        q = q.where(Alert.score >= f.min_score)
    return q


def queue_page(
    scope: Scope, f: QueueFilters, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[QueueItem], str | None]:
    """One page of the queue, highest score first, by keyset on (score desc, id desc): a deep
    page costs what the first one does."""
    q = _filtered(scope, f)
    after = decode_cursor(cursor)
    if after is not None:
        s, i = after
        q = q.where(sa.or_(Alert.score < s, sa.and_(Alert.score == s, Alert.id < i)))
    q = q.order_by(Alert.score.desc(), Alert.id.desc()).limit(limit + 1)
    rows = scope.session.execute(q).all()
    items = [_item(*r) for r in rows[:limit]]
    nxt = encode_cursor(items[-1].score, items[-1].alert_id) if len(rows) > limit else None
    return items, nxt


def queue_all(scope: Scope, f: QueueFilters, *, limit: int = 100_000) -> Iterable[QueueItem]:
    q = _filtered(scope, f).order_by(Alert.score.desc(), Alert.id.desc()).limit(limit)
    for r in scope.session.execute(q):
        yield _item(*r)


def _item(a: Alert, li: Listing, m: Mark, mk: Marketplace, case_id: int | None) -> QueueItem:
    return QueueItem(
        alert_id=a.id, status=a.status.value, score=a.score, tier=a.tier, kind=a.kind,
        mark=m.word_mark, mark_id=m.id, marketplace=mk.code, seller=li.seller, price=li.price,
        currency=li.currency, title=li.title, url=li.url, reasons=a.reasons,
        created_at=a.created_at, case_id=case_id,
    )


def status_counts(scope: Scope, f: QueueFilters | None = None) -> dict[str, int]:
    """Alerts per status under the other filters (the queue's tabs)."""
    f = f or QueueFilters()
    if f == QueueFilters() or f == QueueFilters(status=f.status):
        q = (
            sa.select(Alert.status, sa.func.count())
            .where(Alert.rights_holder_id == scope.rights_holder_id)
            .group_by(Alert.status)
        )
    else:
        sub = _filtered(scope, f, with_status=False).with_only_columns(Alert.status).subquery()
        q = sa.select(sub.c.status, sa.func.count()).group_by(sub.c.status)
    counts = {s.value: 0 for s in AlertStatus}
    for s, n in scope.session.execute(q):
        counts[AlertStatus(s).value] = n
    return counts


@dataclass
class AlertDetail:
    alert: Alert
    listing: Listing
    mark: Mark
    marketplace: Marketplace
    snapshot: EvidenceSnapshot | None
    events: list[AlertEvent]
    case_id: int | None
    product: Product | None


def alert_detail(scope: Scope, alert_id: int) -> AlertDetail:
    a = scope.get(Alert, alert_id)
    s = scope.session
    snap = s.get(EvidenceSnapshot, a.snapshot_id) if a.snapshot_id else None
    events = list(
        s.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == a.id).order_by(AlertEvent.id))
    )
    case_id = s.scalar(sa.select(CaseAlert.case_id).where(CaseAlert.alert_id == a.id))
    product = s.get(Product, a.product_id) if a.product_id else None
    return AlertDetail(a, a.listing, a.mark, a.listing.marketplace, snap, events, case_id, product)


def snapshot_html(scope: Scope, alert_id: int) -> tuple[EvidenceSnapshot, bytes]:
    a = scope.get(Alert, alert_id)
    if a.snapshot_id is None:
        raise NotFound("no evidence snapshot for this alert")
    snap = scope.session.get(EvidenceSnapshot, a.snapshot_id)
    if snap is None:
        raise NotFound("no evidence snapshot for this alert")
    return snap, decompress(snap)


# --- cases -------------------------------------------------------------------------------------


def _case_event(scope: Scope, case: Case, action: str, *, before: CaseStatus | None = None,
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
            _case_event(scope, case, "created", group_by=group_by)
        for a, li in members:
            scope.session.add(
                CaseAlert(case_id=case.id, alert_id=a.id, listing_id=li.id, added_by=scope.actor)
            )
        _case_event(scope, case, "alerts_added", alert_ids=[a.id for a, _ in members])
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
    _case_event(scope, case, "alert_removed", alert_id=alert_id)
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
    _case_event(scope, case, "closed", before=before, reason=reason)
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


# --- notices -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeLine:
    alert_id: int
    listing_id: int
    url: str
    title: str
    seller: str | None
    price: str | None
    currency: str | None
    mark: str
    registration_number: str
    office: str
    snapshot_sha256: str | None
    fetched_at: str | None
    reasons: str


def unnoticed_members(scope: Scope, case: Case) -> list[NoticeLine]:
    """The case's listings that no live notice (draft, queued, sending or sent) covers yet."""
    covered: set[int] = set()
    for ids in scope.session.scalars(
        sa.select(Notice.alert_ids).where(Notice.case_id == case.id, Notice.status != NoticeStatus.FAILED)
    ):
        covered.update(ids)
    rows = scope.session.execute(
        sa.select(Alert, Listing, Mark, EvidenceSnapshot)
        .join(CaseAlert, CaseAlert.alert_id == Alert.id)
        .join(Listing, Listing.id == Alert.listing_id)
        .join(Mark, Mark.id == Alert.mark_id)
        .outerjoin(EvidenceSnapshot, EvidenceSnapshot.id == Alert.snapshot_id)
        .where(CaseAlert.case_id == case.id)
        .order_by(Alert.score.desc(), Alert.id)
    ).all()
    lines = []
    for a, li, m, snap in rows:
        if a.id in covered:
            continue
        reasons = "; ".join(str(r.get("detail") or r.get("check")) for r in a.reasons[:5])
        lines.append(
            NoticeLine(
                alert_id=a.id, listing_id=li.id, url=li.url, title=li.title, seller=li.seller,
                price=None if li.price is None else str(li.price), currency=li.currency,
                mark=m.word_mark, registration_number=m.registration_number, office=m.office,
                snapshot_sha256=snap.sha256 if snap else None,
                fetched_at=snap.fetched_at.isoformat() if snap else None, reasons=reasons,
            )
        )
    return lines


def documents_for(scope: Scope, mark_ids: Iterable[int]) -> list[RightsDocument]:
    """The rights holder's documents for these marks, plus those for no particular mark."""
    ids = list(set(mark_ids))
    return list(
        scope.session.scalars(
            scope.select(RightsDocument)
            .where(sa.or_(RightsDocument.mark_id.is_(None), RightsDocument.mark_id.in_(ids)))
            .order_by(RightsDocument.id)
        )
    )


def create_notice(
    scope: Scope, case: Case, lines: Sequence[NoticeLine], *, html: str, csv_text: str,
    document_ids: Sequence[int],
) -> Notice:
    if case.status == CaseStatus.CLOSED:
        raise Refused("the case is closed")
    notice = Notice(
        rights_holder_id=scope.rights_holder_id, case_id=case.id,
        marketplace_id=case.marketplace_id, idempotency_key=secrets.token_hex(16),
        status=NoticeStatus.DRAFT, alert_ids=[ln.alert_id for ln in lines],
        document_ids=list(document_ids), listing_count=len(lines), html=html, csv=csv_text,
        created_by=scope.actor,
    )
    scope.session.add(notice)
    scope.session.flush()
    _case_event(scope, case, "notice_generated", notice_id=notice.id, listings=len(lines))
    return notice


def queue_notice(scope: Scope, notice_id: int) -> Notice:
    """Ask for a notice to be sent. Only a draft can be: a notice is sent at most once."""
    notice = scope.get(Notice, notice_id)
    res = scope.session.execute(
        sa.update(Notice)
        .where(Notice.id == notice.id, Notice.status == NoticeStatus.DRAFT)
        .values(status=NoticeStatus.QUEUED, queued_by=scope.actor, queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        scope.session.refresh(notice)
        raise Refused(f"the notice is {notice.status.value}; a notice is sent once")
    scope.session.refresh(notice)
    case = scope.get(Case, notice.case_id)
    _case_event(scope, case, "notice_queued", notice_id=notice.id)
    scope.session.flush()
    return notice


def claim_notice(session: Session, notice_id: int, *, now: datetime | None = None,
                 lease: timedelta = timedelta(minutes=2),
                 max_attempts: int = 5) -> Notice | None:
    """The sending task's guard: queued -> sending by one worker only, or a notice left in
    sending by a worker that died (its lease ran out) taken over for another attempt under the
    same idempotency key. None: nothing to do."""
    now = now or utcnow()
    res = session.execute(
        sa.update(Notice)
        .where(
            Notice.id == notice_id,
            Notice.attempts < max_attempts,
            sa.or_(
                Notice.status == NoticeStatus.QUEUED,
                sa.and_(Notice.status == NoticeStatus.SENDING, Notice.claimed_at < now - lease),
            ),
        )
        .values(status=NoticeStatus.SENDING, claimed_at=now, attempts=Notice.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return None
    return session.get(Notice, notice_id, populate_existing=True)


def next_attempt(session: Session, notice_id: int, *, held_since: datetime,
                 now: datetime | None = None) -> tuple[int, datetime] | None:
    """Record one more attempt of a notice this worker still holds (its claim is the one made at
    ``held_since``); renews the lease. None: the lease ran out and another worker took over."""
    now = now or utcnow()
    res = session.execute(
        sa.update(Notice)
        .where(Notice.id == notice_id, Notice.status == NoticeStatus.SENDING,
               Notice.claimed_at == held_since)
        .values(attempts=Notice.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return None
    notice = session.get(Notice, notice_id, populate_existing=True)
    assert notice is not None
    return notice.attempts, now


def stale_notices(session: Session, *, now: datetime, lease: timedelta,
                  queued_before: datetime) -> list[int]:
    """Notices whose sending worker died (lease over) or whose send message never arrived."""
    return list(session.scalars(
        sa.select(Notice.id).where(sa.or_(
            sa.and_(Notice.status == NoticeStatus.SENDING, Notice.claimed_at < now - lease),
            sa.and_(Notice.status == NoticeStatus.QUEUED, Notice.queued_at < queued_before),
        )).order_by(Notice.id)
    ))


def finish_notice(session: Session, notice_id: int, *, sender: str, ok: bool,
                  reference: str | None = None, error: str | None = None,
                  unresolved: bool = False) -> None:
    """Record how sending ended: sent, refused (failed) or, with ``unresolved``, no clear answer
    after every attempt (needs reconciliation)."""
    notice = session.get(Notice, notice_id, populate_existing=True)
    if notice is None or notice.status != NoticeStatus.SENDING:
        return
    notice.sender = sender
    if ok:
        notice.status = NoticeStatus.SENT
    elif unresolved:
        notice.status = NoticeStatus.NEEDS_RECONCILIATION
    else:
        notice.status = NoticeStatus.FAILED
    if ok:
        notice.sent_at = utcnow()
        notice.send_reference = (reference or "")[:500]
    else:
        notice.send_error = error
    case = session.get(Case, notice.case_id)
    assert case is not None
    before = case.status
    if ok and case.status in (CaseStatus.OPEN, CaseStatus.ANSWERED, CaseStatus.REOPENED):
        case.status = CaseStatus.NOTICE_SENT
    session.add(
        CaseEvent(
            case_id=case.id, actor=f"system:sender:{sender}",
            action="notice_sent" if ok else (
                "notice_needs_reconciliation" if unresolved else "notice_failed"),
            from_status=before.value, to_status=case.status.value,
            reason=None if ok else (error or "")[:2000],
            details={"notice_id": notice.id, "reference": reference},
        )
    )
    if ok:
        for m in session.scalars(
            sa.select(CaseAlert).where(CaseAlert.case_id == case.id, CaseAlert.alert_id.in_(notice.alert_ids))
        ):
            if m.state == MemberState.UNKNOWN:
                m.state = MemberState.UP
    session.flush()


def record_answer(scope: Scope, notice_id: int, outcome: str, *, note: str = "",
                  answered_on: date | None = None) -> MarketplaceAnswer:
    notice = scope.get(Notice, notice_id)
    if notice.status != NoticeStatus.SENT:
        raise Refused("only a sent notice can have an answer")
    out = AnswerOutcome(outcome)
    ans = MarketplaceAnswer(
        rights_holder_id=scope.rights_holder_id, notice_id=notice.id, outcome=out, note=note,
        answered_on=answered_on or utcnow().date(), recorded_by=scope.actor,
    )
    scope.session.add(ans)
    case = scope.get_for_update(Case, notice.case_id)
    before = case.status
    now = utcnow()
    if out == AnswerOutcome.REMOVED:
        for m in scope.session.scalars(
            sa.select(CaseAlert).where(CaseAlert.case_id == case.id, CaseAlert.alert_id.in_(notice.alert_ids))
        ):
            m.state = MemberState.REMOVED
            m.removed_at = now
    scope.session.flush()
    if case.status in (CaseStatus.NOTICE_SENT, CaseStatus.REOPENED) and _all_answered(scope, case):
        case.status = CaseStatus.ANSWERED
    _case_event(scope, case, "answer", before=before, reason=note or None,
                notice_id=notice.id, outcome=out.value)
    scope.session.flush()
    return ans


def _all_answered(scope: Scope, case: Case) -> bool:
    sent = set(scope.session.scalars(
        sa.select(Notice.id).where(Notice.case_id == case.id, Notice.status == NoticeStatus.SENT)
    ))
    answered = set(scope.session.scalars(
        sa.select(MarketplaceAnswer.notice_id).where(MarketplaceAnswer.notice_id.in_(sent))
    )) if sent else set()
    return bool(sent) and sent == answered


def record_counter_notice(scope: Scope, case_id: int, *, seller: str, received_on: date,
                          deadline: date, statement: str = "") -> CounterNotice:
    case = scope.get_for_update(Case, case_id)
    if case.status in (CaseStatus.OPEN, CaseStatus.CLOSED):
        raise Refused("a counter-notice answers a sent notice; this case has none open")
    if deadline < received_on:
        raise Refused("the deadline is before the counter-notice was received")
    cn = CounterNotice(
        rights_holder_id=scope.rights_holder_id, case_id=case.id, seller=seller,
        received_on=received_on, deadline=deadline, statement=statement, recorded_by=scope.actor,
    )
    scope.session.add(cn)
    scope.session.flush()
    _case_event(scope, case, "counter_notice", counter_notice_id=cn.id, deadline=deadline.isoformat())
    scope.session.flush()
    return cn


def resolve_counter_notice(scope: Scope, counter_id: int, status: str, resolution: str) -> CounterNotice:
    cn = scope.get_for_update(CounterNotice, counter_id)
    target = CounterNoticeStatus(status)
    if target == CounterNoticeStatus.OPEN:
        raise Refused("resolve to replied, withdrawn or accepted")
    if cn.status != CounterNoticeStatus.OPEN:
        raise Refused(f"the counter-notice is already {cn.status.value}")
    cn.status = target
    cn.resolution = resolution
    cn.resolved_by = scope.actor
    cn.resolved_at = utcnow()
    case = scope.get(Case, cn.case_id)
    _case_event(scope, case, f"counter_{target.value}", reason=resolution, counter_notice_id=cn.id)
    scope.session.flush()
    return cn


# --- re-checking the listings of open cases ----------------------------------------------------

RECHECKED = (CaseStatus.NOTICE_SENT, CaseStatus.ANSWERED, CaseStatus.REOPENED)


def listings_to_recheck(session: Session, *, limit: int = 1000) -> list[tuple[int, int, str]]:
    """(case id, listing id, url) of the listings of cases whose notice went out."""
    q = (
        sa.select(CaseAlert.case_id, Listing.id, Listing.url)
        .join(Case, Case.id == CaseAlert.case_id)
        .join(Listing, Listing.id == CaseAlert.listing_id)
        .where(Case.status.in_(RECHECKED))
        .order_by(sa.func.coalesce(CaseAlert.last_checked_at, CaseAlert.added_at), CaseAlert.case_id)
        .limit(limit)
    )
    seen = set()
    out = []
    for case_id, listing_id, url in session.execute(q):
        if (case_id, listing_id) not in seen:
            seen.add((case_id, listing_id))
            out.append((case_id, listing_id, url))
    return out


def record_check(session: Session, case_id: int, listing_id: int, *, up: bool,
                 http_status: int | None, error: str | None = None,
                 now: datetime | None = None) -> bool:
    """Record one re-fetch. A listing that was removed and is up again reopens its case.
    Returns True when the case was reopened."""
    now = now or utcnow()
    session.add(ListingCheck(case_id=case_id, listing_id=listing_id, checked_at=now,
                             http_status=http_status, up=up, error=error))
    case = session.get(Case, case_id)
    if case is None:
        return False
    members = list(session.scalars(
        sa.select(CaseAlert).where(CaseAlert.case_id == case_id, CaseAlert.listing_id == listing_id)
    ))
    reopened = False
    came_back = False
    for m in members:
        m.last_checked_at = now
        if up and m.state == MemberState.REMOVED:
            m.state = MemberState.UP
            came_back = True
        elif not up and http_status in (404, 410) and m.state != MemberState.REMOVED:
            m.state = MemberState.REMOVED
            m.removed_at = now
    if came_back:
        before = case.status
        case.status = CaseStatus.REOPENED
        case.closed_at = None
        session.add(CaseEvent(
            case_id=case.id, actor="system:recheck", action="listing_back",
            from_status=before.value, to_status=case.status.value,
            reason="a removed listing is up again", details={"listing_id": listing_id},
        ))
        reopened = True
    session.flush()
    return reopened


# --- the dashboard -----------------------------------------------------------------------------


@dataclass
class Dashboard:
    days: list[date]
    by_day: dict[str, list[int]]  # to_status -> counts per day
    counts: dict[str, int]
    precision: float | None
    per_reviewer: list[tuple[str, int, int, float]]
    detection_to_notice_hours: list[float]
    takedown: list[tuple[str, int, int, float | None]]  # marketplace, removed, answered, rate
    cleanliness: list[tuple[int, str, str, int, int, float | None]]
    dismiss_reasons: dict[str, int]


def dashboard(scope: Scope, *, days: int = 30, top_n: int = 10, today: date | None = None) -> Dashboard:
    s = scope.session
    today = today or utcnow().date()
    start = today - timedelta(days=days - 1)
    day_list = [start + timedelta(days=i) for i in range(days)]
    idx = {d: i for i, d in enumerate(day_list)}
    by_day: dict[str, list[int]] = {k: [0] * days for k in ("new", "confirmed", "dismissed")}
    q = (
        sa.select(AlertEvent.created_at, AlertEvent.to_status)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id)
        .where(AlertEvent.created_at >= datetime.combine(start, datetime.min.time(), UTC))
        .where(AlertEvent.to_status.in_(list(by_day)))
    )
    for at, to in s.execute(q):
        i = idx.get(at.date())
        if i is not None:
            by_day[to][i] += 1
    counts = status_counts(scope)

    verdicts = (
        sa.select(AlertEvent.actor, AlertEvent.action, sa.func.count())
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id)
        .where(AlertEvent.action.in_(["confirm", "dismiss"]))
        .group_by(AlertEvent.actor, AlertEvent.action)
    )
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for actor, action, n in s.execute(verdicts):
        per[actor][action] += n
    per_reviewer = []
    for actor, c in sorted(per.items()):
        tot = c["confirm"] + c["dismiss"]
        per_reviewer.append((actor, c["confirm"], c["dismiss"], c["confirm"] / tot if tot else 0.0))
    decided = counts["confirmed"] + counts["dismissed"]
    precision = counts["confirmed"] / decided if decided else None

    hours: list[float] = []
    sent = s.execute(
        scope.select(Notice).with_only_columns(Notice.sent_at, Notice.alert_ids)
        .where(Notice.status == NoticeStatus.SENT)
    ).all()
    first_sent: dict[int, datetime] = {}
    for sent_at, ids in sent:
        for i in ids:
            if i not in first_sent or sent_at < first_sent[i]:
                first_sent[i] = sent_at
    if first_sent:
        for aid, created in s.execute(
            sa.select(Alert.id, Alert.created_at).where(Alert.id.in_(list(first_sent)))
        ):
            hours.append(round((first_sent[aid] - created).total_seconds() / 3600, 2))

    answered = s.execute(
        sa.select(Marketplace.code, MarketplaceAnswer.outcome, sa.func.count())
        .join(Notice, Notice.id == MarketplaceAnswer.notice_id)
        .join(Marketplace, Marketplace.id == Notice.marketplace_id)
        .where(MarketplaceAnswer.rights_holder_id == scope.rights_holder_id)
        .group_by(Marketplace.code, MarketplaceAnswer.outcome)
    ).all()
    tk: dict[str, Counter[str]] = defaultdict(Counter)
    for code, outcome, n in answered:
        tk[code][AnswerOutcome(outcome).value] += n
    takedown = []
    for code, c in sorted(tk.items()):
        tot = sum(c.values())
        takedown.append((code, c["removed"], tot, c["removed"] / tot if tot else None))

    return Dashboard(day_list, by_day, counts, precision, per_reviewer, sorted(hours), takedown,
                     cleanliness(scope, top_n=top_n), dismiss_reason_counts(scope))


def cleanliness(scope: Scope, *, top_n: int = 10) -> list[tuple[int, str, str, int, int, float | None]]:
    """Per watch: of the listings in the top ``top_n`` search results of its latest successful
    crawl, the share that are clean (no alert for the watch's mark, or a dismissed one).
    Rows: (watch id, mark, marketplace, clean, seen, share)."""
    s = scope.session
    watches = s.execute(
        scope.select(Watch).with_only_columns(Watch.id, Watch.mark_id, Mark.word_mark, Marketplace.code)
        .join(Mark, Mark.id == Watch.mark_id)
        .join(Marketplace, Marketplace.id == Watch.marketplace_id)
        .order_by(Watch.id)
    ).all()
    out = []
    for wid, mark_id, word, code in watches:
        run_id = s.scalar(
            sa.select(CrawlRun.id).where(CrawlRun.watch_id == wid, CrawlRun.status == CrawlStatus.SUCCEEDED)
            .order_by(CrawlRun.id.desc()).limit(1)
        )
        if run_id is None:
            out.append((wid, word, code, 0, 0, None))
            continue
        top = set(s.scalars(
            sa.select(CrawlSighting.listing_id).where(
                CrawlSighting.crawl_run_id == run_id, CrawlSighting.rank.is_not(None),
                CrawlSighting.rank <= top_n,
            )
        ))
        if not top:
            out.append((wid, word, code, 0, 0, None))
            continue
        dirty = set(s.scalars(
            sa.select(Alert.listing_id).where(
                Alert.rights_holder_id == scope.rights_holder_id, Alert.mark_id == mark_id,
                Alert.listing_id.in_(top), Alert.status != AlertStatus.DISMISSED,
            )
        ))
        clean = len(top - dirty)
        out.append((wid, word, code, clean, len(top), clean / len(top)))
    return out


# --- registry views (reads; writes go through db.registry) -------------------------------------


def registry_view(scope: Scope) -> dict[str, list[Any]]:
    s = scope.session
    return {
        "marks": list(s.scalars(scope.select(Mark).order_by(Mark.word_mark, Mark.id))),
        "products": list(s.scalars(scope.select(Product).order_by(Product.name))),
        "sellers": list(s.scalars(scope.select(AuthorisedSeller).order_by(AuthorisedSeller.seller_name))),
        "watches": list(s.scalars(scope.select(Watch).order_by(Watch.id))),
        "documents": list(s.scalars(scope.select(RightsDocument).order_by(RightsDocument.id))),
        "marketplaces": list(s.scalars(sa.select(Marketplace).order_by(Marketplace.code))),
    }


def scoped_csv(text: str, slug: str, *, column: str = "rights_holder") -> str:
    """A registry CSV made to name only this rights holder: an empty or missing column is
    filled in, another holder's slug is an error (reported with its line)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    if column not in header:
        header.insert(0, column)
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    w.writeheader()
    errors = []
    for row in reader:
        if None in row:
            errors.append((reader.line_num, "more fields than the header has columns"))
            continue
        given = (row.get(column) or "").strip()
        if given and given != slug:
            errors.append((reader.line_num, f"rights_holder must be {slug!r} (yours), got {given[:80]!r}"))
            continue
        row[column] = slug
        w.writerow(row)
    if errors:
        from db.registry import RegistryImportError

        raise RegistryImportError("upload", errors)
    return out.getvalue()


def add_document(scope: Scope, *, title: str, filename: str, content_type: str, body: bytes,
                 mark_id: int | None) -> RightsDocument:
    if mark_id is not None:
        scope.get(Mark, mark_id)
    doc = RightsDocument(
        rights_holder_id=scope.rights_holder_id, mark_id=mark_id, title=title,
        filename=filename, content_type=content_type, sha256=hashlib.sha256(body).hexdigest(),
        size=len(body), body=body, uploaded_by=scope.actor,
    )
    scope.session.add(doc)
    scope.session.flush()
    return doc


# --- people: users, sessions, tokens -----------------------------------------------------------

SESSION_DAYS = 7


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def create_user(session: Session, *, rights_holder_id: int, email: str, name: str, role: str,
                password_hash: str) -> User:
    if find_user(session, email) is not None:
        raise Refused("a user with this e-mail exists")
    user = User(rights_holder_id=rights_holder_id, email=email.strip(), name=name,
                role=Role(role), password_hash=password_hash, active=True)
    session.add(user)
    session.flush()
    return user


def start_session(session: Session, user: User, *, now: datetime | None = None) -> tuple[str, WebSession]:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    ws = WebSession(token_hash=token_digest(token), user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32), expires_at=now + timedelta(days=SESSION_DAYS))
    session.add(ws)
    session.flush()
    return token, ws


def session_user(session: Session, token: str, *, now: datetime | None = None) -> tuple[WebSession, User] | None:
    now = now or utcnow()
    row = session.execute(
        sa.select(WebSession, User).join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    ws, user = row
    if ws.expires_at <= now or not user.active:
        return None
    return ws, user


def end_session(session: Session, token: str) -> None:
    session.execute(sa.delete(WebSession).where(WebSession.token_hash == token_digest(token)))


def create_token(session: Session, user: User, name: str) -> tuple[str, ApiToken]:
    raw = "mwt_" + secrets.token_urlsafe(32)
    tok = ApiToken(rights_holder_id=user.rights_holder_id, user_id=user.id, name=name,
                   prefix=raw[:12], token_hash=token_digest(raw))
    session.add(tok)
    session.flush()
    return raw, tok


def token_user(session: Session, raw: str) -> User | None:
    row = session.execute(
        sa.select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(raw), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    tok, user = row
    if not user.active or user.rights_holder_id != tok.rights_holder_id:
        return None
    return user


def revoke_token(scope: Scope, token_id: int) -> None:
    tok = scope.get(ApiToken, token_id)
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
    scope.session.flush()


def holder(session: Session, rights_holder_id: int) -> RightsHolder:
    rh = session.get(RightsHolder, rights_holder_id)
    assert rh is not None
    return rh
