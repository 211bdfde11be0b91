"""The alert queue: filters, keyset pages, counts per status, and an alert's detail and evidence."""


from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from db.alerts import marks_of, matched_mark
from db.captures import capture_body
from db.enforcement import (
    CaseAlert,
)
from db.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    EvidenceSnapshot,
    Listing,
    Mark,
    Marketplace,
    Product,
)
from db.tenancy import NotFound, Refused, Scope
from storage import ObjectStore


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
    marks: tuple[str, ...] = ()  # every matched mark, the best (``mark``) first

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["marks"] = list(self.marks)
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


def _filtered(scope: Scope, f: QueueFilters, *, with_status: bool = True
              ) -> sa.Select[*tuple[Any, ...]]:
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
        q = q.where(matched_mark(mark_id=f.mark_id))
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
    words = marks_of(scope.session, [r[0].id for r in rows[:limit]])
    items = [_item(a, li, m, mk, case_id, marks=words[a.id]) for a, li, m, mk, case_id in rows[:limit]]
    nxt = encode_cursor(items[-1].score, items[-1].alert_id) if len(rows) > limit else None
    return items, nxt


def alert_after(scope: Scope, f: QueueFilters, alert_id: int) -> int | None:
    """The alert that follows ``alert_id`` in the queue under ``f`` (score desc, id desc), whether
    or not ``alert_id`` itself still passes the filters (a verdict usually moves it out)."""
    a = scope.get(Alert, alert_id)
    q = (_filtered(scope, f).with_only_columns(Alert.id)
         .where(sa.or_(Alert.score < a.score, sa.and_(Alert.score == a.score, Alert.id < a.id)))
         .order_by(Alert.score.desc(), Alert.id.desc()).limit(1))
    found: int | None = scope.session.scalar(q)
    return found


def queue_all(scope: Scope, f: QueueFilters, *, limit: int = 100_000) -> Iterable[QueueItem]:
    q = _filtered(scope, f).order_by(Alert.score.desc(), Alert.id.desc()).limit(limit)
    for part in scope.session.execute(q).partitions(1000):
        words = marks_of(scope.session, [r[0].id for r in part])
        for a, li, m, mk, case_id in part:
            yield _item(a, li, m, mk, case_id, marks=words[a.id])


def _item(a: Alert, li: Listing, m: Mark, mk: Marketplace, case_id: int | None,
          marks: list[str] | None = None) -> QueueItem:
    return QueueItem(
        alert_id=a.id, status=a.status.value, score=a.score, tier=a.tier, kind=a.kind,
        mark=m.word_mark, mark_id=m.id, marketplace=mk.code, seller=li.seller, price=li.price,
        currency=li.currency, title=li.title, url=li.url, reasons=a.reasons,
        created_at=a.created_at, case_id=case_id, marks=tuple(marks or (m.word_mark,)),
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
    mark: Mark  # the best of the matched marks
    marketplace: Marketplace
    snapshot: EvidenceSnapshot | None
    events: list[AlertEvent]
    case_id: int | None
    product: Product | None
    marks: list[Mark] = field(default_factory=list)  # every matched mark, the best first


def alert_detail(scope: Scope, alert_id: int) -> AlertDetail:
    a = scope.get(Alert, alert_id)
    s = scope.session
    snap = s.get(EvidenceSnapshot, a.snapshot_id) if a.snapshot_id else None
    events = list(
        s.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == a.id).order_by(AlertEvent.id))
    )
    case_id = s.scalar(sa.select(CaseAlert.case_id).where(CaseAlert.alert_id == a.id))
    product = s.get(Product, a.product_id) if a.product_id else None
    marks = [am.mark for am in a.matched_marks]
    marks.sort(key=lambda m: m.id != a.mark_id)  # stable: then by score, as loaded
    return AlertDetail(a, a.listing, a.mark, a.listing.marketplace, snap, events, case_id, product,
                       marks or [a.mark])


def snapshot_html(scope: Scope, alert_id: int, store: ObjectStore) -> tuple[EvidenceSnapshot,
                                                                            bytes]:
    """The alert's captured page, read from the evidence store and checked against its
    SHA-256. A page that cannot be read raises CaptureUnreadable."""
    a = scope.get(Alert, alert_id)
    if a.snapshot_id is None:
        raise NotFound("no evidence snapshot for this alert")
    snap = scope.session.get(EvidenceSnapshot, a.snapshot_id)
    if snap is None:
        raise NotFound("no evidence snapshot for this alert")
    return snap, capture_body(store, snap)


