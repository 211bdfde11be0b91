"""Enforcement tasks: send a queued notice (at most once), re-check the listings of open cases.

Both take ids (or nothing), re-read their rows and return quietly when there is nothing to do.
The bodies are plain functions over a session factory, so the web app can run them in-process
in embedded mode (no worker), and the Celery tasks are thin wrappers around them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import shared_task

from db.session import transaction
from tasks.base import GuardedTask

log = logging.getLogger(__name__)

#: first pause between two attempts of a notice, doubled each time (capped at 30 s)
NOTICE_BACKOFF = 1.0

Fetch = Callable[[str], int]  # url -> HTTP status (raise OSError when unreachable)


def deliver_notice(factory: Any, notice_id: int, sender: Any = None, *,
                   sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Send one queued notice, at most once as the recipient sees it.

    The claim (queued -> sending, attempts + 1) is committed before anything is sent. Every
    attempt carries the notice's one idempotency key, so a retry after an unclear outcome (no
    answer, a dropped connection, a 5xx) is recognised by the recipient as the same notice.
    Attempts back off exponentially; after ``MARKWATCH_NOTICE_MAX_ATTEMPTS`` without a clear
    answer the notice is left as "needs reconciliation" for a person, never resent under a new
    key. A worker that dies mid-send leaves the notice "sending"; once its lease is over, the
    sweep sends the task again and the next attempt goes out under the same key.
    Returns the recipient's reference, or None when nothing was sent now.
    """
    from db.enforcement import RightsDocument
    from db.models import Marketplace, RightsHolder
    from db.notices import claim_notice, finish_notice, next_attempt
    from markwatch.notices import Attachment, OutgoingNotice, RejectedNotice, get_sender
    from markwatch.settings import get_settings

    settings = get_settings()
    with transaction(factory) as s:
        notice = claim_notice(s, notice_id, lease=timedelta(seconds=settings.notice_lease),
                              max_attempts=settings.notice_max_attempts)
        if notice is None:
            return None
        attempt, held_since = notice.attempts, notice.claimed_at
        assert held_since is not None  # set by the claim
        docs = [s.get(RightsDocument, i) for i in notice.document_ids]
        outgoing = OutgoingNotice(
            notice_id=notice.id,
            idempotency_key=notice.idempotency_key,
            marketplace_code=s.get(Marketplace, notice.marketplace_id).code,  # type: ignore[union-attr]
            rights_holder_slug=s.get(RightsHolder, notice.rights_holder_id).slug,  # type: ignore[union-attr]
            html=notice.html,
            csv=notice.csv,
            attachments=tuple(
                Attachment(d.filename, d.content_type, d.body) for d in docs if d is not None
            ),
        )
    sender = sender or get_sender()
    while True:
        try:
            ref = sender.send(outgoing)
        except RejectedNotice as exc:
            log.warning("notice %s refused by %s: %s", notice_id, sender.name, exc)
            with transaction(factory) as s:
                finish_notice(s, notice_id, sender=sender.name, ok=False, error=str(exc)[:2000])
            _count_notice("rejected")
            return None
        except Exception as exc:  # no clear answer: the same key again, after a pause
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if attempt >= settings.notice_max_attempts:
                log.error("notice %s: no clear answer after %d attempts; needs reconciliation",
                          notice_id, attempt)
                with transaction(factory) as s:
                    finish_notice(s, notice_id, sender=sender.name, ok=False, error=error,
                                  unresolved=True)
                _count_notice("needs_reconciliation")
                return None
            log.warning("notice %s attempt %d: %s; retrying under the same key", notice_id,
                        attempt, error)
            # renew the lease first, then pause: the pause stays well inside the lease
            with transaction(factory) as s:
                held = next_attempt(s, notice_id, held_since=held_since)
            if held is None:
                log.warning("notice %s: lease lost to another worker; it carries on", notice_id)
                _count_notice("lease_lost")
                return None
            _count_notice("retried")
            attempt, held_since = held
            sleep(min(NOTICE_BACKOFF * 2 ** (attempt - 2), settings.notice_lease / 4, 30.0))
            continue
        with transaction(factory) as s:
            finish_notice(s, notice_id, sender=sender.name, ok=True, reference=ref)
        _count_notice("sent")
        log.info("notice %s sent by %s (attempt %d): %s", notice_id, sender.name, attempt, ref)
        return ref


def http_status(url: str, *, timeout: float = 15.0) -> int:
    """GET the URL under the SSRF guard, following redirects hop by hop (each one checked); its
    status (4xx/5xx included). Raises OSError when it cannot be reached or the guard refuses it
    (``OutboundBlocked``: nothing was sent)."""
    from crawler.outbound import outbound_client

    with outbound_client(timeout=timeout, max_body=64 * 1024) as client:
        return client.request("GET", url).status


def recheck(factory: Any, *, fetch: Fetch = http_status, limit: int = 500) -> dict[str, int]:
    """Re-fetch the listings of cases whose notice went out; record whether each is still up.
    A removed listing that is up again reopens its case."""
    from db.rechecks import listings_to_recheck, record_check

    with factory() as s:
        todo = listings_to_recheck(s, limit=limit)
    from crawler.outbound import OutboundBlocked

    out = {"checked": 0, "up": 0, "gone": 0, "errors": 0, "blocked": 0, "reopened": 0}
    for case_id, listing_id, url in todo:
        status: int | None
        try:
            status = fetch(url)
            error = None
        except OutboundBlocked as exc:
            status, error = None, str(exc)[:500]
            out["blocked"] += 1
        except OSError as exc:
            status, error = None, str(exc)[:500]
        up = status is not None and 200 <= status < 300
        with transaction(factory) as s:
            reopened = record_check(s, case_id, listing_id, up=up, http_status=status, error=error)
        out["checked"] += 1
        out["up" if up else ("gone" if status in (404, 410) else "errors")] += 1
        out["reopened"] += int(reopened)
    return out


@shared_task(name="tasks.enforcement.send_notice", bind=True, base=GuardedTask, max_retries=2)
def send_notice(self, notice_id: int) -> str | None:
    """Send a queued notice at most once (see ``deliver_notice``). Database errors before the
    claim are retried with backoff; a notice already claimed is never sent again."""
    from sqlalchemy.exc import OperationalError

    from tasks.db import sessions

    try:
        return deliver_notice(sessions(), notice_id)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 30)) from exc


@shared_task(name="tasks.enforcement.recheck_open_cases", base=GuardedTask)
def recheck_open_cases() -> dict[str, int]:
    """Beat: re-fetch the listings of open cases (oldest check first, 500 per run)."""
    from tasks.db import sessions

    out = recheck(sessions())
    log.info("rechecked case listings: %s", out)
    return out


def _count_notice(outcome: str) -> None:
    from markwatch.metrics import metrics

    metrics().notice_outcomes.labels(outcome).inc()
