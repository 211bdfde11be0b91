"""A crawl whose host died is handed to another worker: the run's heartbeat goes silent, beat's
sweep sends it again, another worker claims it, and the first (were it only slow) learns it lost
the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from db.models import CrawlRun, Watch
from db.registry import load_directory
from db.reliability import OutboxMessage
from db.session import make_engine, session_factory, transaction
from markwatch.settings import get_settings
from tasks.crawl import claim_run, heartbeat
from tasks.schedule import sweep_lost_work
from tests.conftest import DEMO_REGISTRY

MINUTE = timedelta(seconds=60)


def test_a_silent_crawl_is_taken_over(store_url, monkeypatch):
    monkeypatch.setenv("MARKWATCH_DATABASE_URL", store_url)
    get_settings.cache_clear()
    engine = make_engine(store_url)
    factory = session_factory(engine)
    with transaction(factory) as s:
        load_directory(s, DEMO_REGISTRY)
        run = CrawlRun(watch_id=s.scalars(sa.select(Watch.id)).first())
        s.add(run)
        s.flush()
        run_id = run.id
    now = datetime.now(UTC)
    assert claim_run(run_id, now=now, stale_after=MINUTE, worker="crawler-a@host-a:11")
    # host B gets a redelivered message while A is alive and beating: it leaves the run alone
    assert heartbeat(run_id, "crawler-a@host-a:11")
    assert not claim_run(run_id, now=now + MINUTE / 2, stale_after=MINUTE,
                         worker="crawler-b@host-b:22")

    def swept(at: datetime) -> list[list[int]]:
        with factory() as s, s.begin():
            sweep_lost_work(s, now=at, older_than=10 * MINUTE, lost_after=MINUTE)
            sent = [m.args for m in s.scalars(sa.select(OutboxMessage).where(
                OutboxMessage.task_name == "tasks.crawl.crawl_watch"))]
            s.rollback()
        return sent

    assert swept(datetime.now(UTC) + MINUTE / 2) == []  # beating: not lost
    later = datetime.now(UTC) + MINUTE + timedelta(seconds=5)  # host A went silent
    assert swept(later) == [[run_id]]
    assert claim_run(run_id, now=later, stale_after=MINUTE, worker="crawler-b@host-b:22")
    assert not heartbeat(run_id, "crawler-a@host-a:11")  # A, were it alive, stops its crawl
    assert heartbeat(run_id, "crawler-b@host-b:22")
    with factory() as s:
        assert s.get(CrawlRun, run_id).worker == "crawler-b@host-b:22"
    engine.dispose()
