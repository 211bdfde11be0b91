"""Crawl task: run one watch's crawl in a child process, then queue matching for what changed."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from celery import shared_task

from db.models import CrawlRun, CrawlSighting, CrawlStatus, Listing
from db.session import transaction
from markwatch.settings import get_settings
from tasks.base import GuardedTask
from tasks.db import sessions
from tasks.outbox import send_after_commit

log = logging.getLogger(__name__)

MATCH_BATCH = 50


def claim_run(run_id: int, *, now: datetime, stale_after: timedelta) -> bool:
    """Move a queued run (or one whose worker died long ago) to running. Only one caller wins."""
    with transaction(sessions()) as s:
        res = s.execute(
            sa.update(CrawlRun)
            .where(
                CrawlRun.id == run_id,
                sa.or_(
                    CrawlRun.status == CrawlStatus.QUEUED,
                    sa.and_(
                        CrawlRun.status == CrawlStatus.RUNNING,
                        CrawlRun.started_at < now - stale_after,
                    ),
                ),
            )
            .values(status=CrawlStatus.RUNNING, started_at=now)
        )
        return res.rowcount == 1


@shared_task(name="tasks.crawl.crawl_watch", bind=True, base=GuardedTask)
def crawl_watch(self, run_id: int) -> str:
    """Crawl the watch of crawl run ``run_id`` and queue matching for new or changed listings.

    Idempotent: a run that is already running or finished is left alone, so a redelivered message
    does nothing. No automatic retry: the next scheduled run is the retry.
    """
    settings = get_settings()
    now = datetime.now(UTC)
    if not claim_run(run_id, now=now, stale_after=timedelta(seconds=settings.crawl_timeout * 2)):
        # gone (its transaction was rolled back), already running elsewhere, or finished
        log.info("crawl run %s is not queued; nothing to do", run_id)
        return "skipped"
    cmd = [sys.executable, "-m", "crawler.run", str(run_id)]
    error = None
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=settings.crawl_timeout + 60, check=False
        )
        if proc.returncode != 0:
            error = f"crawler exited {proc.returncode}: {proc.stderr[-2000:]}"
    except subprocess.TimeoutExpired:
        error = f"crawler did not finish within {settings.crawl_timeout + 60} s"
    queue_matching(run_id, error=error)
    return "failed" if error else "succeeded"


def queue_matching(run_id: int, *, error: str | None) -> list[list[int]]:
    """Close the run and, after that commits, send match tasks for listings whose content has not
    been matched yet (also when the crawl failed half-way: what was stored is still screened)."""
    with transaction(sessions()) as s:
        run = s.get(CrawlRun, run_id)
        assert run is not None
        ids = s.scalars(
            sa.select(Listing.id)
            .join(CrawlSighting, CrawlSighting.listing_id == Listing.id)
            .where(CrawlSighting.crawl_run_id == run_id)
            .where(sa.or_(Listing.matched_hash.is_(None), Listing.matched_hash != Listing.content_hash))
            .distinct()
            .order_by(Listing.id)
        ).all()
        run.status = CrawlStatus.FAILED if error else CrawlStatus.SUCCEEDED
        run.error = error
        run.finished_at = datetime.now(UTC)
        batches = [list(ids[i : i + MATCH_BATCH]) for i in range(0, len(ids), MATCH_BATCH)]
        for batch in batches:
            send_after_commit(s, "tasks.match.match_listings", [batch])
    if error:
        log.warning("crawl run %s failed: %s", run_id, error)
    log.info("crawl run %s: %d listings queued for matching", run_id, sum(map(len, batches)))
    return batches
