"""Sending tasks through the outbox (see ``db.reliability``)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from celery import shared_task
from sqlalchemy.orm import Session

from db.reliability import OutboxMessage, add_outbox
from db.session import on_commit, transaction
from tasks.base import GuardedTask
from tasks.db import sessions

log = logging.getLogger(__name__)

#: Messages older than this that are still in the outbox were not published after their commit.
RELAY_AFTER = timedelta(seconds=5)


def send_after_commit(session: Session, task_name: str, args: list[Any]) -> None:
    """Queue ``task_name(*args)`` in the caller's transaction; publish it once that commits."""
    msg = add_outbox(session, task_name, args)
    on_commit(session, lambda: publish([msg.id]))


def publish(ids: list[int]) -> int:
    """Publish outbox messages and delete them; leave them for the relay if the broker fails.

    Sends through the current Celery app: markwatch's own (``tasks.app``) in every process
    that imported ``tasks``, or one a test made current with ``make_celery``."""
    from celery import current_app as app

    sent = 0
    for msg_id in ids:
        with transaction(sessions()) as s:
            msg = s.scalar(
                sa.select(OutboxMessage)
                .where(OutboxMessage.id == msg_id)
                .with_for_update(skip_locked=True)
            )
            if msg is None:  # published already, or another relay holds it
                continue
            try:
                # The task id is fixed by the outbox row, so a message published twice (we died
                # between publishing and deleting the row) is one task with two deliveries.
                app.send_task(msg.task_name, args=msg.args, task_id=f"outbox-{msg.id}")
            except Exception as exc:  # broker unreachable: keep the row for the relay
                msg.attempts += 1
                msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("outbox message %s not published yet: %s", msg.id, msg.last_error)
                continue
            s.delete(msg)
            sent += 1
    return sent


@shared_task(name="tasks.outbox.relay_outbox", base=GuardedTask)
def relay_outbox() -> int:
    """Publish what was committed but not published (beat sends this every few seconds)."""
    from db.reliability import due_outbox

    with sessions()() as s:
        ids = [m.id for m in due_outbox(s, older_than=RELAY_AFTER)]
    sent = publish(ids) if ids else 0
    if sent:
        log.info("relayed %d outbox messages", sent)
    return sent


def relay_now() -> int:
    """Publish every waiting message regardless of age (``markwatch outbox relay``)."""
    with sessions()() as s:
        ids = list(s.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id)))
    return publish(ids)
