"""Metrics: the names the Grafana dashboard charts exist, crawl stats map to skip reasons, and
the web app's endpoint serves request timings and the cluster gauges."""

from __future__ import annotations

import json
import re
import urllib.request

from markwatch.metrics import Metrics, metrics, skipped_pages
from tests.conftest import REPO

CLUSTER = {"markwatch_queue_depth", "markwatch_queue_unacked", "markwatch_dead_letters",
           "markwatch_outbox_pending", "markwatch_crawl_runs"}


def exported_names() -> set[str]:
    from prometheus_client import Counter, Histogram

    names = set(CLUSTER)
    for metric in vars(metrics()).values():
        base = metric._name
        if isinstance(metric, Counter):
            names.add(base + "_total")
        elif isinstance(metric, Histogram):
            names |= {base + "_bucket", base + "_sum", base + "_count"}
    return names


def test_the_dashboard_charts_only_metrics_that_exist():
    dash = json.loads((REPO / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in re.findall(r"\bmarkwatch_[a-z_]+", e)}
    assert used and used <= exported_names(), used - exported_names()
    # every metric the issue asks for has a panel
    for wanted in ("pages_fetched", "pages_skipped", "listings_matched", "alerts_created",
                   "task_duration", "task_failures", "queue_depth", "dead_letters",
                   "notice_outcomes"):
        assert any(wanted in e for e in exprs), wanted
    assert isinstance(metrics(), Metrics)


def test_crawl_stats_become_skip_reasons():
    stats = {"robotstxt/forbidden": 2, "markwatch/fetch_error/timeout": 3,
             "markwatch/blocked/private_address": 1, "markwatch/dropped/no_title": 4,
             "dupefilter/filtered": 5, "response_received_count": 90, "finish_reason": "x",
             "markwatch/parse_errors": 1}
    assert skipped_pages(stats) == {
        "robots_txt": 2, "fetch_error_timeout": 3, "ssrf_guard_private_address": 1,
        "item_no_title": 4, "duplicate_request": 5, "parse_error": 1}


def test_web_app_serves_request_timings_and_cluster_gauges(sqlite_url, monkeypatch):
    from tests.objectstore import free_port
    from tests.web.conftest import make_client

    port = free_port()
    monkeypatch.setenv("MARKWATCH_METRICS_PORT", str(port))
    client = make_client(sqlite_url, monkeypatch)
    assert client.get("/healthz").status_code == 200
    assert client.get("/alerts/12345").status_code in (303, 401)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert re.search(r'markwatch_http_request_duration_seconds_count\{method="GET",'
                     r'route="/healthz",status="200"\} 1\.0', text)
    assert 'route="/alerts/{alert_id}"' in text  # the route's template, never the raw path
    assert "markwatch_dead_letters 0.0" in text and "markwatch_outbox_pending 0.0" in text
