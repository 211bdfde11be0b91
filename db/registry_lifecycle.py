"""The registry over time: watches edited, paused and resumed, authorisations ended on a date (a
former distributor is not authorised forever), marks retired. Each is a scoped write of one row;
the matcher's index notices the change (``markwatch.screening``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa

from db.models import AuthorisedSeller, Mark, Watch
from db.tenancy import Refused, Scope
from db.types import utcnow

MIN_SCHEDULE, MAX_SCHEDULE = 5, 60 * 24 * 31


def edit_watch(scope: Scope, watch_id: int, *, terms: Sequence[str] | None = None,
               schedule_minutes: int | None = None) -> Watch:
    w = scope.get(Watch, watch_id)
    if terms is not None:
        clean = list(dict.fromkeys(t.strip() for t in terms if t.strip()))
        if not clean:
            raise Refused("a watch searches for at least one term")
        if len(clean) > 20 or any(len(t) > 200 for t in clean):
            raise Refused("a watch has at most 20 terms of at most 200 characters")
        w.terms = clean
    if schedule_minutes is not None:
        if not MIN_SCHEDULE <= schedule_minutes <= MAX_SCHEDULE:
            raise Refused(f"a watch runs every {MIN_SCHEDULE} to {MAX_SCHEDULE} minutes")
        w.schedule_minutes = schedule_minutes
    scope.session.flush()
    return w


def set_watch_active(scope: Scope, watch_id: int, active: bool) -> Watch:
    """Pause (no more crawls) or resume (the next crawl is due now) a watch."""
    w = scope.get(Watch, watch_id)
    if active:
        mark = scope.get(Mark, w.mark_id)
        if mark.retired_at is not None:
            raise Refused(f"{mark.word_mark} is retired; a watch of a retired mark stays paused")
        if not w.active:
            w.next_run_at = utcnow()
    w.active = active
    scope.session.flush()
    return w


def end_authorisation(scope: Scope, seller_id: int, ended_on: date) -> AuthorisedSeller:
    """The seller is authorised no more from ``ended_on`` (a date in the past or the future,
    within a year ahead)."""
    a = scope.get(AuthorisedSeller, seller_id)
    if ended_on > utcnow().date() + timedelta(days=366):
        raise Refused("an authorisation ends within a year from today; record a later end then")
    a.ended_on = ended_on
    scope.session.flush()
    return a


def retire_mark(scope: Scope, mark_id: int) -> Mark:
    """Stop enforcing a mark: no more screening against it, its watches paused, no notice rests
    on it. Its alerts and cases stay, for the record."""
    m = scope.get(Mark, mark_id)
    if m.retired_at is None:
        m.retired_at = utcnow()
        scope.session.execute(sa.update(Watch).where(Watch.mark_id == m.id)
                              .values(active=False).execution_options(synchronize_session=False))
    scope.session.flush()
    return m


def active_authorisation(today: date) -> sa.ColumnElement[bool]:
    """Authorised sellers whose authorisation has not ended by ``today``."""
    return sa.or_(AuthorisedSeller.ended_on.is_(None), AuthorisedSeller.ended_on > today)
