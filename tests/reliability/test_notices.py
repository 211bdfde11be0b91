"""6. Notices sent at most once: a marketplace endpoint that drops 30% of its responses, and
workers killed after sending but before committing. Each logical notice reaches the endpoint as
one distinct notice; retries carry the same idempotency key with backoff; attempts that never got
a clear answer end as "needs reconciliation", never resent under a new key."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from db.enforcement import Case, Notice, NoticeStatus
from db.models import Marketplace, RightsHolder
from db.registry import load_directory
from db.session import transaction
from db.types import utcnow
from markwatch.processes import Child, beat_argv, child_env
from tests.conftest import DEMO_REGISTRY
from tests.faults.helpers import record
from tests.pipeline.helpers import wait_for
from tests.reliability.conftest import Pipeline

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

NOTICES = 40
#: with 30% of answers lost and 5 attempts, a notice ends unresolved with p = 0.3^5 (0.24%):
#: fewer than 30 of 40 sent means retries are not working
MIN_SENT = 30


class FlakyMarketplace(ThreadingHTTPServer):
    """A notice intake endpoint that honours Idempotency-Key, and loses 30% of its answers:
    half of those before it recorded the notice, half after."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.rng = random.Random(6)
        self.accepted: dict[str, str] = {}  # idempotency key -> reference
        self.notice_of: dict[str, int] = {}  # idempotency key -> the notice id it carried
        self.requests: list[str] = []
        self.dropped = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/notices"


class _Handler(BaseHTTPRequestHandler):
    server: FlakyMarketplace
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers["Idempotency-Key"]
        assert key == body["idempotency_key"]
        srv = self.server
        with srv.lock:
            srv.requests.append(key)
            fate = srv.rng.random()
            if fate < 0.15:  # lost before it was recorded
                srv.dropped += 1
                self.close_connection = True
                return
            ref = srv.accepted.setdefault(key, f"MP-{len(srv.accepted) + 1:04d}")
            srv.notice_of[key] = body["notice_id"]
            if fate < 0.30:  # recorded, but the answer is lost
                srv.dropped += 1
                self.close_connection = True
                return
        out = json.dumps({"reference": ref}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


def _make_notices(p: Pipeline) -> list[int]:
    with transaction(p.sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        holder = s.scalar(sa.select(RightsHolder.id).filter_by(slug="voltaris"))
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopb"))
        ids = []
        for i in range(NOTICES):
            case = Case(rights_holder_id=holder, marketplace_id=shop, seller=f"seller-{i}",
                        title=f"seller-{i} on shopb", grouping="seller", created_by="test")
            s.add(case)
            s.flush()
            n = Notice(rights_holder_id=holder, case_id=case.id, marketplace_id=shop,
                       idempotency_key=f"key-{i:03d}-{random.getrandbits(32):08x}",
                       status=NoticeStatus.QUEUED, alert_ids=[], document_ids=[],
                       listing_count=0, html="<p>notice</p>", csv="url\n", created_by="test",
                       queued_by="test", queued_at=utcnow())
            s.add(n)
            s.flush()
            ids.append(n.id)
        from tasks.outbox import send_after_commit

        for notice_id in ids:
            send_after_commit(s, "tasks.enforcement.send_notice", [notice_id])
    return ids


def test_notices_are_sent_at_most_once(pg_url, redis_url, tmp_path):
    endpoint = FlakyMarketplace()
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    p = Pipeline(
        pg_url, redis_url, tmp_path,
        MARKWATCH_NOTICE_SENDER="test-killing-webhook",
        MARKWATCH_NOTICE_WEBHOOK_URL=endpoint.url,
        # the webhook goes through the SSRF guard: this loopback endpoint is let through by name
        MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS=endpoint.url.split("/")[2],
        MARKWATCH_NOTICE_LEASE="3", MARKWATCH_SWEEP_AFTER="3",
        MARKWATCH_SCHEDULE_INTERVAL="1", MARKWATCH_NOTICE_MAX_ATTEMPTS="5",
    )
    beat = None
    try:
        ids = _make_notices(p)
        kill = {"MARKWATCH_TEST_KILL_AFTER_SEND": "0.2"}
        workers = [p.start_worker("a", **kill), p.start_worker("b", **kill)]
        beat = Child("beat", beat_argv(schedule_file=tmp_path / "beat"), env=child_env(**p.env),
                     log_path=tmp_path / "beat.log").start()

        def settled() -> bool:
            with p.sessions() as s:
                open_ = s.scalar(sa.select(sa.func.count()).select_from(Notice).where(
                    Notice.status.in_((NoticeStatus.QUEUED, NoticeStatus.SENDING))))
            return open_ == 0

        wait_for(settled, timeout=240, what="every notice to be settled", child=beat,
                 interval=1.0)
        with p.sessions() as s:
            notices = {n.idempotency_key: n for n in s.scalars(sa.select(Notice))}
        kills = sum(w.tail(100_000).count("exited prematurely: signal 9") for w in p.workers)
        sent = [n for n in notices.values() if n.status == NoticeStatus.SENT]
        unresolved = [n for n in notices.values()
                      if n.status == NoticeStatus.NEEDS_RECONCILIATION]
        retried = len(endpoint.requests) - len(set(endpoint.requests))
        # duplicates as the marketplace sees them: one logical notice accepted under several keys
        keys_per_notice: dict[int, int] = {}
        for key in endpoint.accepted:
            nid = endpoint.notice_of[key]
            keys_per_notice[nid] = keys_per_notice.get(nid, 0) + 1
        duplicated = sum(n - 1 for n in keys_per_notice.values())
        record("6 notices sent at most once", endpoint.dropped + kills,
               NOTICES - len(sent) - len(unresolved), duplicated,
               f"{len(sent)} sent (at least {MIN_SENT} required), {len(unresolved)} need "
               f"reconciliation; {retried} retries under the same key, {endpoint.dropped} "
               f"answers dropped, {kills} workers killed after sending")
        assert duplicated == 0
        assert len(sent) >= MIN_SENT, (len(sent), len(unresolved))
        # every request carried the key of a notice that exists: nothing sent under a new key
        assert set(endpoint.requests) <= set(notices)
        assert {n.idempotency_key for n in sent} <= set(endpoint.accepted)
        for n in sent:
            assert n.send_reference == endpoint.accepted[n.idempotency_key]
        assert len(sent) + len(unresolved) == NOTICES == len(ids)
        assert all(n.attempts <= 5 for n in notices.values()), sorted(
            (n.attempts, n.status.value) for n in notices.values())
        assert endpoint.dropped > 0 and retried > 0 and kills > 0
        for w in workers:
            w.check_alive()
    finally:
        if beat is not None:
            beat.stop()
        p.close()
        endpoint.shutdown()
