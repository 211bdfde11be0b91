"""Matching task: screen listings and record alerts."""

from __future__ import annotations

import logging

from celery import shared_task

from db.session import transaction
from markwatch.screening import screen_listings
from markwatch.settings import get_settings
from tasks.base import GuardedTask
from tasks.db import sessions

log = logging.getLogger(__name__)


@shared_task(name="tasks.match.match_listings", bind=True, base=GuardedTask, max_retries=2)
def match_listings(self, listing_ids: list[int]) -> dict[str, int]:
    """Match the given listings against every registered mark and record the alerts.

    Idempotent: listings already matched at their current content are skipped, alerts are unique
    per (listing, mark), and listings that no longer exist are counted and skipped. Database
    errors (e.g. a locked SQLite file) are retried with backoff; with the redeliveries they make
    at most three tries, then the task is parked in the dead-letter table.
    """
    from sqlalchemy.exc import OperationalError

    try:
        with transaction(sessions()) as s:
            out = screen_listings(s, listing_ids, get_settings())
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 30)) from exc
    _count(out)
    log.info(
        "matched %d listings (%d already matched, %d gone): %d alerts created, %d rescored",
        out.listings,
        out.skipped,
        out.missing,
        out.alerts_created,
        out.alerts_rescored,
    )
    return {"listings": out.listings, "created": out.alerts_created, "missing": out.missing}


def _count(out) -> None:
    import sqlalchemy as sa

    from db.models import Alert
    from markwatch.metrics import metrics

    m = metrics()
    m.listings_matched.inc(out.listings)
    if out.alert_ids:
        with sessions()() as s:
            tiers = s.execute(sa.select(Alert.tier, sa.func.count()).where(
                Alert.id.in_(out.alert_ids)).group_by(Alert.tier)).all()
        for tier, n in tiers:
            m.alerts_created.labels(tier).inc(n)
