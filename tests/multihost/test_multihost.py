"""Several hosts, simulated: nothing shared but PostgreSQL, Redis and the object store.

Host A and host B each run a crawler worker and a matcher worker, with data directories of
their own; a fourth process runs beat; the web app is a third "host" with a data directory of its
own; evidence goes to a real S3-compatible server (moto's server mode). The hosts crawl the
bundled test marketplaces; host A's workers are killed (SIGKILL, process group and crawl
children too) mid-crawl, once some of its captures have become alerts. Then: every crawl run
finishes (host B takes A's over when its heartbeat stops), every listing is stored once, every
alert exists once, the ground-truth floors hold, ``evidence verify`` passes against the bucket,
the web app shows the captured page of alerts captured on A and on B, and each worker's and the
web app's Prometheus endpoint reports what it did.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from db.models import (
    Alert,
    AlertEvent,
    CrawlRun,
    CrawlStatus,
    EvidenceSnapshot,
    Listing,
    Mark,
    Marketplace,
    Watch,
)
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from fixtures.marketplaces import load_labels
from markwatch.accounts import DEMO_PASSWORD, ensure_demo_users
from markwatch.demo import score_against_labels
from markwatch.processes import (
    Child,
    beat_argv,
    child_env,
    marketplaces_argv,
    wait_http,
    worker_argv,
)
from tests.conftest import DEMO_REGISTRY, REPO
from tests.objectstore import free_port
from tests.pipeline.helpers import wait_for
from tests.pipeline.test_end_to_end import MIN_PRECISION, MIN_RECALL, free_port_block

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

#: listings the test marketplaces generate: a quarter of the default keeps each crawl to seconds
LISTINGS = 600


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    """A /metrics page as {(name, labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[tuple[str, frozenset], float] = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def total(samples: dict, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


class Host:
    """One machine: its own data directory, its own processes."""

    def __init__(self, name: str, root: Path, env: dict[str, str]):
        self.name = name
        self.data_dir = root / name
        self.env = {**env, "MARKWATCH_DATA_DIR": str(self.data_dir)}
        self.children: list[Child] = []
        self.metrics_ports: dict[str, int] = {}

    def worker(self, kind: str, queues: str) -> Child:
        port = free_port()
        self.metrics_ports[kind] = port
        argv = worker_argv(concurrency=1, name=f"{kind}-{self.name}", queues=queues)
        child = Child(f"{kind}-{self.name}", argv,
                      env=child_env(**self.env, MARKWATCH_METRICS_PORT=str(port)),
                      log_path=self.data_dir / f"{kind}.log").start()
        self.children.append(child)
        return child

    def kill(self) -> None:
        """The host dies: every process of it, at once, with no chance to clean up."""
        for c in self.children:
            os.killpg(c.pid, signal.SIGKILL)
        for c in self.children:
            c.proc.wait(10)

    def stop(self) -> None:
        for c in self.children:
            c.stop()


def test_two_hosts_one_killed_mid_crawl(pg_url, redis_url, s3_server, tmp_path):
    base = free_port_block()
    shared = {
        "MARKWATCH_DATABASE_URL": pg_url,
        "MARKWATCH_BROKER_URL": redis_url,
        **s3_server.env(s3_server.new_bucket()),
        "MARKWATCH_ENV": "test",
        "MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED": "1",
        "MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS": ",".join(f"127.0.0.1:{base + i}"
                                                          for i in range(3)),
        "MARKWATCH_SCHEDULE_INTERVAL": "2",
        "MARKWATCH_SWEEP_AFTER": "60",
        "MARKWATCH_CRAWL_LOST_AFTER": "15",
        "MARKWATCH_MARKETPLACES_PORT": str(base),
        "MARKWATCH_MARKETPLACES_LISTINGS": str(LISTINGS),
        "MARKWATCH_MARKETPLACES_SEA_LISTINGS": "0",  # the three shops only (below)
        "MARKWATCH_OCR_ENABLED": "0",  # text in photos has its own tests (about 1 s a photo)
    }
    engine = make_engine(pg_url)
    factory = session_factory(engine)
    with transaction(factory) as s:
        load_directory(s, DEMO_REGISTRY, base_urls={
            code: f"http://127.0.0.1:{base + i}" for i, code in enumerate(("shopa", "shopb",
                                                                              "shopc"))})
        ensure_demo_users(s)
        # two rights holders' watches on all three shops keep the run to a couple of minutes
        s.execute(sa.update(Watch).where(Watch.mark_id.in_(
            sa.select(Mark.id).where(Mark.word_mark.in_(("AURELIA", "墨朗"))))).values(active=False))
        # and on the three shops only: the South-East Asian storefronts are not served here
        s.execute(sa.update(Watch).where(Watch.marketplace_id.in_(
            sa.select(Marketplace.id).where(Marketplace.code.not_in(("shopa", "shopb", "shopc"))))
        ).values(active=False))
        watches = s.scalar(sa.select(sa.func.count()).select_from(Watch).where(Watch.active))
    market = Child("marketplaces", marketplaces_argv(host="127.0.0.1", port=base,
                                                     seed=20261124, listings=LISTINGS),
                   env=child_env(**shared, MARKWATCH_DATA_DIR=str(tmp_path / "internet")),
                   log_path=tmp_path / "marketplaces.log")
    a, b = Host("a", tmp_path, shared), Host("b", tmp_path, shared)
    sched, web = Host("sched", tmp_path, shared), Host("web", tmp_path, shared)
    try:
        market.start()
        wait_http([f"http://127.0.0.1:{base + i}/healthz" for i in range(3)], timeout=60,
                  child=market)
        for host in (a, b):
            host.worker("crawler", "crawl")
            host.worker("matcher", "markwatch")
        beat = Child("beat", beat_argv(schedule_file=sched.data_dir / "beat-schedule"),
                     env=child_env(**sched.env), log_path=sched.data_dir / "beat.log").start()
        sched.children.append(beat)

        def a_captures_alerted() -> bool:
            """Host A is crawling, and some of what it captured has become alerts."""
            with factory() as s:
                running_on_a = s.scalar(sa.select(sa.func.count()).select_from(CrawlRun).where(
                    CrawlRun.status == CrawlStatus.RUNNING, CrawlRun.worker.like("crawler-a@%")))
                alerted = s.scalar(
                    sa.select(sa.func.count()).select_from(Alert)
                    .join(EvidenceSnapshot, EvidenceSnapshot.id == Alert.snapshot_id)
                    .join(CrawlRun, CrawlRun.id == EvidenceSnapshot.crawl_run_id)
                    .where(CrawlRun.worker.like("crawler-a@%")))
            return bool(running_on_a) and alerted >= 1

        wait_for(a_captures_alerted, timeout=300, what="host A's captures to become alerts",
                 child=beat, interval=0.2)
        with factory() as s:
            a_runs = set(s.scalars(sa.select(CrawlRun.id).where(
                CrawlRun.worker.like("crawler-a@%"))))
            interrupted = set(s.scalars(sa.select(CrawlRun.id).where(
                CrawlRun.worker.like("crawler-a@%"), CrawlRun.status == CrawlStatus.RUNNING)))
            captured_on_a = set(s.scalars(sa.select(EvidenceSnapshot.id).where(
                EvidenceSnapshot.crawl_run_id.in_(a_runs))))
        a.kill()
        killed_at = time.monotonic()

        def finished() -> bool:
            for c in (*b.children, beat, market):
                c.check_alive()
            with factory() as s:
                runs = dict(s.execute(sa.select(CrawlRun.watch_id, CrawlRun.status)).all())
                unmatched = s.scalar(sa.select(sa.func.count()).select_from(Listing).where(
                    sa.or_(Listing.matched_hash.is_(None),
                           Listing.matched_hash != Listing.content_hash)))
            return (len(runs) == watches and all(st in (CrawlStatus.SUCCEEDED,)
                                                 for st in runs.values()) and unmatched == 0)

        wait_for(finished, timeout=420, what="host B to finish every crawl and match",
                 child=b.children[0], interval=1.0)
        recovered = time.monotonic() - killed_at

        with factory() as s:
            # every crawl run done, host A's interrupted ones by host B
            for run in s.scalars(sa.select(CrawlRun).where(CrawlRun.id.in_(interrupted))):
                assert run.status == CrawlStatus.SUCCEEDED and run.worker.startswith("crawler-b@")
            assert s.scalar(sa.select(sa.func.count()).select_from(CrawlRun)) == watches
            # every listing stored once
            assert s.scalar(sa.select(sa.func.count()).select_from(Listing)) == s.scalar(
                sa.select(sa.func.count(sa.distinct(sa.tuple_(Listing.marketplace_id,
                                                              Listing.external_id)))))
            # every alert once, with one "created" event each
            alerts = s.scalar(sa.select(sa.func.count()).select_from(Alert))
            assert alerts > 50
            assert s.scalar(sa.select(sa.func.count()).select_from(AlertEvent).where(
                AlertEvent.action == "created")) == alerts
            assert s.scalar(sa.select(sa.func.count(sa.distinct(sa.tuple_(
                Alert.listing_id, Alert.mark_id))))) == alerts
            # no capture written twice for one listing in one run
            snaps = s.execute(sa.select(EvidenceSnapshot.listing_id, EvidenceSnapshot.crawl_run_id,
                                        EvidenceSnapshot.sha256)).all()
            assert len(snaps) == len(set(snaps))
            # every capture's page is in the bucket, none in the body column
            keys = set(s.scalars(sa.select(EvidenceSnapshot.warc_file)))
            assert None not in keys and not s.scalar(
                sa.select(sa.func.count()).select_from(EvidenceSnapshot)
                .where(EvidenceSnapshot.body.is_not(None)))
            from_a = s.execute(
                sa.select(Alert.id, Alert.rights_holder_id, EvidenceSnapshot.sha256)
                .join(EvidenceSnapshot, EvidenceSnapshot.id == Alert.snapshot_id)
                .where(EvidenceSnapshot.id.in_(captured_on_a)).order_by(Alert.id)).all()
            from_b = s.execute(
                sa.select(Alert.id, Alert.rights_holder_id, EvidenceSnapshot.sha256)
                .join(EvidenceSnapshot, EvidenceSnapshot.id == Alert.snapshot_id)
                .join(CrawlRun, CrawlRun.id == EvidenceSnapshot.crawl_run_id)
                .where(CrawlRun.worker.like("crawler-b@%"))
                .where(EvidenceSnapshot.id.not_in(captured_on_a)).order_by(Alert.id)).all()
        assert from_a and from_b
        stored = {o.key for o in _bucket_store(shared).list("warc/")}
        assert keys <= stored
        score = score_against_labels(factory, _watched_labels(factory, load_labels(
            tmp_path / "internet" / "marketplaces" / "labels.jsonl")))
        print(score.summary())
        assert score.authorised_alerted == 0 and score.infringing_crawled > 50
        assert score.precision >= MIN_PRECISION and score.recall >= MIN_RECALL, score.summary()
        for host in (a, b, sched, web):  # nothing of the evidence on any host's disk
            assert not list(host.data_dir.rglob("*.warc.gz")), host.name

        # the web app, on a host of its own, shows evidence captured on A and on B
        port = free_port()
        server = Child("web", [sys.executable, "-m", "markwatch.cli", "serve", "--port",
                               str(port)],
                       env=child_env(**web.env, MARKWATCH_METRICS_PORT=str(free_port())),
                       log_path=web.data_dir / "web.log").start()
        web.children.append(server)
        web.metrics_ports["web"] = int(server.env["MARKWATCH_METRICS_PORT"])
        wait_http([f"http://127.0.0.1:{port}/healthz"], timeout=60, child=server)
        holders = _holder_slugs(factory)
        for alert_id, holder_id, sha in (from_a[0], from_a[-1], from_b[0], from_b[-1]):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                _login(client, f"reviewer@{holders[holder_id]}.example")
                page = client.get(f"/alerts/{alert_id}")
                assert page.status_code == 200 and sha in page.text
                assert "cannot be read" not in page.text
                captured = client.get(f"/alerts/{alert_id}/captured")
                assert captured.status_code == 200
                assert hashlib.sha256(captured.content).hexdigest() == sha

        verify = subprocess.run([sys.executable, "-m", "markwatch.cli", "evidence", "verify"],
                                env=child_env(**web.env), capture_output=True, text=True,
                                timeout=300, cwd=REPO)
        assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]

        # each worker's and the web app's Prometheus endpoint
        crawled = scrape(b.metrics_ports["crawler"])
        with factory() as s:
            b_pages = s.scalar(sa.select(sa.func.sum(CrawlRun.pages_fetched)).where(
                CrawlRun.worker.like("crawler-b@%")))
        # what host B's crawls recorded, and its endpoint reported, per marketplace
        assert total(crawled, "markwatch_pages_fetched_total") == b_pages > 0
        assert total(crawled, "markwatch_crawls_total", outcome="succeeded") >= 1
        assert total(crawled, "markwatch_task_duration_seconds_count",
                     task="tasks.crawl.crawl_watch") >= 1
        matched = scrape(b.metrics_ports["matcher"])
        assert total(matched, "markwatch_listings_matched_total") > 0
        assert total(matched, "markwatch_alerts_created_total") > 0
        site = scrape(web.metrics_ports["web"])
        assert total(site, "markwatch_dead_letters") == 0
        assert total(site, "markwatch_crawl_runs", status="succeeded") == watches
        assert ("markwatch_queue_depth", frozenset({("queue", "crawl")})) in site
        assert total(site, "markwatch_http_request_duration_seconds_count",
                     route="/alerts/{alert_id}/captured", status="200") == 4
        print(f"host A killed with {len(interrupted)} crawls running; everything done "
              f"{recovered:.0f} s later; {len(from_a)} alerts from A's captures, {len(from_b)} "
              f"from B's")
    finally:
        for host in (web, sched, b, a):
            host.stop()
        market.stop()
        engine.dispose()


def _watched_labels(factory, labels: list) -> list:
    """The labels this run can be held to: the marks whose watches ran (two rights holders'
    watches are switched off above), and whatever listing was fetched anyway."""
    with factory() as s:
        watched = set(s.scalars(sa.select(Mark.registration_number).join(
            Watch, Watch.mark_id == Mark.id).where(Watch.active)))
        stored = set(s.execute(sa.select(Marketplace.code, Listing.external_id).join(
            Marketplace, Listing.marketplace_id == Marketplace.id)).all())
    return [lab for lab in labels if not lab.infringing or lab.mark_registration in watched
            or (lab.marketplace, lab.listing_id) in stored]


def _bucket_store(env: dict[str, str]):
    from storage import open_store

    return open_store(env["MARKWATCH_EVIDENCE_URL"], endpoint_url=env["MARKWATCH_S3_ENDPOINT_URL"],
                      access_key_id=env["MARKWATCH_S3_ACCESS_KEY_ID"],
                      secret_access_key=env["MARKWATCH_S3_SECRET_ACCESS_KEY"])


def _holder_slugs(factory) -> dict[int, str]:
    from db.models import RightsHolder

    with factory() as s:
        return dict(s.execute(sa.select(RightsHolder.id, RightsHolder.slug)).all())


def _login(client: httpx.Client, email: str) -> None:
    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    r = client.post("/login", data={"email": email, "password": DEMO_PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 303, r.text[:300]
