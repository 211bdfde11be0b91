"""Screening: matcher results become one alert per (listing, rights holder)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

import matcher
from db.listings import ListingFields, upsert_listing
from db.models import Alert, AlertMark, Mark, Marketplace
from db.registry import load_directory
from db.session import transaction
from markwatch.screening import best_per_holder, screen_listings
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY


def _match(mark_id: str, kind: matcher.Kind, score: int, check: str) -> matcher.Match:
    return matcher.Match(listing_id="1", mark_id=mark_id, kind=kind, score=score,
                         tier=matcher.Tier.HIGH,
                         reasons=(matcher.Reason(check, f"{check} for {mark_id}", None, 10),))


def test_best_per_holder_keeps_every_mark_and_labels_the_reasons():
    owner = {1: 10, 2: 10, 3: 20}
    word = {1: "KESTREL", 2: "KESTREL TRAIL", 3: "VOLTARIS"}
    found = best_per_holder([
        _match("2", matcher.Kind.TRADEMARK, 88, "exact"),
        _match("1", matcher.Kind.PRODUCT, 70, "model_number"),
        _match("1", matcher.Kind.TRADEMARK, 93, "fuzzy"),
        _match("3", matcher.Kind.NOMINATIVE, 99, "nominative"),  # never an alert
    ], owner, word)
    assert len(found) == 1
    (f,) = found
    assert (f.rights_holder_id, f.mark_id, f.score, f.kind) == (10, 1, 93, "trademark")
    assert f.mark_scores == {1: 93, 2: 88}
    assert [(r["mark"], r["check"]) for r in f.reasons] == [("KESTREL", "fuzzy"),
                                                              ("KESTREL TRAIL", "exact")]


def test_a_listing_hitting_two_marks_of_one_holder_is_one_alert(sessions):
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        lid = upsert_listing(s, shop, ListingFields(
            external_id="kt", url="http://127.0.0.1:8301/item/kt",
            title="KESTREL TRAIL Runner 2 trail shoes replica 1:1", price=Decimal("12.00"),
            currency="GBP", seller="dupes", category="Shoes > Running", condition="new"),
            seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        out = screen_listings(s, [lid], get_settings())
    assert out.alerts_created == 1
    with transaction(sessions) as s:
        (alert,) = s.scalars(sa.select(Alert)).all()
        words = set(s.scalars(sa.select(Mark.word_mark).join(AlertMark, AlertMark.mark_id == Mark.id)
                              .where(AlertMark.alert_id == alert.id)))
        assert words == {"KESTREL", "KESTREL TRAIL"}
        assert {r["mark"] for r in alert.reasons} == words
        again = screen_listings(s, [lid], get_settings(), force=True)
    assert again.alerts_created == 0 and again.alerts_rescored == 0
