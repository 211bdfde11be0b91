"""Scheduling: beat calls ``send_due_watches`` every minute; it starts a crawl for each due watch."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from celery import shared_task
from sqlalchemy.orm import Session

from db.models import CrawlRun, Watch
from db.session import transaction
from tasks.base import GuardedTask
from tasks.db import sessions

log = logging.getLogger(__name__)


def start_due_watches(s: Session, *, now: datetime, only: list[int] | None = None) -> list[int]:
    """Create a queued crawl run for every due watch and send its crawl after commit.

    Each watch is claimed with a conditional update on its ``next_run_at``, so two schedulers
    running at once start each due watch once.
    """
    from tasks.outbox import send_after_commit

    q = sa.select(Watch.id, Watch.next_run_at, Watch.schedule_minutes).where(
        Watch.active.is_(True), Watch.next_run_at <= now
    )
    if only is not None:
        q = q.where(Watch.id.in_(only))
    run_ids: list[int] = []
    for watch_id, due, minutes in s.execute(q.order_by(Watch.next_run_at)).all():
        claimed = s.execute(
            sa.update(Watch)
            .where(Watch.id == watch_id, Watch.next_run_at == due)
            .values(next_run_at=now + timedelta(minutes=minutes), last_run_at=now)
        ).rowcount
        if claimed != 1:
            continue
        run = CrawlRun(watch_id=watch_id)
        s.add(run)
        s.flush()
        run_ids.append(run.id)
        send_after_commit(s, "tasks.crawl.crawl_watch", [run.id])
    return run_ids


@shared_task(name="tasks.schedule.send_due_watches", base=GuardedTask)
def send_due_watches() -> int:
    """Start the crawls of all due watches. Safe to run from several beats at once."""
    with transaction(sessions()) as s:
        runs = start_due_watches(s, now=datetime.now(UTC))
    if runs:
        log.info("started %d crawl runs", len(runs))
    return len(runs)
