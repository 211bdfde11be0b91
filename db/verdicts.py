"""Verdicts on alerts: the lifecycle's transitions, each an append-only ``alert_event``, and the
dismiss reasons."""


from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from db.enforcement import (
    CaseAlert,
)
from db.models import (
    Alert,
    AlertEvent,
    AlertStatus,
)
from db.session import rowcount
from db.tenancy import NotFound, Refused, Scope
from db.types import utcnow

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
    details: dict[str, Any] | None = None,
) -> VerdictOutcome:
    """Move alerts along the review lifecycle, writing one append-only event per change.

    ``strict``: an alert that cannot make the move raises Refused (single verdicts); otherwise it
    is reported in ``refused`` and the others go ahead (bulk verdicts). Alerts of another rights
    holder are NotFound either way. ``details``: more for each event's details (an automation
    rule's reasons), beside the ``note``.
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
        if rowcount(res) != 1:
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
                details={**({"note": note} if note else {}), **(details or {})},
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


