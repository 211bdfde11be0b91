"""A hash chain over each alert's history.

Every ``alert_event`` row carries the hash of the event before it (for the same alert) and its own
hash over its content and that link, and the alert row keeps the head (the newest hash) and the
length of its chain. Rewriting, deleting or inserting an event anywhere in the history breaks the
chain or no longer ends at the recorded head, and ``markwatch evidence verify`` reports it.
Hashes are assigned at insert time by a mapper hook, whichever code path adds the event.

Someone who can write to the database could still rewrite an event and re-hash everything after
it, head included, or roll an alert back whole. Checkpoints catch that: the heads of all chains,
sealed into a signed Merkle root outside the database (``markwatch/checkpoints.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from db.models import Alert, AlertEvent
from db.types import utcnow

_TAIL = "markwatch_chain_tail"


def event_digest(
    *,
    prev_hash: str | None,
    alert_id: int,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str | None,
    reason: str | None,
    details: dict[str, Any] | None,
    created_at: datetime,
) -> str:
    body = {
        "prev": prev_hash,
        "alert_id": alert_id,
        "actor": actor,
        "action": action,
        "from": from_status,
        "to": to_status,
        "reason": reason,
        "details": details or {},
        "at": created_at.isoformat(timespec="microseconds"),
    }
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def digest_of(ev: AlertEvent) -> str:
    return event_digest(
        prev_hash=ev.prev_hash,
        alert_id=ev.alert_id,
        actor=ev.actor,
        action=ev.action,
        from_status=ev.from_status,
        to_status=ev.to_status,
        reason=ev.reason,
        details=ev.details,
        created_at=ev.created_at,
    )


@sa.event.listens_for(AlertEvent, "before_insert")
def _link(mapper: Any, connection: sa.Connection, target: AlertEvent) -> None:
    session = object_session(target)
    tails: dict[int, tuple[str | None, int]] = session.info.setdefault(_TAIL, {}) if session else {}
    if target.created_at is None:
        target.created_at = utcnow()
    if target.details is None:
        target.details = {}
    if target.alert_id not in tails:
        q = sa.select(Alert.chain_length).where(Alert.id == target.alert_id)
        if connection.dialect.name == "postgresql":
            # one writer per alert history at a time, or two appends could fork the chain
            q = q.with_for_update()
        length = connection.execute(q).scalar() or 0
        last = connection.execute(
            sa.select(AlertEvent.hash)
            .where(AlertEvent.alert_id == target.alert_id)
            .order_by(AlertEvent.id.desc())
            .limit(1)
        ).scalar()
        tails[target.alert_id] = (last, length)
    prev, length = tails[target.alert_id]
    target.prev_hash = prev
    target.hash = digest_of(target)
    tails[target.alert_id] = (target.hash, length + 1)
    # the alert keeps its chain's head and length: deleting the newest events shows
    connection.execute(sa.update(Alert).where(Alert.id == target.alert_id)
                       .values(chain_head=target.hash, chain_length=length + 1))
    alert = session.identity_map.get(identity_key(Alert, target.alert_id)) if session else None
    if alert is not None:
        set_committed_value(alert, "chain_head", target.hash)
        set_committed_value(alert, "chain_length", length + 1)


@sa.event.listens_for(Session, "after_flush_postexec")
def _forget_tails(session: Session, _ctx: Any) -> None:
    session.info.pop(_TAIL, None)


@dataclass
class Chain:
    """One alert's history as stored: what the alert row records and the events' hashes."""

    alert_id: int
    recorded_length: int
    recorded_head: str | None
    hashes: list[str | None] = field(default_factory=list)


def chains(session: Session, batch: int = 2000) -> Iterator[tuple[Chain, list[AlertEvent]]]:
    """Every alert with its events in order (alerts without events included), in batches."""
    last = 0
    while True:
        alerts = session.execute(
            sa.select(Alert.id, Alert.chain_length, Alert.chain_head)
            .where(Alert.id > last).order_by(Alert.id).limit(batch)
        ).all()
        if not alerts:
            return
        lo, hi = alerts[0][0], alerts[-1][0]
        events: dict[int, list[AlertEvent]] = {}
        for ev in session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id.between(lo, hi))
                                  .order_by(AlertEvent.alert_id, AlertEvent.id)):
            events.setdefault(ev.alert_id, []).append(ev)
        for alert_id, length, head in alerts:
            evs = events.get(alert_id, [])
            yield Chain(alert_id, length, head, [e.hash for e in evs]), evs
        session.expunge_all()
        last = hi


def verify_chain(session: Session) -> list[str]:
    """Every break in every alert's history, as sentences; empty when all hold: each event's
    link and hash, and each alert's recorded head and length against its events."""
    problems: list[str] = []
    for chain, events in chains(session):
        aid = chain.alert_id
        prev_hash: str | None = None
        for ev in events:
            if ev.hash is None:
                problems.append(f"alert {aid} event {ev.id}: not chained")
            else:
                if ev.prev_hash != prev_hash:
                    problems.append(
                        f"alert {aid} event {ev.id}: link to the previous event is broken "
                        "(an event was removed, inserted or rewritten before it)"
                    )
                if digest_of(ev) != ev.hash:
                    problems.append(
                        f"alert {aid} event {ev.id} ({ev.action}): content does not match "
                        "its hash (rewritten)"
                    )
            prev_hash = ev.hash
        n = len(events)
        if n < chain.recorded_length:
            problems.append(
                f"alert {aid}: the alert records {chain.recorded_length} events in its history, "
                f"the store has {n} (events were deleted)"
            )
        elif n > chain.recorded_length:
            problems.append(
                f"alert {aid}: the alert records {chain.recorded_length} events in its history, "
                f"the store has {n} (events were added outside the application)"
            )
        if n and events[-1].hash != chain.recorded_head:
            problems.append(
                f"alert {aid}: its history does not end at the head the alert records "
                "(the newest events were removed or replaced)"
            )
    return problems
