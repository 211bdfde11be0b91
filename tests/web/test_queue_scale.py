"""The queue at 100,000 alerts: a deep keyset page costs what the first page does."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from db.alert_queue import QueueFilters, queue_page, status_counts
from db.models import Alert, Listing, Mark, Marketplace, RightsHolder
from db.session import make_engine, session_factory, transaction
from db.tenancy import Scope
from tests.web.factory import fill

N = 100_000


def _bulk(url: str) -> tuple[int, int]:
    fill(url, per_holder=1, xss=False)
    engine = make_engine(url)
    factory = session_factory(engine)
    now = datetime.now(UTC)
    with transaction(factory) as s:
        rh = s.scalar(sa.select(RightsHolder).where(RightsHolder.slug == "voltaris"))
        mark = s.scalar(sa.select(Mark).where(Mark.rights_holder_id == rh.id))
        market = s.scalar(sa.select(Marketplace).order_by(Marketplace.id))
        first = (s.scalar(sa.select(sa.func.max(Listing.id))) or 0) + 1
        for start in range(0, N, 20_000):
            s.execute(sa.insert(Listing), [
                {"id": first + i, "marketplace_id": market.id, "external_id": f"bulk-{i}",
                 "url": f"http://x/{i}", "title": f"VOLTARIS {i}", "description": "",
                 "seller": f"s{i % 997}", "images": [], "content_hash": "0" * 64,
                 "first_seen_at": now, "last_seen_at": now, "state": "live"}
                for i in range(start, min(N, start + 20_000))])
            s.execute(sa.insert(Alert), [
                {"rights_holder_id": rh.id, "listing_id": first + i, "mark_id": mark.id,
                 "kind": "counterfeit", "score": 40 + (i * 7919) % 61, "tier": "low",
                 "reasons": [], "status": ("new", "in_review", "confirmed", "dismissed")[i % 4],
                 "created_at": now, "updated_at": now}
                for i in range(start, min(N, start + 20_000))])
        if s.get_bind().dialect.name == "postgresql":
            s.execute(sa.text("ANALYZE"))
        holder = rh.id
    engine.dispose()
    return holder, N


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.slow
def test_deep_pages_are_as_fast_as_the_first(store_url):
    holder, n = _bulk(store_url)
    factory = session_factory(make_engine(store_url))
    with factory() as s:
        scope = Scope(s, holder, "bench")
        for f in (QueueFilters(), QueueFilters(status="new")):
            first, nxt = queue_page(scope, f, limit=50)
            assert len(first) == 50 and nxt
            # walk 200 pages deep (10,000 alerts) by cursor, then time the next page
            cursor = nxt
            for _ in range(200):
                _items, cursor = queue_page(scope, f, cursor=cursor, limit=50)
            t_first = _time(lambda f=f: queue_page(scope, f, limit=50))
            t_deep = _time(lambda f=f, c=cursor: queue_page(scope, f, cursor=c, limit=50))
            print(f"\n{s.get_bind().dialect.name} {f.status or 'all'}: first page "
                  f"{t_first * 1000:.1f} ms, page 201 {t_deep * 1000:.1f} ms")
            assert t_deep < 0.25, t_deep
            assert t_deep < 5 * t_first + 0.02
        t_counts = _time(lambda: status_counts(scope))
        print(f"counts per status over {n} alerts: {t_counts * 1000:.1f} ms")
        assert t_counts < 1.0
        assert sum(status_counts(scope).values()) == n + 1
