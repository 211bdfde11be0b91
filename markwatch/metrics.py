"""Prometheus metrics (prometheus-client): what the workers and the web app are doing.

Each worker and the web app serve ``/metrics`` on ``MARKWATCH_METRICS_PORT`` (0: none).

Celery's prefork pool runs tasks in child processes, so a worker uses prometheus-client's
*multiprocess mode*: before the pool forks, the worker's main process points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory of its own (``<data dir>/metrics/<node>``),
each pool process writes its counters and histograms to memory-mapped files there, and the main
process serves their sum on one port. One port per worker (not per pool process) keeps the
Prometheus configuration a list of hosts, and counts survive a pool process that is replaced.
prometheus-client reads that variable when it is first imported, so this module imports it
lazily and nothing of ours imports it earlier.

Cluster-wide figures (queue depth, dead letters, outbox, crawl runs by status) are read from
Redis and the store when scraped, by ``ClusterCollector``; the web app serves them, so they are
counted once however many workers run.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.pages_fetched = Counter(
            "markwatch_pages_fetched_total", "Pages fetched from marketplaces (responses).",
            ["marketplace"])
        self.pages_skipped = Counter(
            "markwatch_pages_skipped_total", "Requests not fetched or responses not used, by "
            "reason (robots.txt, SSRF guard, fetch error kinds, invalid items, duplicates).",
            ["marketplace", "reason"])
        self.listings_stored = Counter(
            "markwatch_listings_stored_total", "Listings stored by crawls, by outcome "
            "(new, changed, unchanged).", ["marketplace", "outcome"])
        self.crawls = Counter(
            "markwatch_crawls_total", "Crawl runs finished, by outcome.",
            ["marketplace", "outcome"])
        self.listings_matched = Counter(
            "markwatch_listings_matched_total", "Listings screened by the matcher.")
        self.alerts_created = Counter(
            "markwatch_alerts_created_total", "Alerts created, by tier.", ["tier"])
        self.task_seconds = Histogram(
            "markwatch_task_duration_seconds", "Time a task took, by task and outcome.",
            ["task", "outcome"], buckets=_LATENCY_BUCKETS)
        self.task_failures = Counter(
            "markwatch_task_failures_total", "Tasks that raised, by task and exception.",
            ["task", "exception"])
        self.dead_letters = Counter(
            "markwatch_dead_letters_total", "Tasks parked in the dead-letter table.", ["task"])
        self.notice_outcomes = Counter(
            "markwatch_notice_outcomes_total", "Notice delivery attempts, by outcome (sent, "
            "rejected, retried, needs_reconciliation, lease_lost).", ["outcome"])
        self.http_requests = Histogram(
            "markwatch_http_request_duration_seconds", "Web app requests, by route and status.",
            ["method", "route", "status"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


@functools.cache
def metrics() -> Metrics:
    """The process's metrics, created on first use (after the worker chose multiprocess mode)."""
    return Metrics()


# --- crawl figures, from the Scrapy stats a crawl run records --------------------------------

#: Scrapy stats that count a request not fetched or a response not used, and the reason shown
_SKIP_PREFIXES = {
    "robotstxt/forbidden": "robots_txt",
    "markwatch/fetch_error/": "fetch_error_",  # crawler.middlewares.FETCH_ERROR_STAT
    "markwatch/blocked/": "ssrf_guard_",  # crawler.guard.BLOCKED_STAT
    "markwatch/dropped/": "item_",
    "markwatch/parse_errors": "parse_error",
    "dupefilter/filtered": "duplicate_request",
}


