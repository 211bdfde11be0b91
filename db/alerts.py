"""Alerts: the review queue. Creating them is idempotent; their history is append-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Alert, AlertEvent, AlertStatus, Listing, Mark, Marketplace, RightsHolder

SYSTEM_ACTOR = "system:matcher"


@dataclass(frozen=True)
class Finding:
    """What the matcher found, as the store records it (plain values, no matcher import)."""

    rights_holder_id: int
    mark_id: int
    kind: str
    score: int
    tier: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    product_id: int | None = None


@dataclass
class RecordOutcome:
    created: list[int] = field(default_factory=list)
    rescored: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"alerts need ON CONFLICT support; {dialect} is not supported")


def record_findings(
    session: Session,
    listing_id: int,
    findings: Sequence[Finding],
    *,
    snapshot_id: int | None,
    actor: str = SYSTEM_ACTOR,
) -> RecordOutcome:
    """Create one alert per (listing, mark), or rescore the existing one. Running it twice with
    the same findings changes nothing; two workers racing on it create one alert, not an error."""
    out = RecordOutcome()
    insert = _insert(session)
    for f in findings:
        stmt = (
            insert(Alert)
            .values(
                rights_holder_id=f.rights_holder_id,
                listing_id=listing_id,
                mark_id=f.mark_id,
                product_id=f.product_id,
                snapshot_id=snapshot_id,
                kind=f.kind,
                score=f.score,
                tier=f.tier,
                reasons=f.reasons,
                status=AlertStatus.NEW.value,
                created_at=_now(),
                updated_at=_now(),
            )
            .on_conflict_do_nothing(index_elements=["listing_id", "mark_id"])
            .returning(Alert.id)
        )
        new_id = session.execute(stmt).scalar()
        if new_id is not None:
            session.add(
                AlertEvent(
                    alert_id=new_id,
                    actor=actor,
                    action="created",
                    to_status=AlertStatus.NEW.value,
                    details={"score": f.score, "tier": f.tier, "kind": f.kind},
                )
            )
            out.created.append(new_id)
            continue
        alert = session.scalar(
            sa.select(Alert).filter_by(listing_id=listing_id, mark_id=f.mark_id)
        )
        assert alert is not None
        if (alert.score, alert.tier, alert.kind, alert.reasons) == (
            f.score,
            f.tier,
            f.kind,
            f.reasons,
        ):
            out.unchanged.append(alert.id)
            continue
        before = {"score": alert.score, "tier": alert.tier, "kind": alert.kind}
        alert.score, alert.tier, alert.kind, alert.reasons = f.score, f.tier, f.kind, f.reasons
        if snapshot_id is not None:
            alert.snapshot_id = snapshot_id
        session.add(
            AlertEvent(
                alert_id=alert.id,
                actor=actor,
                action="rescored",
                details={"before": before, "after": {"score": f.score, "tier": f.tier}},
            )
        )
        out.rescored.append(alert.id)
    session.flush()
    return out


def _now() -> datetime:
    from db.types import utcnow

    return utcnow()


@dataclass(frozen=True)
class QueueRow:
    alert_id: int
    status: str
    score: int
    tier: str
    kind: str
    rights_holder: str
    mark: str
    marketplace: str
    seller: str | None
    price: Decimal | None
    currency: str | None
    title: str
    url: str
    reasons: list[dict[str, Any]]
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["price"] = None if self.price is None else str(self.price)
        d["created_at"] = self.created_at.isoformat()
        return d


def alert_queue(
    session: Session,
    *,
    status: str | None = None,
    mark: str | None = None,
    marketplace: str | None = None,
    min_score: int | None = None,
    rights_holder: str | None = None,
    limit: int | None = None,
) -> list[QueueRow]:
    """The alert queue, highest score first, with optional filters."""
    q = (
        sa.select(Alert, Listing, Mark, Marketplace, RightsHolder)
        .join(Listing, Alert.listing_id == Listing.id)
        .join(Mark, Alert.mark_id == Mark.id)
        .join(Marketplace, Listing.marketplace_id == Marketplace.id)
        .join(RightsHolder, Alert.rights_holder_id == RightsHolder.id)
        .order_by(Alert.score.desc(), Alert.id)
    )
    if status:
        q = q.where(Alert.status == AlertStatus(status))
    if mark:
        q = q.where(sa.func.lower(Mark.word_mark) == mark.lower())
    if marketplace:
        q = q.where(Marketplace.code == marketplace)
    if min_score is not None:
        q = q.where(Alert.score >= min_score)
    if rights_holder:
        q = q.where(RightsHolder.slug == rights_holder)
    if limit:
        q = q.limit(limit)
    rows = []
    for a, li, m, mk, rh in session.execute(q):
        rows.append(
            QueueRow(
                alert_id=a.id,
                status=a.status.value,
                score=a.score,
                tier=a.tier,
                kind=a.kind,
                rights_holder=rh.slug,
                mark=m.word_mark,
                marketplace=mk.code,
                seller=li.seller,
                price=li.price,
                currency=li.currency,
                title=li.title,
                url=li.url,
                reasons=a.reasons,
                created_at=a.created_at,
            )
        )
    return rows


def status_counts(session: Session) -> dict[str, int]:
    q = sa.select(Alert.status, sa.func.count()).group_by(Alert.status)
    return {s.value: n for s, n in session.execute(q)}
