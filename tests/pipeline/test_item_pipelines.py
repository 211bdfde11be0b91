"""Item pipelines: validate (counted, logged drops), dedupe, persist into a real store."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import ListingItem, SnapshotItem
from crawler.pipelines import DedupePipeline, PersistPipeline, ValidatePipeline
from db.models import CrawlRun, CrawlSighting, EvidenceSnapshot, Listing, Watch
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from tests.conftest import DEMO_REGISTRY

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def item(**kw) -> ListingItem:
    base = dict(
        marketplace="shopa", listing_id="A-1", url="http://127.0.0.1:8301/item/A-1",
        title="KESTREL trail runner", price=Decimal("12.5"), currency="gbp",
        seller="kicks4less", search_term="kestrel", rank=3,
        snapshot=SnapshotItem(url="http://127.0.0.1:8301/item/A-1", status=200,
                              body=b"<html>KESTREL</html>", fetched_at=NOW),
    )
    base.update(kw)
    return ListingItem(**base)


@pytest.fixture
def validate():
    crawler = get_crawler()
    return ValidatePipeline.from_crawler(crawler), crawler.stats


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"title": "  "}, "no_title"),
        ({"listing_id": ""}, "no_listing_id"),
        ({"url": "javascript:alert(1)"}, "bad_url"),
        ({"price": Decimal("-1")}, "bad_price"),
        ({"price": Decimal("NaN")}, "bad_price"),
        ({"snapshot": None}, "no_evidence"),
    ],
)
def test_invalid_items_are_dropped_and_counted(validate, change, reason):
    pipe, stats = validate
    with pytest.raises(DropItem):
        pipe.process_item(item(**change))
    assert stats.get_value(f"markwatch/dropped/{reason}") == 1


def test_valid_items_are_repaired_not_dropped(validate):
    pipe, stats = validate
    out = pipe.process_item(item(title="KESTREL\x00 shoe" + "x" * 5000, currency="€€"))
    assert "\x00" not in out.title and len(out.title) == 2000
    assert out.currency is None and stats.get_value("markwatch/repaired/bad_currency") == 1
    assert out.price == Decimal("12.50")
    assert pipe.process_item(item()).currency == "GBP"


def test_dedupe_drops_the_second_sighting():
    pipe = DedupePipeline.from_crawler(get_crawler())
    pipe.process_item(item())
    with pytest.raises(DropItem):
        pipe.process_item(item(search_term="other"))


def test_persist_writes_listing_snapshot_and_sighting(store_url):
    engine = make_engine(store_url)
    factory = session_factory(engine)
    with transaction(factory) as s:
        load_directory(s, DEMO_REGISTRY)
        watch = s.scalars(sa.select(Watch)).first()
        run = CrawlRun(watch_id=watch.id)
        s.add(run)
        s.flush()
        run_id = run.id
    crawler = get_crawler(settings_dict={"MARKWATCH_DATABASE_URL": store_url,
                                         "MARKWATCH_CRAWL_RUN_ID": run_id})
    pipe = PersistPipeline.from_crawler(crawler)
    pipe.open_spider()
    try:
        pipe.process_item(item(currency="GBP"))
        pipe.process_item(item(currency="GBP"))  # the next crawl sees it again, unchanged
        pipe.process_item(item(marketplace="nowhere", listing_id="Z"))
    except DropItem as exc:
        assert "unknown marketplace" in str(exc)
    finally:
        pipe.close_spider()
    with factory() as s:
        listing = s.scalars(sa.select(Listing)).one()
        assert listing.title == "KESTREL trail runner" and listing.price == Decimal("12.50")
        assert s.scalar(sa.select(sa.func.count()).select_from(EvidenceSnapshot)) == 1
        sighting = s.scalars(sa.select(CrawlSighting)).one()
        assert (sighting.search_term, sighting.rank) == ("kestrel", 3)
    assert crawler.stats.get_value("markwatch/listings_new") == 1
    assert crawler.stats.get_value("markwatch/listings_seen") == 2
    engine.dispose()
