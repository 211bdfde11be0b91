"""Notices (store side): building them from a case, queueing, the sending lease, the marketplace's
answers and sellers' counter-notices. Rendering and senders live in ``markwatch.notices``."""


import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.cases import case_event
from db.enforcement import (
    AnswerOutcome,
    Case,
    CaseAlert,
    CaseEvent,
    CaseStatus,
    CounterNotice,
    CounterNoticeStatus,
    MarketplaceAnswer,
    MemberState,
    Notice,
    NoticeStatus,
    RightsDocument,
)
from db.models import (
    Alert,
    EvidenceSnapshot,
    Listing,
    Mark,
)
from db.session import rowcount
from db.tenancy import Refused, Scope
from db.types import utcnow


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
    case_event(scope, case, "notice_generated", notice_id=notice.id, listings=len(lines))
    return notice


def queue_notice(scope: Scope, notice_id: int) -> Notice:
    """Ask for a notice to be sent: a draft, or a queued one whose send never started (asked
    again). Any other state is refused: a notice is sent at most once."""
    notice = scope.get(Notice, notice_id)
    res = scope.session.execute(
        sa.update(Notice)
        .where(Notice.id == notice.id, Notice.status == NoticeStatus.DRAFT)
        .values(status=NoticeStatus.QUEUED, queued_by=scope.actor, queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    action = "notice_queued"
    if rowcount(res) != 1:
        scope.session.refresh(notice)
        if notice.status != NoticeStatus.QUEUED:
            raise Refused(f"the notice is {notice.status.value}; a notice is sent once")
        # queued, but its send never started (a lost message; in embedded mode a sending thread
        # that died before its claim): ask again. The claim still lets one attempt through.
        action = "notice_requeued"
    scope.session.refresh(notice)
    case = scope.get(Case, notice.case_id)
    case_event(scope, case, action, notice_id=notice.id)
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
    if rowcount(res) != 1:
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
    if rowcount(res) != 1:
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
    case_event(scope, case, "answer", before=before, reason=note or None,
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
    case_event(scope, case, "counter_notice", counter_notice_id=cn.id, deadline=deadline.isoformat())
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
    case_event(scope, case, f"counter_{target.value}", reason=resolution, counter_notice_id=cn.id)
    scope.session.flush()
    return cn


