"""The base class of every markwatch task: delivery limits and a dead-letter table.

Messages are acknowledged late and re-queued when the worker dies or the hard time limit kills
the task, so a poison message (one whose processing kills the worker) would come back forever.
Each delivery is therefore counted in the store *before* the task runs; the delivery after the
last allowed one is not run but parked in ``dead_letter`` with its reason. An ordinary exception
is parked at once (it would fail the same way again); the tasks that expect passing errors retry
them explicitly, and those retries count as deliveries too.
"""

from __future__ import annotations

import logging
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import Task
from celery.exceptions import Retry, TimeLimitExceeded

from db.reliability import count_delivery, forget_delivery, park
from db.session import transaction

log = logging.getLogger(__name__)

MAX_DELIVERIES = 3


class WorkFailed(Exception):
    """The task ran to its end and the work it did failed (a crawl that could not crawl). Celery
    records the task as failed; it is not parked as a dead letter, since its failure is already
    recorded where the work lives (the crawl run) and the next schedule is its retry."""


class GuardedTask(Task):
    abstract = True
    max_deliveries = MAX_DELIVERIES

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from tasks.db import sessions

        task_id = self.request.id
        if not task_id or self.request.is_eager:
            return super().__call__(*args, **kwargs)
        with transaction(sessions()) as s:
            deliveries = count_delivery(s, task_id, self.name)
        if deliveries > self.max_deliveries:
            reason = (
                f"delivered {deliveries} times: the {self.max_deliveries} earlier deliveries "
                "never finished (worker lost or hard time limit)"
            )
            with transaction(sessions()) as s:
                park(s, task_id=task_id, task_name=self.name, args=list(args),
                     deliveries=deliveries, reason=reason)
            log.error("parked %s[%s] in the dead-letter table: %s", self.name, task_id, reason)
            _count_dead_letter(self.name)
            return None
        try:
            result = super().__call__(*args, **kwargs)
        except WorkFailed:
            with transaction(sessions()) as s:
                forget_delivery(s, task_id)
            raise
        with transaction(sessions()) as s:
            forget_delivery(s, task_id)
        return result

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                   einfo: Any) -> None:
        # Lost workers and hard time limits re-queue the message; the count decides its fate.
        if isinstance(exc, TimeLimitExceeded | WorkerLostError | Retry):
            return
        if isinstance(exc, WorkFailed):
            log.warning("%s[%s] failed: %s", self.name, task_id, exc)
            return
        from tasks.db import sessions

        reason = f"{type(exc).__name__}: {exc}"
        try:
            with transaction(sessions()) as s:
                park(s, task_id=task_id, task_name=self.name, args=list(args or ()),
                     deliveries=0, reason=reason)
        except Exception:  # the store itself may be what failed; the log keeps the record
            log.exception("could not park %s[%s]", self.name, task_id)
        log.error("parked %s[%s] in the dead-letter table: %s", self.name, task_id, reason)
        _count_dead_letter(self.name)


def _count_dead_letter(task_name: str) -> None:
    from markwatch.metrics import metrics

    metrics().dead_letters.labels(task_name).inc()
