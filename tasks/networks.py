"""Seller networks on a schedule: beat recomputes them from the store (``markwatch.networks``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task

from tasks.base import GuardedTask

log = logging.getLogger(__name__)


@shared_task(name="tasks.networks.recompute", base=GuardedTask)
def recompute() -> int:
    """Recompute every seller network in one transaction. Idempotent: the same store gives the
    same networks, under the same ids."""
    from db.session import transaction
    from markwatch.networks import recompute_networks
    from tasks.db import sessions

    with transaction(sessions()) as s:
        return recompute_networks(s, now=datetime.now(UTC))
