"""A hash chain over each alert's history.

Every ``alert_event`` row carries the hash of the event before it (for the same alert) and its own
hash over its content and that link. Rewriting, deleting or inserting an event anywhere in the
history breaks the chain, and ``markwatch evidence verify`` reports it. Hashes are assigned at
insert time by a mapper hook, whichever code path adds the event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

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
    tails: dict[int, str | None] = session.info.setdefault(_TAIL, {}) if session else {}
    if target.created_at is None:
        target.created_at = utcnow()
    if target.details is None:
        target.details = {}
    if target.alert_id not in tails:
        if connection.dialect.name == "postgresql":
            # one writer per alert history at a time, or two appends could fork the chain
            connection.execute(
                sa.select(Alert.id).where(Alert.id == target.alert_id).with_for_update()
            )
        tails[target.alert_id] = connection.execute(
            sa.select(AlertEvent.hash)
            .where(AlertEvent.alert_id == target.alert_id)
            .order_by(AlertEvent.id.desc())
            .limit(1)
        ).scalar()
    target.prev_hash = tails[target.alert_id]
    target.hash = digest_of(target)
    tails[target.alert_id] = target.hash


@sa.event.listens_for(Session, "after_flush_postexec")
def _forget_tails(session: Session, _ctx: Any) -> None:
    session.info.pop(_TAIL, None)


def verify_chain(session: Session) -> list[str]:
    """Every break in every alert's history, as sentences; empty when all hold."""
    problems: list[str] = []
    prev_alert: int | None = None
    prev_hash: str | None = None
    q = sa.select(AlertEvent).order_by(AlertEvent.alert_id, AlertEvent.id)
    for ev in session.execute(q).scalars():
        if ev.alert_id != prev_alert:
            prev_alert, prev_hash = ev.alert_id, None
        if ev.hash is None:
            problems.append(f"alert {ev.alert_id} event {ev.id}: not chained")
        else:
            if ev.prev_hash != prev_hash:
                problems.append(
                    f"alert {ev.alert_id} event {ev.id}: link to the previous event is broken "
                    "(an event was removed, inserted or rewritten before it)"
                )
            if digest_of(ev) != ev.hash:
                problems.append(
                    f"alert {ev.alert_id} event {ev.id} ({ev.action}): content does not match "
                    "its hash (rewritten)"
                )
        prev_hash = ev.hash
    return problems