def skipped_pages(stats: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in stats.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            continue
        for prefix, label in _SKIP_PREFIXES.items():
            if key == prefix or (prefix.endswith("/") and key.startswith(prefix)):
                reason = label + key[len(prefix):] if label.endswith("_") else label
                reason = reason.replace("/", "_")[:60]
                out[reason] = out.get(reason, 0) + value
    return out


_EXTRA_SKIPS = {
    "markwatch/skipped_links": "link_not_followed",  # crawler.spiders.profile
    "markwatch/search_errors": "search_page_unreadable",
    "markwatch/robots/unavailable": "robots_txt_unavailable",
}


def crawl_skips(stats: dict[str, Any]) -> dict[str, int]:
    """What one crawl skipped, by reason, most first: the reasons ``skipped_pages`` counts, with
    product pages that gave no listing split by why (``parse_no_price``, ``parse_invalid_json_ld``
    ...), links not followed and unreadable search pages."""
    out = skipped_pages(stats)
    parse = {k.removeprefix("markwatch/skipped/"): v for k, v in stats.items()
             if k.startswith("markwatch/skipped/") and isinstance(v, int) and v > 0}
    if parse:
        out.pop("parse_error", None)
        out.update({f"parse_{k}": v for k, v in parse.items()})
    for key, label in _EXTRA_SKIPS.items():
        v = stats.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            out[label] = out.get(label, 0) + v
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def count_crawl(marketplace: str, stats: dict[str, Any], outcome: str) -> None:
    m = metrics()
    m.crawls.labels(marketplace, outcome).inc()
    m.pages_fetched.labels(marketplace).inc(int(stats.get("response_received_count", 0) or 0))
    for reason, n in skipped_pages(stats).items():
        m.pages_skipped.labels(marketplace, reason).inc(n)
    new = int(stats.get("markwatch/listings_new", 0) or 0)
    changed = int(stats.get("markwatch/listings_changed", 0) or 0)
    seen = int(stats.get("markwatch/listings_seen", 0) or 0)
    for outcome_, n in (("new", new), ("changed", changed),
                        ("unchanged", max(seen - new - changed, 0))):
        if n:
            m.listings_stored.labels(marketplace, outcome_).inc(n)


# --- serving ---------------------------------------------------------------------------------

_served: dict[str, Any] = {}
_lock = threading.Lock()


def use_multiprocess_dir(data_dir: Path, node: str) -> Path:
    """Point prometheus-client at a fresh directory for this worker's processes. Must run
    before prometheus-client is first imported (the worker's main process, before the pool)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in node)[:100] or "worker"
    path = data_dir / "metrics" / safe
    shutil.rmtree(path, ignore_errors=True)  # counts of a previous run of this worker
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def serve(port: int, host: str, *, cluster: Any = None) -> int:
    """Serve this process's metrics (summed over its pool processes in multiprocess mode) on
    ``host:port``; once per process. Returns the port bound."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    with _lock:
        if "port" in _served:
            return _served["port"]
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
            metrics()  # the series exist (at zero) from the first scrape
        if cluster is not None:
            registry.register(cluster)
        server, _thread = start_http_server(port, addr=host, registry=registry)
        _served["port"] = server.server_port
        log.info("Prometheus metrics on http://%s:%s/metrics", host, server.server_port)
        return server.server_port


class ClusterCollector:
    """Figures of the whole installation, read when scraped: messages waiting in each queue and
    handed out but unacknowledged (Redis), dead letters, the outbox backlog, and crawl runs by
    status (the store). Registered by the web app only, so each is counted once."""

    def __init__(self, settings: Any, sessions: Any):
        self.settings = settings
        self.sessions = sessions

    def describe(self) -> list[Any]:
        return []  # figures are read at scrape time; nothing to check at registration

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        yield from self._queues(GaugeMetricFamily)
        yield from self._store(GaugeMetricFamily)

    def _queues(self, Gauge: Any) -> Any:
        if self.settings.uses_embedded_broker:
            return
        import redis

        from tasks.app import CRAWL_QUEUE, QUEUE

        depth = Gauge("markwatch_queue_depth", "Messages waiting in a broker queue.",
                      labels=["queue"])
        unacked = Gauge("markwatch_queue_unacked", "Messages handed to workers and not yet "
                        "acknowledged (running, or held by a worker that died).")
        prefix = self.settings.broker_key_prefix
        try:
            client = redis.Redis.from_url(self.settings.effective_broker_url,
                                          socket_timeout=2, socket_connect_timeout=2)
            for q in (QUEUE, CRAWL_QUEUE):
                depth.add_metric([q], client.llen(prefix + q))
            unacked.add_metric([], client.hlen(prefix + "unacked"))
            client.close()
        except redis.RedisError as exc:
            log.warning("metrics: the broker is not answering: %s", exc)
            return
        yield depth
        yield unacked

    def _store(self, Gauge: Any) -> Any:
        import sqlalchemy as sa

        from db.models import CrawlRun
        from db.reliability import DeadLetter, OutboxMessage

        try:
            with self.sessions() as s:
                dead = s.scalar(sa.select(sa.func.count()).select_from(DeadLetter)) or 0
                outbox = s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0
                runs = dict(s.execute(
                    sa.select(CrawlRun.status, sa.func.count()).group_by(CrawlRun.status)
                ).all())
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: the store is not answering: %s", exc)
            return
        g = Gauge("markwatch_dead_letters", "Tasks parked in the dead-letter table now.")
        g.add_metric([], dead)
        yield g
        g = Gauge("markwatch_outbox_pending", "Tasks committed but not yet published.")
        g.add_metric([], outbox)
        yield g
        g = Gauge("markwatch_crawl_runs", "Crawl runs by status.", labels=["status"])
        for status, n in runs.items():
            g.add_metric([getattr(status, "value", str(status))], n)
        yield g
