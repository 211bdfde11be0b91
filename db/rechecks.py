"""Re-checking the listings of open cases: which to fetch, and what a fetch found."""


from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.enforcement import (
    Case,
    CaseAlert,
    CaseEvent,
    CaseStatus,
    ListingCheck,
    MemberState,
)
from db.models import (
    Listing,
)
from db.types import utcnow

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


