"""Evidence checkpoints on a schedule: beat seals the heads of every alert's history chain into
a signed entry of the checkpoint log (``markwatch/checkpoints.py``)."""

from __future__ import annotations

import logging

from celery import shared_task

from tasks.base import GuardedTask

log = logging.getLogger(__name__)


@shared_task(name="tasks.evidence.checkpoint", base=GuardedTask)
def checkpoint() -> int:
    """Write one checkpoint. Safe with two beats: the log is locked while one is written, and a
    second one right after only repeats the same heads."""
    from markwatch.checkpoints import checkpoint_log, signing_key, write_checkpoint
    from tasks.db import sessions

    with sessions()() as s:
        w = write_checkpoint(s, checkpoint_log(), signing_key())
    log.info("evidence checkpoint %d: %d alert histories, %d changed, root %s", w.seq, w.alerts,
             w.changed, w.root)
    return w.seq
