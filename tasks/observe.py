"""Celery signal handlers that feed ``markwatch.metrics`` and serve it from each worker.

The worker's main process chooses prometheus-client's multiprocess mode before its pool forks
(``celeryd_init``), serves the summed figures once the pool is up (``worker_ready``); pool
processes time every task and count its failures.
"""

from __future__ import annotations

import os
import time

from celery import signals

from markwatch.settings import get_settings

_started: dict[str, float] = {}


@signals.celeryd_init.connect
def _choose_multiprocess_mode(sender: str | None = None, **_: object) -> None:
    settings = get_settings()
    if settings.metrics_port:
        from markwatch.metrics import use_multiprocess_dir

        use_multiprocess_dir(settings.data_dir, sender or f"worker-{os.getpid()}")


@signals.worker_ready.connect
def _serve_metrics(**_: object) -> None:
    settings = get_settings()
    if settings.metrics_port:
        from markwatch.metrics import serve

        serve(settings.metrics_port, settings.metrics_host)


@signals.worker_process_shutdown.connect
def _pool_process_gone(**_: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **_: object) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_finished(task_id: str | None = None, task: object = None, state: str | None = None,
                   **_: object) -> None:
    began = _started.pop(task_id or "", None)
    if began is None or task is None:
        return
    from markwatch.metrics import metrics

    metrics().task_seconds.labels(getattr(task, "name", "?"), (state or "unknown").lower()
                                  ).observe(time.monotonic() - began)


@signals.task_failure.connect
def _task_failed(sender: object = None, exception: BaseException | None = None,
                 **_: object) -> None:
    from markwatch.metrics import metrics

    metrics().task_failures.labels(getattr(sender, "name", "?"),
                                   type(exception).__name__ if exception else "?").inc()
