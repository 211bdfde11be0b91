"""Scheduling: beat calls ``send_due_watches`` every minute; it starts a crawl for each due watch."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from celery import shared_task
from sqlalchemy.orm import Session

from db.models import CrawlRun, Watch
from db.session import rowcount, transaction
from tasks.base import GuardedTask
from tasks.db import sessions

log = logging.getLogger(__name__)


def start_due_watches(s: Session, *, now: datetime, only: list[int] | None = None) -> list[int]:
    """Create a queued crawl run for every due watch and send its crawl after commit.

    Each watch is claimed with a conditional update on its ``next_run_at``, so two schedulers
    running at once start each due watch once.
    """
    from crawler.profile import why_not_crawlable
    from db.models import CrawlStatus, Marketplace
    from tasks.outbox import send_after_commit

    q = sa.select(Watch.id, Watch.next_run_at, Watch.schedule_minutes, Marketplace.spider,
                  Marketplace.profile, Marketplace.code).join(
        Marketplace, Marketplace.id == Watch.marketplace_id
    ).where(Watch.active.is_(True), Watch.next_run_at <= now)
    if only is not None:
        q = q.where(Watch.id.in_(only))
    run_ids: list[int] = []
    for watch_id, due, minutes, spider, profile, code in s.execute(
        q.order_by(Watch.next_run_at)
    ).all():
        claimed = rowcount(s.execute(
            sa.update(Watch)
            .where(Watch.id == watch_id, Watch.next_run_at == due)
            .values(next_run_at=now + timedelta(minutes=minutes), last_run_at=now)
        ))
        if claimed != 1:
            continue
        refused = why_not_crawlable(spider, profile)
        if refused:  # refused here, in the open, not in a worker's log
            s.add(CrawlRun(watch_id=watch_id, status=CrawlStatus.FAILED, started_at=now,
                           finished_at=now, error=f"not started: {refused}"))
            log.error("watch %s on %s not crawled: %s", watch_id, code, refused)
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


def sweep_lost_work(s: Session, *, now: datetime, older_than: timedelta,
                    lost_after: timedelta | None = None) -> tuple[int, int]:
    """Re-send work whose message was lost on the way (a broker that died between handing a
    message out and recording it as unacknowledged loses it for good): crawl runs still queued,
    and listings of finished crawls still unmatched, after ``older_than``; and crawl runs whose
    worker stopped beating ``lost_after`` ago (its host died mid-crawl: whichever crawler worker
    gets the message takes the run over). The store is the source of truth and the tasks are
    idempotent, so a message that was only slow does no harm.
    """
    from db.models import CrawlSighting, CrawlStatus, Listing
    from tasks.crawl import MATCH_BATCH
    from tasks.outbox import send_after_commit

    cutoff = now - older_than
    runs = s.scalars(
        sa.select(CrawlRun.id).where(CrawlRun.status == CrawlStatus.QUEUED,
                                     CrawlRun.created_at < cutoff).order_by(CrawlRun.id)
    ).all()
    if lost_after is not None:
        last_sign = sa.func.coalesce(CrawlRun.heartbeat_at, CrawlRun.started_at)
        runs = [*runs, *s.scalars(
            sa.select(CrawlRun.id).where(CrawlRun.status == CrawlStatus.RUNNING,
                                         last_sign < now - lost_after).order_by(CrawlRun.id)
        )]
    for run_id in runs:
        send_after_commit(s, "tasks.crawl.crawl_watch", [run_id])
    running = sa.select(CrawlSighting.listing_id).join(
        CrawlRun, CrawlRun.id == CrawlSighting.crawl_run_id
    ).where(CrawlRun.status.in_((CrawlStatus.QUEUED, CrawlStatus.RUNNING)))
    ids = s.scalars(
        sa.select(Listing.id)
        .where(sa.or_(Listing.matched_hash.is_(None), Listing.matched_hash != Listing.content_hash))
        .where(Listing.last_seen_at < cutoff)
        .where(Listing.id.not_in(running))
        .order_by(Listing.id)
        .limit(10_000)
    ).all()
    for i in range(0, len(ids), MATCH_BATCH):
        send_after_commit(s, "tasks.match.match_listings", [list(ids[i : i + MATCH_BATCH])])
    return len(runs), len(ids)


def sweep_notices(s: Session, *, now: datetime, lease: timedelta,
                  older_than: timedelta) -> int:
    """Notices whose sending worker died (still "sending" after its lease), or whose send
    message never arrived (still "queued"): send the task again. The next attempt goes out
    under the notice's same idempotency key, or, attempts spent, ends as needs reconciliation."""
    from db.enforcement import Notice, NoticeStatus
    from db.notices import finish_notice, stale_notices
    from markwatch.settings import get_settings
    from tasks.outbox import send_after_commit

    max_attempts = get_settings().notice_max_attempts
    ids = stale_notices(s, now=now, lease=lease, queued_before=now - older_than)
    for notice_id in ids:
        notice = s.get(Notice, notice_id)
        if notice is not None and notice.status == NoticeStatus.SENDING and (
            notice.attempts >= max_attempts
        ):
            finish_notice(s, notice_id, sender=notice.sender or "unknown", ok=False,
                          error="the worker sending it stopped answering on the last attempt",
                          unresolved=True)
            continue
        send_after_commit(s, "tasks.enforcement.send_notice", [notice_id])
    return len(ids)


@shared_task(name="tasks.schedule.sweep", base=GuardedTask)
def sweep() -> dict[str, int]:
    """Beat's safety net for lost messages (see ``sweep_lost_work``)."""
    from markwatch.settings import get_settings

    settings = get_settings()
    now = datetime.now(UTC)
    with transaction(sessions()) as s:
        runs, listings = sweep_lost_work(
            s, now=now, older_than=timedelta(seconds=settings.sweep_after),
            lost_after=timedelta(seconds=settings.crawl_lost_after),
        )
        notices = sweep_notices(s, now=now, lease=timedelta(seconds=settings.notice_lease),
                                older_than=timedelta(seconds=settings.sweep_after))
    if runs or listings:
        log.warning("re-sent %d crawl runs and %d listings whose messages were lost", runs,
                    listings)
    if notices:
        log.warning("re-sent %d notices whose sending stopped", notices)
    return {"runs": runs, "listings": listings, "notices": notices}
