"""Alerts: the review queue. Creating them is idempotent; their history is append-only."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from db.models import (
    Alert,
    AlertEvent,
    AlertMark,
    AlertStatus,
    Listing,
    Mark,
    Marketplace,
    RightsHolder,
)

SYSTEM_ACTOR = "system:matcher"


@dataclass(frozen=True)
class Finding:
    """What the matcher found, as the store records it (plain values, no matcher import).

    ``mark_id`` is the best of the holder's marks the listing hit; ``mark_scores`` holds every
    mark it hit with that mark's best score (``{mark_id: score}`` when left empty)."""

    rights_holder_id: int
    mark_id: int
    kind: str
    score: int
    tier: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    product_id: int | None = None
    mark_scores: dict[int, int] = field(default_factory=dict)

    @property
    def marks(self) -> dict[int, int]:
        return dict(self.mark_scores) or {self.mark_id: self.score}


def per_holder(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per rights holder: the best-scoring one (ties: the lower mark id) leads, its
    reasons first, then the other marks' reasons, best first; ``mark_scores`` names every mark.
    Of several findings for one mark, the best one counts."""
    by_holder: dict[int, dict[int, Finding]] = {}
    for f in findings:
        best = by_holder.setdefault(f.rights_holder_id, {})
        if f.mark_id not in best or f.score > best[f.mark_id].score:
            best[f.mark_id] = f
    out = []
    for holder, per_mark in by_holder.items():
        ranked = sorted(per_mark.values(), key=lambda f: (-f.score, f.mark_id))
        lead = ranked[0]
        scores: dict[int, int] = {}
        for f in ranked:
            for mid, sc in f.marks.items():
                scores[mid] = max(sc, scores.get(mid, sc))
        out.append(Finding(
            rights_holder_id=holder,
            mark_id=lead.mark_id,
            kind=lead.kind,
            score=lead.score,
            tier=lead.tier,
            reasons=[r for f in ranked for r in f.reasons],
            product_id=lead.product_id or next((f.product_id for f in ranked if f.product_id),
                                               None),
            mark_scores=scores,
        ))
    return out


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
    """Create one alert per (listing, rights holder), or rescore the existing one; findings for
    several marks of one holder become one alert naming them all (``per_holder``). Running it
    twice with the same findings changes nothing; two workers racing on it create one alert, not
    an error."""
    out = RecordOutcome()
    insert = _insert(session)
    for f in per_holder(findings):
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
            .on_conflict_do_nothing(index_elements=["listing_id", "rights_holder_id"])
            .returning(Alert.id)
        )
        new_id = session.execute(stmt).scalar()
        if new_id is not None:
            _set_marks(session, new_id, f.marks, {})
            session.add(
                AlertEvent(
                    alert_id=new_id,
                    actor=actor,
                    action="created",
                    to_status=AlertStatus.NEW.value,
                    details={"score": f.score, "tier": f.tier, "kind": f.kind,
                             "marks": sorted(f.marks)},
                )
            )
            out.created.append(new_id)
            continue
        alert = session.scalar(
            sa.select(Alert).filter_by(listing_id=listing_id, rights_holder_id=f.rights_holder_id)
        )
        assert alert is not None
        had = dict(session.execute(
            sa.select(AlertMark.mark_id, AlertMark.score).where(AlertMark.alert_id == alert.id)
        ).all())
        if (alert.mark_id, alert.score, alert.tier, alert.kind, alert.reasons, had) == (
            f.mark_id,
            f.score,
            f.tier,
            f.kind,
            f.reasons,
            f.marks,
        ):
            out.unchanged.append(alert.id)
            continue
        before = {"score": alert.score, "tier": alert.tier, "kind": alert.kind,
                  "mark_id": alert.mark_id, "marks": sorted(had)}
        alert.score, alert.tier, alert.kind, alert.reasons = f.score, f.tier, f.kind, f.reasons
        alert.mark_id = f.mark_id
        if snapshot_id is not None:
            alert.snapshot_id = snapshot_id
        _set_marks(session, alert.id, f.marks, had)
        session.add(
            AlertEvent(
                alert_id=alert.id,
                actor=actor,
                action="rescored",
                details={"before": before, "after": {"score": f.score, "tier": f.tier,
                                                     "mark_id": f.mark_id,
                                                     "marks": sorted(f.marks)}},
            )
        )
        out.rescored.append(alert.id)
    session.flush()
    return out


def _set_marks(session: Session, alert_id: int, marks: dict[int, int], had: dict[int, int]) -> None:
    """Make the alert's ``alert_mark`` rows the marks of its latest scoring."""
    gone = [m for m in had if m not in marks]
    if gone:
        session.execute(sa.delete(AlertMark).where(AlertMark.alert_id == alert_id,
                                                   AlertMark.mark_id.in_(gone)))
    for mid, score in marks.items():
        if mid not in had:
            session.execute(_insert(session)(AlertMark).values(
                alert_id=alert_id, mark_id=mid, score=score).on_conflict_do_nothing())
        elif had[mid] != score:
            session.execute(sa.update(AlertMark).where(
                AlertMark.alert_id == alert_id, AlertMark.mark_id == mid).values(score=score))


def _now() -> datetime:
    from db.types import utcnow

    return utcnow()


def matched_mark(*, mark_id: int | None = None, word: str | None = None,
                 mark_ids: Sequence[int] | None = None) -> sa.Exists:
    """Alerts that matched a mark (any of their marks, not only the best), given by id (or
    ids) or by word mark (case-insensitive)."""
    conds: list[sa.ColumnElement[bool]] = [AlertMark.alert_id == Alert.id]
    if mark_id is not None:
        conds.append(AlertMark.mark_id == mark_id)
    if mark_ids is not None:
        conds.append(AlertMark.mark_id.in_(list(mark_ids)))
    if word is not None:
        m = aliased(Mark)
        conds += [AlertMark.mark_id == m.id, sa.func.lower(m.word_mark) == word.lower()]
    return sa.exists().where(*conds)


def marks_named(session: Session, name: str, *, rights_holder_id: int | None = None) -> list[Mark]:
    """The marks whose word mark or a registered alias is ``name`` (compared in NFKC, case
    folded, spaces collapsed): "墨朗" and "MOLANG" find the same mark."""
    def key(text: Any) -> str:
        return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())

    want = key(name)
    q = sa.select(Mark).order_by(Mark.id)
    if rights_holder_id is not None:
        q = q.where(Mark.rights_holder_id == rights_holder_id)
    return [m for m in session.scalars(q)
            if key(m.word_mark) == want or any(key(a) == want for a in m.aliases or [])]


