"""Delivery bookkeeping: the outbox, per-task delivery counts and the dead-letter table.

- **Outbox**: a task to send is written as a row in the same transaction as the rows it is about,
  then published after commit. If the broker is down the row stays, and a periodic relay sends it
  when the broker is back; so committed work is never lost, and rolled-back work is never sent.
- **Delivery counts**: every delivery of a task increments its count in its own transaction
  before the task runs, so a message whose processing kills the worker is recognised when it
  comes back, however it died.
- **Dead letters**: a task delivered more often than allowed is parked here with its reason,
  instead of running again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.models import Base
from db.types import UTCDateTime, created_at, intpk, utcnow


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[intpk]
    task_name: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[created_at]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class TaskDelivery(Base):
    __tablename__ = "task_delivery"

    task_id: Mapped[str] = mapped_column(sa.String(155), primary_key=True)
    task_name: Mapped[str] = mapped_column(sa.String(200))
    deliveries: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeadLetter(Base):
    __tablename__ = "dead_letter"

    id: Mapped[intpk]
    task_id: Mapped[str] = mapped_column(sa.String(155), unique=True)
    task_name: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list[Any]] = mapped_column(default=list)
    deliveries: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[created_at]


# --- outbox ---------------------------------------------------------------------------------------


def add_outbox(session: Session, task_name: str, args: list[Any]) -> OutboxMessage:
    msg = OutboxMessage(task_name=task_name, args=args)
    session.add(msg)
    session.flush()
    return msg


def due_outbox(session: Session, *, older_than: timedelta, limit: int = 500) -> list[OutboxMessage]:
    """Messages left behind: not published right after their commit (broker down, process
    killed between commit and publish)."""
    cutoff = utcnow() - older_than
    return list(
        session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.created_at <= cutoff)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


# --- deliveries and dead letters ------------------------------------------------------------------


def count_delivery(session: Session, task_id: str, task_name: str) -> int:
    """Record one more delivery of ``task_id``; return how many there have been."""
    now = utcnow()
    row = session.get(TaskDelivery, task_id, with_for_update=True)
    if row is None:
        row = TaskDelivery(task_id=task_id, task_name=task_name, deliveries=0, first_seen_at=now,
                           last_seen_at=now)
        session.add(row)
    row.deliveries += 1
    row.last_seen_at = now
    session.flush()
    return row.deliveries


def forget_delivery(session: Session, task_id: str) -> None:
    session.execute(sa.delete(TaskDelivery).where(TaskDelivery.task_id == task_id))


def park(session: Session, *, task_id: str, task_name: str, args: list[Any], deliveries: int,
         reason: str) -> bool:
    """Park a task in the dead-letter table (once per task id). True if it was parked now."""
    if session.scalar(sa.select(DeadLetter.id).where(DeadLetter.task_id == task_id)):
        return False
    session.add(DeadLetter(task_id=task_id, task_name=task_name, args=args,
                           deliveries=deliveries, reason=reason[:4000]))
    forget_delivery(session, task_id)
    session.flush()
    return True
