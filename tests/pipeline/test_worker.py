"""A real Celery worker process on real Redis and PostgreSQL: tasks are sent after commit, are
idempotent, and create the alerts the matcher finds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis
import sqlalchemy as sa

from db.listings import ListingFields, upsert_listing
from db.models import Alert, AlertEvent, CrawlRun, Listing, Marketplace, Watch
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY, broker_key
from tests.pipeline.helpers import start_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

LISTINGS = [
    # (external id, title, seller, category, price, currency, expect an alert)
    ("p1", "KESTREL Trail Runner 2 replica 1:1 mirror quality", "best-deals-88", "Shoes > Running",
     "24.00", "EUR", True),
    ("p2", "K3STREL running shoes men 2026", "shoe_outlet", "Shoes", "19.99", "EUR", True),
    ("p3", "Voltaris PowerCell 20000 power bank AAA copy", "gadget-king", "Chargers & Power Banks",
     "9.90", "USD", True),
    ("n1", "Kestrel Trail Runner 2", "Kestrel Official Store", "Shoes > Running", "139.00", "EUR",
     False),
    ("n2", "Wooden bird feeder for garden birds", "garden-joy", "Garden > Bird Feeders", "15.00",
     "EUR", False),
]


@pytest.fixture
def pipeline_env(monkeypatch, pg_url, redis_url, tmp_path):
    env = {
        "MARKWATCH_DATABASE_URL": pg_url,
        "MARKWATCH_BROKER_URL": redis_url,
        "MARKWATCH_DATA_DIR": str(tmp_path / "var"),
        "MARKWATCH_ENV": "test",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    from tasks.app import make_celery

    app = make_celery(get_settings())  # current app: shared tasks send through it
    engine = make_engine(pg_url)
    yield env, app, session_factory(engine)
    engine.dispose()


def _seed(factory) -> list[int]:
    with transaction(factory) as s:
        load_directory(s, DEMO_REGISTRY)
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        ids = []
        for ext, title, seller, cat, price, cur, _ in LISTINGS:
            f = ListingFields(external_id=ext, url=f"http://127.0.0.1:8301/item/{ext}",
                              title=title, seller=seller, category=cat, price=Decimal(price),
                              currency=cur, condition="new")
            ids.append(upsert_listing(s, shop, f, seen_at=NOW, crawl_run_id=None).listing_id)
    return ids


def _alert_listing_ids(factory) -> set[str]:
    with factory() as s:
        return set(
            s.scalars(sa.select(Listing.external_id).join(Alert, Alert.listing_id == Listing.id))
        )


def test_worker_matches_and_reruns_change_nothing(pipeline_env, tmp_path):
    env, app, factory = pipeline_env
    ids = _seed(factory)
    worker = start_worker(tmp_path, **env)
    try:
        app.send_task("tasks.match.match_listings", args=[ids])
        wait_for(lambda: _pending(factory) == 0, timeout=90, what="listings to be matched",
                 child=worker)
        expected = {ext for ext, *_rest, alert in LISTINGS if alert}
        assert _alert_listing_ids(factory) == expected
        with factory() as s:
            events = s.scalar(sa.select(sa.func.count()).select_from(AlertEvent))
            alerts = s.execute(sa.select(Alert.id, Alert.score, Alert.tier, Alert.reasons)).all()
        # one "created" event per alert (a listing may infringe two marks: KESTREL and
        # KESTREL TRAIL)
        assert events == len(alerts) >= len(expected)
        assert all(a.reasons and a.tier in ("high", "medium", "low") for a in alerts)

        # The same message again (a redelivery) and a forced rematch create nothing new.
        app.send_task("tasks.match.match_listings", args=[ids])
        app.send_task("tasks.match.match_listings", args=[[*ids, 999_999]])  # a row that is gone
        # acks_late: a message leaves Redis's "unacked" set only once its task has finished
        wait_for(lambda: _queue_empty(env), timeout=60, what="the queue to drain", child=worker)
        with factory() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(AlertEvent)) == events
            assert s.scalar(sa.select(sa.func.count()).select_from(Alert)) == len(alerts)
    finally:
        worker.stop()


def _pending(factory) -> int:
    with factory() as s:
        return s.scalar(
            sa.select(sa.func.count()).select_from(Listing).where(
                sa.or_(Listing.matched_hash.is_(None),
                       Listing.matched_hash != Listing.content_hash)
            )
        )


def _queue_empty(env) -> bool:
    r = redis.Redis.from_url(env["MARKWATCH_BROKER_URL"])
    try:
        return r.llen(broker_key("markwatch")) == 0 and r.hlen(broker_key("unacked")) == 0
    finally:
        r.close()


def test_tasks_are_sent_only_after_commit(pipeline_env):
    env, _app, factory = pipeline_env
    _seed(factory)
    from tasks.schedule import start_due_watches

    with pytest.raises(RuntimeError), transaction(factory) as s:
        runs = start_due_watches(s, now=datetime.now(UTC))
        assert runs
        raise RuntimeError("the transaction fails after the runs were created")
    assert _queue_empty(env), "a task was sent for rows that were rolled back"
    with factory() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(CrawlRun)) == 0

    with transaction(factory) as s:
        runs = start_due_watches(s, now=datetime.now(UTC))
    r = redis.Redis.from_url(env["MARKWATCH_BROKER_URL"])
    assert r.llen(broker_key("crawl")) == len(runs) == 31  # crawls have a queue of their own
    r.close()
    # a second scheduler at the same moment finds nothing due: each watch is claimed once
    with transaction(factory) as s:
        assert start_due_watches(s, now=datetime.now(UTC)) == []
        assert s.scalar(sa.select(sa.func.count()).select_from(Watch)) == 31
