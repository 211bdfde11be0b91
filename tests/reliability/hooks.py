"""Test-only worker modules, loaded with ``celery worker --include tests.reliability.hooks``.

- ``MARKWATCH_TEST_SLOW_TASKS=1`` makes every task pause a little before it runs and after it
  returned (after its transaction committed, before the worker acknowledges the message), so
  that kills from the fault tests land inside tasks and between the database write and the ack.
- Two poison tasks, built on the production base class, for the dead-letter test: one kills its
  own worker process after doing real work, one overruns its hard time limit.
"""

from __future__ import annotations

import os
import random
import signal
import time

from celery import shared_task
from celery.signals import task_postrun, task_prerun

from tasks.base import GuardedTask
from tasks.match import match_listings

_SLOW = os.environ.get("MARKWATCH_TEST_SLOW_TASKS") == "1"


@task_prerun.connect
def _before(**_kw) -> None:
    if _SLOW:
        time.sleep(random.uniform(0, 0.15))


@task_postrun.connect
def _after(**_kw) -> None:
    if _SLOW:
        time.sleep(random.uniform(0, 0.25))


@shared_task(name="tests.poison.kill_worker", base=GuardedTask)
def kill_worker(listing_ids: list[int]) -> None:
    """Match the listings for real, then die as a segfaulting library would."""
    match_listings.run(listing_ids)
    os.kill(os.getpid(), signal.SIGKILL)


@shared_task(name="tests.poison.overrun", base=GuardedTask, time_limit=2)
def overrun(listing_ids: list[int]) -> None:
    """Match the listings for real, then hang past the task's hard time limit."""
    match_listings.run(listing_ids)
    time.sleep(60)


class KillingWebhookSender:
    """The production webhook sender, in a worker that dies right after a notice went out and
    before the outcome is committed, ``MARKWATCH_TEST_KILL_AFTER_SEND`` of the time."""

    name = "webhook"

    def __init__(self) -> None:
        from markwatch.notices import WebhookSender
        from markwatch.settings import get_settings

        self.inner = WebhookSender(get_settings().notice_webhook_url, timeout=5)
        self.p = float(os.environ.get("MARKWATCH_TEST_KILL_AFTER_SEND", "0"))

    def send(self, notice):  # type: ignore[no-untyped-def]
        ref = self.inner.send(notice)
        if random.random() < self.p:
            os.kill(os.getpid(), signal.SIGKILL)
        return ref


def _register() -> None:
    from markwatch.notices import register_sender

    register_sender("test-killing-webhook", KillingWebhookSender)


_register()
