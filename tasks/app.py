"""The Celery application. Redis in production; a filesystem queue (no server) by default.

Delivery policy for every task: acknowledged late (after it ran), re-queued if the worker dies
mid-task, one message prefetched per process. Tasks are therefore written to be idempotent.
"""

from __future__ import annotations

from celery import Celery

from markwatch.settings import Settings, get_settings
from tasks import fsqueue

fsqueue.register()  # the embedded broker's messages appear whole (tasks/fsqueue.py)

QUEUE = "markwatch"
CRAWL_QUEUE = "crawl"
TASK_MODULES = ["tasks.crawl", "tasks.match", "tasks.schedule", "tasks.enforcement", "tasks.outbox",
                "tasks.evidence", "tasks.networks"]


def celery_config(settings: Settings) -> dict[str, object]:
    conf: dict[str, object] = {
        "broker_url": settings.effective_broker_url,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # a task killed by the hard time limit is re-queued too; tasks.base counts deliveries
        "task_acks_on_timeout": False,
        "task_time_limit": settings.task_time_limit,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": QUEUE,
        # Crawls hold a worker process for minutes; matching takes milliseconds. Separate queues
        # let separate workers (docker-compose: "crawler" and "worker") serve them, so alerts
        # follow captures while crawls are still running.
        "task_routes": {"tasks.crawl.crawl_watch": {"queue": CRAWL_QUEUE}},
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": {
            "send-due-watches": {"task": "tasks.schedule.send_due_watches",
                                 "schedule": settings.schedule_interval},
            "recheck-open-cases": {"task": "tasks.enforcement.recheck_open_cases",
                                   "schedule": 6 * 3600.0},
            "relay-outbox": {"task": "tasks.outbox.relay_outbox",
                             "schedule": settings.schedule_interval},
            "evidence-checkpoint": {"task": "tasks.evidence.checkpoint",
                                    "schedule": settings.evidence_checkpoint_interval},
            "seller-networks": {"task": "tasks.networks.recompute",
                                "schedule": settings.networks_interval},
            "sweep-lost-work": {"task": "tasks.schedule.sweep",
                                "schedule": max(settings.sweep_after / 4, settings.schedule_interval)},
        },
    }
    if settings.uses_embedded_broker:
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        conf["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
        # the filesystem transport has no broadcast exchange for remote control
        conf["worker_enable_remote_control"] = False
        conf["beat_schedule_filename"] = str(settings.data_dir / "celerybeat-schedule")
    else:
        # Redis re-delivers unacknowledged messages after this many seconds. A crawl that runs
        # longer is handed to a second worker, which finds the run claimed and does nothing.
        # Each worker scans for such messages every ``unacked_restore_interval`` seconds; kombu's
        # default scans on every tenth tick only (about every 100 s), so a message held by a
        # worker killed outright waited up to 100 s past its visibility timeout. One scan (a
        # ZRANGE on the unacked index) per worker every few seconds costs Redis nothing.
        conf["broker_transport_options"] = {
            "visibility_timeout": settings.broker_visibility_timeout,
            "global_keyprefix": settings.broker_key_prefix,
            "unacked_restore_interval": restore_interval(settings.broker_visibility_timeout),
            "unacked_restore_throttle": 1,
        }
    return conf


def restore_interval(visibility_timeout: int) -> int:
    """Seconds between a worker's scans for messages a dead worker left unacknowledged: a fifth
    of the visibility timeout, between 1 and 10 s."""
    return max(1, min(10, visibility_timeout // 5))


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured from ``settings`` (it becomes the current app)."""
    app = Celery("markwatch", include=TASK_MODULES)
    app.conf.update(celery_config(settings))
    return app


# metrics: task timings and failures, and each worker's Prometheus endpoint
import tasks.observe  # noqa: E402, F401

#: The process's app. Its configuration is read from the settings when it is first used, so a
#: process that sets MARKWATCH_* before sending its first task gets those settings.
app = Celery("markwatch", include=TASK_MODULES)
app.add_defaults(lambda: celery_config(get_settings()))
