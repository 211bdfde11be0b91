"""Crawl task: run one watch's crawl in a child process, then queue matching for what changed."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from celery import shared_task
from sqlalchemy.orm import Session

from db.models import CrawlRun, CrawlSighting, CrawlStatus, Listing
from db.session import rowcount, transaction
from markwatch.settings import get_settings
from tasks.base import GuardedTask, WorkFailed
from tasks.db import sessions
from tasks.outbox import send_after_commit

log = logging.getLogger(__name__)

MATCH_BATCH = 50
#: seconds between two looks at what a running crawl has stored
STREAM_EVERY = 5.0


def claim_run(run_id: int, *, now: datetime, stale_after: timedelta, worker: str = "") -> bool:
    """Move a queued run, or a running one whose worker stopped beating ``stale_after`` ago (its
    host died), to running under ``worker``. Only one caller wins."""
    last_sign = sa.func.coalesce(CrawlRun.heartbeat_at, CrawlRun.started_at)
    with transaction(sessions()) as s:
        res = s.execute(
            sa.update(CrawlRun)
            .where(
                CrawlRun.id == run_id,
                sa.or_(
                    CrawlRun.status == CrawlStatus.QUEUED,
                    sa.and_(CrawlRun.status == CrawlStatus.RUNNING, last_sign < now - stale_after),
                ),
            )
            .values(status=CrawlStatus.RUNNING, started_at=now, heartbeat_at=now,
                    worker=worker[:200] or None)
        )
        return rowcount(res) == 1


def heartbeat(run_id: int, worker: str) -> bool:
    """Say the run is still being crawled here; False if another worker has taken it over."""
    with transaction(sessions()) as s:
        res = s.execute(
            sa.update(CrawlRun)
            .where(CrawlRun.id == run_id, CrawlRun.status == CrawlStatus.RUNNING,
                   CrawlRun.worker == worker[:200])
            .values(heartbeat_at=datetime.now(UTC))
        )
        return rowcount(res) == 1


class CrawlFailed(WorkFailed):
    """The crawl ran and failed; the run records why (``markwatch crawls``)."""


class TakenOver(Exception):
    """Another worker took the run over (this one looked dead to it); stop without closing it."""


@shared_task(name="tasks.crawl.crawl_watch", bind=True, base=GuardedTask)
def crawl_watch(self, run_id: int) -> str:
    """Crawl the watch of crawl run ``run_id`` and queue matching for new or changed listings.

    Idempotent: a run that is already running or finished is left alone, so a redelivered message
    does nothing. No automatic retry: the next scheduled run is the retry. A crawl that failed
    ends the task as failed (``CrawlFailed``), after its run is closed and what it stored is
    queued for matching.
    """
    import os

    settings = get_settings()
    now = datetime.now(UTC)
    worker = f"{self.request.hostname or 'local'}:{os.getpid()}"
    if not claim_run(run_id, now=now, stale_after=timedelta(seconds=settings.crawl_lost_after),
                     worker=worker):
        # gone (its transaction was rolled back), running on a live worker, or finished
        log.info("crawl run %s is not queued; nothing to do", run_id)
        return "skipped"
    try:
        error = run_crawler(run_id, timeout=settings.crawl_timeout + 60, worker=worker)
    except TakenOver:
        log.warning("crawl run %s was taken over by another worker; stopped here", run_id)
        return "taken over"
    queue_matching(run_id, error=error)
    outcome = "failed" if error else "succeeded"
    _count_crawl(run_id, outcome)
    if error:
        raise CrawlFailed(f"crawl run {run_id} failed: {error}")
    return outcome


def _count_crawl(run_id: int, outcome: str) -> None:
    """Pages fetched and skipped, listings stored: from the stats the crawl process recorded."""
    from db.models import Marketplace, Watch
    from markwatch.metrics import count_crawl

    with sessions()() as s:
        row = s.execute(
            sa.select(CrawlRun.stats, Marketplace.code)
            .join(Watch, CrawlRun.watch_id == Watch.id)
            .join(Marketplace, Watch.marketplace_id == Marketplace.id)
            .where(CrawlRun.id == run_id)
        ).first()
    if row is not None:
        count_crawl(row.code, row.stats or {}, outcome)


def run_crawler(run_id: int, *, timeout: float, worker: str = "") -> str | None:
    """Run ``python -m crawler.run RUN_ID``; while it runs, queue matching for what it has stored
    so far, so alerts follow captures within seconds instead of after the whole crawl, and beat
    the run's heartbeat (a run whose heartbeat stops is handed to another worker)."""
    import tempfile
    import time

    sent: set[int] = set()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.run", str(run_id)],
            stdout=subprocess.DEVNULL, stderr=errors,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                proc.wait(timeout=STREAM_EVERY)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    return f"crawler did not finish within {timeout:.0f} s"
                if worker and not heartbeat(run_id, worker):
                    proc.kill()
                    proc.wait()
                    raise TakenOver(run_id) from None
                queue_unmatched(run_id, sent)
        if proc.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-2000:].decode("utf-8", "replace")
            return f"crawler exited {proc.returncode}: {tail}"
    return None


def _unmatched(s: Session, run_id: int) -> list[int]:
    return list(
        s.scalars(
            sa.select(Listing.id)
            .join(CrawlSighting, CrawlSighting.listing_id == Listing.id)
            .where(CrawlSighting.crawl_run_id == run_id)
            .where(sa.or_(Listing.matched_hash.is_(None), Listing.matched_hash != Listing.content_hash))
            .distinct()
            .order_by(Listing.id)
        )
    )


def _send_batches(s: Session, ids: list[int]) -> list[list[int]]:
    batches = [ids[i : i + MATCH_BATCH] for i in range(0, len(ids), MATCH_BATCH)]
    for batch in batches:
        send_after_commit(s, "tasks.match.match_listings", [batch])
    return batches


def queue_unmatched(run_id: int, sent: set[int]) -> int:
    """Queue matching for listings this run stored that are not matched nor queued yet."""
    with transaction(sessions()) as s:
        ids = [i for i in _unmatched(s, run_id) if i not in sent]
        _send_batches(s, ids)
    sent.update(ids)
    return len(ids)


def queue_matching(run_id: int, *, error: str | None) -> list[list[int]]:
    """Close the run and, after that commits, send match tasks for every listing it stored whose
    content has not been matched yet (also when the crawl failed half-way: what was stored is
    still screened). A listing queued while the crawl ran may be queued again here if it is still
    waiting; matching it twice changes nothing."""
    with transaction(sessions()) as s:
        run = s.get(CrawlRun, run_id)
        assert run is not None
        run.status = CrawlStatus.FAILED if error else CrawlStatus.SUCCEEDED
        run.error = error
        run.finished_at = datetime.now(UTC)
        batches = _send_batches(s, _unmatched(s, run_id))
    if error:
        log.warning("crawl run %s failed: %s", run_id, error)
    log.info("crawl run %s: %d listings queued for matching", run_id, sum(map(len, batches)))
    return batches
