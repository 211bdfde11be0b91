"""Automation rules per rights holder, in the manner of a forum's auto-moderation: ordered
conditions that confirm, dismiss or route (start review of) a new alert. The first active rule
whose conditions all hold acts; each action is an ``alert_event`` whose actor is the rule.

A rule can be tried first: the dry run says what it would have done to the last 30 days of
alerts and how that compares with the reviewers' own verdicts. And a rule's actions can be undone
together: every alert it moved that nobody has touched since goes back where it was.

Conditions (all optional; every one given must hold):

* ``checks``: the alert has a reason of one of these checks (``cue_phrase``, ``authorised``,
  ``nominative``, ...)
* ``min_score`` / ``max_score``: the score is at least / at most this
* ``marketplaces``: the listing is on one of these marketplace codes
* ``sellers``: the seller is one of these names (compared case-folded, spaces collapsed)
* ``kinds``: the alert's kind is one of these (``counterfeit``, ``trademark``, ``nominative``...)
* ``known_infringer``: the seller is already in one of the holder's cases on that marketplace
  (a repeat infringer; the seller networks a team has built cases against)
* ``in_network``: the seller is in a seller network (``markwatch.networks``: accounts linked across
  marketplaces by a shared contact or photo, friend of a friend) with another account the holder
  has a confirmed alert on or a case against. Only the holder's own verdicts and cases count,
  never another holder's. Networks are as beat last recomputed them: a seller first seen since is
  in none until the next recomputation (apply the rule to the queue then). The rule's event names
  the network and the linked accounts (``details["in_network"]``), as does the dry run.

``known_infringer`` and ``in_network`` are true or false (``true``/``false``, ``on``/``off``,
``1``/``0``); lists are lists; scores whole numbers from 0 to 100. Anything else is refused.

A price far below retail is the matcher's ``price`` check: ``checks: [price]``.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.enforcement import AutomationRule, Case
from db.models import Alert, AlertEvent, AlertStatus, Listing, Marketplace
from db.networks import NetworkHit, linked_infringers
from db.session import rowcount
from db.tenancy import Refused, Scope
from db.types import utcnow
from db.verdicts import DISMISS_REASONS, transition

ACTIONS = {"confirm": AlertStatus.CONFIRMED, "dismiss": AlertStatus.DISMISSED,
           "review": AlertStatus.IN_REVIEW}
CONDITION_KEYS = frozenset({"checks", "min_score", "max_score", "marketplaces", "sellers", "kinds",
                            "known_infringer", "in_network"})
FLAGS = ("known_infringer", "in_network")
DRY_RUN_DAYS = 30


def _key(text: Any) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def clean_conditions(raw: dict[str, Any]) -> dict[str, Any]:
    """A rule's conditions, checked: unknown keys, empty rules and bad values are refused."""
    unknown = set(raw) - CONDITION_KEYS
    if unknown:
        raise Refused(f"unknown condition(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for k in ("checks", "marketplaces", "sellers", "kinds"):
        given = raw.get(k)
        if given is not None and not isinstance(given, list | tuple):
            raise Refused(f"{k} is a list of values, not {type(given).__name__} {given!r:.60}")
        values = [str(v).strip() for v in given or [] if str(v).strip()]
        if values:
            out[k] = values[:200]
    for k in ("min_score", "max_score"):
        if raw.get(k) not in (None, ""):
            try:
                v = int(raw[k])
            except (TypeError, ValueError):
                raise Refused(f"{k} is a whole number from 0 to 100, not {raw[k]!r:.60}") from None
            if not 0 <= v <= 100:
                raise Refused(f"{k} is 0 to 100")
            out[k] = v
    for k in FLAGS:
        if _flag(k, raw.get(k)):
            out[k] = True
    if not out:
        raise Refused("a rule needs at least one condition (a rule for every alert is a mistake)")
    return out


def _flag(key: str, value: Any) -> bool:
    v = value.strip().lower() if isinstance(value, str) else value
    if v in (None, False, "", "false", "off", "0"):  # False == 0: the number 0 too
        return False
    if v in (True, "true", "on", "1"):
        return True
    raise Refused(f"{key} is true or false, not {value!r:.60}")


def rule_actor(rule: AutomationRule) -> str:
    return f"rule:{rule.id}:{rule.name}"[:254]


@dataclass
class Match:
    """Why a rule's conditions hold for an alert, where the store had to be asked."""

    details: dict[str, Any] = field(default_factory=dict)  # condition -> what satisfied it
    why: list[str] = field(default_factory=list)  # the same in words

    def note(self, rule: AutomationRule, *extra: str) -> str:
        return "; ".join([f"automation rule {rule.id} ({rule.name})", *extra, *self.why])


class Facts:
    """What conditions read from the store about a batch of alerts, asked once for the batch (one
    query per holder, not one per alert and network member) and only if a rule needs it."""

    def __init__(self, session: Session | None, rows: Sequence[tuple[Alert, Listing, str]]):
        self.session = session
        self._rows = rows
        self._networks: dict[int, dict[tuple[int, str], NetworkHit]] = {}

    def network(self, alert: Alert, listing: Listing) -> NetworkHit | None:
        if self.session is None or not listing.seller:
            return None
        holder = alert.rights_holder_id
        if holder not in self._networks:
            sellers = {(li.marketplace_id, li.seller) for a, li, _ in self._rows
                       if a.rights_holder_id == holder and li.seller}
            sellers.add((listing.marketplace_id, listing.seller))
            self._networks[holder] = linked_infringers(self.session, holder, sellers)
        return self._networks[holder].get((listing.marketplace_id, listing.seller))


def matches(conditions: dict[str, Any], alert: Alert, listing: Listing, market_code: str,
            session: Session | None = None, facts: Facts | None = None) -> Match | None:
    """A Match (true) when every condition holds, else None. ``facts``: the batch's, so that
    store-backed conditions are read once for all its alerts."""
    c = conditions
    if "checks" in c and not {str(r.get("check")) for r in alert.reasons or []} & set(c["checks"]):
        return None
    if "min_score" in c and alert.score < c["min_score"]:
        return None
    if "max_score" in c and alert.score > c["max_score"]:
        return None
    if "marketplaces" in c and market_code not in c["marketplaces"]:
        return None
    if "sellers" in c and _key(listing.seller or "") not in {_key(s) for s in c["sellers"]}:
        return None
    if "kinds" in c and alert.kind not in c["kinds"]:
        return None
    if c.get("known_infringer") and not _known_infringer(session, alert, listing):
        return None
    out = Match()
    if c.get("in_network"):
        hit = (facts or Facts(session, [(alert, listing, market_code)])).network(alert, listing)
        if hit is None:
            return None
        out.details["in_network"] = hit.details()
        out.why.append(f"in {hit.describe()}")
    return out


def _known_infringer(session: Session | None, alert: Alert, listing: Listing) -> bool:
    if session is None or not listing.seller:
        return False
    found = session.scalar(
        sa.select(Case.id).where(Case.rights_holder_id == alert.rights_holder_id,
                                 Case.marketplace_id == listing.marketplace_id,
                                 sa.func.lower(Case.seller) == listing.seller.lower())
        .limit(1))
    return found is not None


def add_rule(scope: Scope, *, name: str, action: str, conditions: dict[str, Any],
             reason: str | None = None) -> AutomationRule:
    if action not in ACTIONS:
        raise Refused(f"a rule confirms, dismisses or routes to review; not {action!r}")
    if action == "dismiss" and reason not in DISMISS_REASONS:
        raise Refused("a dismissing rule needs one of the reasons: " + ", ".join(DISMISS_REASONS))
    last = scope.session.scalar(
        sa.select(sa.func.max(AutomationRule.position))
        .where(AutomationRule.rights_holder_id == scope.rights_holder_id)) or 0
    rule = AutomationRule(rights_holder_id=scope.rights_holder_id, position=last + 1,
                          name=name.strip()[:100] or f"rule {last + 1}", action=action,
                          reason=reason if action == "dismiss" else None,
                          conditions=clean_conditions(conditions), created_by=scope.actor)
    scope.session.add(rule)
    scope.session.flush()
    return rule


def rules_of(session: Session, rights_holder_id: int) -> list[AutomationRule]:
    return list(session.scalars(
        sa.select(AutomationRule).where(AutomationRule.rights_holder_id == rights_holder_id)
        .order_by(AutomationRule.position, AutomationRule.id)))


def _rows(session: Session, q: sa.Select[Alert, Listing, str]) -> list[tuple[Alert, Listing, str]]:
    return [(a, li, code) for a, li, code in session.execute(
        q.join(Listing, Listing.id == Alert.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .order_by(Alert.id))]


@dataclass
class RuleRun:
    acted: dict[int, list[int]] = field(default_factory=dict)  # rule id -> alert ids


def apply_rules(session: Session, alert_ids: Iterable[int]) -> RuleRun:
    """Run each holder's active rules, in order, on these alerts (those still new): the first
    rule that matches acts. Called for every alert the matcher creates, in its transaction."""
    ids = list(dict.fromkeys(alert_ids))
    out = RuleRun()
    if not ids:
        return out
    rows = _rows(session, sa.select(Alert, Listing, Marketplace.code)
                 .where(Alert.id.in_(ids), Alert.status == AlertStatus.NEW))
    by_holder: dict[int, list[AutomationRule]] = {}
    facts = Facts(session, rows)
    for alert, listing, code in rows:
        holder = alert.rights_holder_id
        if holder not in by_holder:
            by_holder[holder] = [r for r in rules_of(session, holder) if r.active]
        for rule in by_holder[holder]:
            if hit := matches(rule.conditions, alert, listing, code, session, facts):
                scope = Scope(session, holder, rule_actor(rule))
                done = transition(scope, [alert.id], rule.action, reason=rule.reason,
                                  note=hit.note(rule), details=hit.details, strict=False)
                if done.changed:
                    out.acted.setdefault(rule.id, []).append(alert.id)
                break
    return out


def apply_to_queue(scope: Scope, rule_id: int, *, days: int = DRY_RUN_DAYS) -> list[int]:
    """Run one rule now on the new alerts of the last ``days`` days."""
    rule = scope.get(AutomationRule, rule_id)
    since = utcnow() - timedelta(days=days)
    acted = []
    rows = _rows(scope.session, sa.select(Alert, Listing, Marketplace.code)
                 .where(Alert.rights_holder_id == scope.rights_holder_id,
                        Alert.status == AlertStatus.NEW, Alert.created_at >= since))
    facts = Facts(scope.session, rows)
    for alert, listing, code in rows:
        if hit := matches(rule.conditions, alert, listing, code, scope.session, facts):
            done = transition(Scope(scope.session, scope.rights_holder_id, rule_actor(rule)),
                              [alert.id], rule.action, reason=rule.reason,
                              note=hit.note(rule, f"applied by {scope.actor}"),
                              details=hit.details, strict=False)
            acted += done.changed
    return acted


@dataclass
class DryRun:
    matched: int
    by_status: dict[str, int]  # the matched alerts' status now (the reviewers' verdicts)
    would_change: int  # of them, still new: what the rule would move
    agree: int  # reviewers reached the rule's outcome
    disagree: int  # reviewers decided otherwise
    sample: list[tuple[int, str, int, str, str]]  # (alert id, title, score, status, why)


def dry_run(scope: Scope, conditions: dict[str, Any], action: str, *,
            days: int = DRY_RUN_DAYS) -> DryRun:
    """What a rule with these conditions would have done to the alerts of the last ``days``
    days, and how that compares with the verdicts reviewers gave them."""
    cond = clean_conditions(conditions)
    since = utcnow() - timedelta(days=days)
    rows = _rows(scope.session, sa.select(Alert, Listing, Marketplace.code)
                 .where(Alert.rights_holder_id == scope.rights_holder_id,
                        Alert.created_at >= since))
    facts = Facts(scope.session, rows)
    hits = [(a, li, m) for a, li, code in rows
            if (m := matches(cond, a, li, code, scope.session, facts))]
    status = Counter(a.status.value for a, _, _ in hits)
    target = ACTIONS[action].value
    decided = {"confirmed", "dismissed"}
    agree = status.get(target, 0) if target in decided else 0
    disagree = sum(n for s, n in status.items() if s in decided and s != target)
    return DryRun(len(hits), dict(status), status.get("new", 0), agree, disagree,
                  [(a.id, li.title, a.score, a.status.value, "; ".join(m.why))
                   for a, li, m in hits[:20]])


def undo_rule(scope: Scope, rule_id: int) -> list[int]:
    """Put back every alert the rule moved that nobody has touched since (its last event is the
    rule's); each gets an ``undo_rule`` event by the person undoing."""
    rule = scope.get(AutomationRule, rule_id)
    actor = rule_actor(rule)
    last = (sa.select(AlertEvent.alert_id, sa.func.max(AlertEvent.id).label("eid"))
            .join(Alert, Alert.id == AlertEvent.alert_id)
            .where(Alert.rights_holder_id == scope.rights_holder_id)
            .group_by(AlertEvent.alert_id).subquery())
    events = scope.session.scalars(
        sa.select(AlertEvent).join(last, last.c.eid == AlertEvent.id)
        .where(AlertEvent.actor == actor)).all()
    undone = []
    for ev in events:
        if ev.from_status is None or ev.to_status is None:
            continue
        res = scope.session.execute(
            sa.update(Alert).where(Alert.id == ev.alert_id, Alert.status == ev.to_status)
            .values(status=AlertStatus(ev.from_status), updated_at=utcnow())
            .execution_options(synchronize_session=False))
        if rowcount(res) != 1:
            continue
        scope.session.add(AlertEvent(alert_id=ev.alert_id, actor=scope.actor, action="undo_rule",
                                     from_status=ev.to_status, to_status=ev.from_status,
                                     reason=f"undo of automation rule {rule.id} ({rule.name})",
                                     details={"rule_id": rule.id}))
        undone.append(ev.alert_id)
    scope.session.flush()
    return undone


def set_rule_active(scope: Scope, rule_id: int, active: bool) -> AutomationRule:
    rule = scope.get(AutomationRule, rule_id)
    rule.active = active
    scope.session.flush()
    return rule


def rule_counts(scope: Scope, rules: Sequence[AutomationRule]) -> dict[int, int]:
    """Alerts each rule has moved (its events), for the rules page."""
    if not rules:
        return {}
    actors = {rule_actor(r): r.id for r in rules}
    rows = scope.session.execute(
        sa.select(AlertEvent.actor, sa.func.count()).join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id,
               AlertEvent.actor.in_(list(actors))).group_by(AlertEvent.actor))
    return {actors[a]: n for a, n in rows}