def marks_of(session: Session, alert_ids: Iterable[int]) -> dict[int, list[str]]:
    """Every matched word mark per alert, the alert's best mark first, then by score."""
    ids = list(dict.fromkeys(alert_ids))
    out: dict[int, list[str]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk:chunk + 5000]
        rows = session.execute(
            sa.select(AlertMark.alert_id, Mark.word_mark)
            .join(Mark, Mark.id == AlertMark.mark_id)
            .join(Alert, Alert.id == AlertMark.alert_id)
            .where(AlertMark.alert_id.in_(part))
            .order_by(AlertMark.alert_id, (AlertMark.mark_id != Alert.mark_id),
                      AlertMark.score.desc(), Mark.word_mark)
        )
        for aid, word in rows:
            out[aid].append(word)
    return out


@dataclass(frozen=True)
class QueueRow:
    alert_id: int
    status: str
    score: int
    tier: str
    kind: str
    rights_holder: str
    mark: str  # the best of the matched marks
    marketplace: str
    seller: str | None
    price: Decimal | None
    currency: str | None
    title: str
    url: str
    reasons: list[dict[str, Any]]
    created_at: datetime
    marks: tuple[str, ...] = ()  # every matched mark, the best first

    def as_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["marks"] = list(self.marks)
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
    mark_ids: Sequence[int] | None = None,
    tier: str | None = None,
    seller: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[QueueRow]:
    """The alert queue, highest score first, with optional filters (``mark``, ``mark_ids``: any
    of an alert's matched marks; ``since`` and ``until``: the day it was found, both included)."""
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
        q = q.where(matched_mark(word=mark))
    if marketplace:
        q = q.where(Marketplace.code == marketplace)
    if min_score is not None:
        q = q.where(Alert.score >= min_score)
    if rights_holder:
        q = q.where(RightsHolder.slug == rights_holder)
    if mark_ids is not None:
        q = q.where(matched_mark(mark_ids=mark_ids))
    if tier:
        q = q.where(Alert.tier == tier)
    if seller:
        q = q.where(Listing.seller == seller)
    if since:
        q = q.where(Alert.created_at >= datetime.combine(since, datetime.min.time(), UTC))
    if until:
        q = q.where(Alert.created_at < datetime.combine(until, datetime.min.time(), UTC)
                    + timedelta(days=1))
    if limit:
        q = q.limit(limit)
    rows = []
    found = session.execute(q).all()
    words = marks_of(session, [a.id for a, *_ in found])
    for a, li, m, mk, rh in found:
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
                marks=tuple(words[a.id]) or (m.word_mark,),
            )
        )
    return rows


def status_counts(session: Session) -> dict[str, int]:
    q = sa.select(Alert.status, sa.func.count()).group_by(Alert.status)
    return {s.value: n for s, n in session.execute(q)}
