"""Listings, evidence and alerts in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from db.alerts import Finding, alert_queue, record_findings
from db.listings import ListingFields, add_snapshot, decompress, upsert_listing
from db.models import Alert, AlertEvent, EvidenceSnapshot, ImmutableRowError, Listing, Mark
from db.registry import load_directory
from db.session import on_commit, transaction
from tests.conftest import DEMO_REGISTRY

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _setup(sessions) -> tuple[int, int, int]:
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        mark = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        from db.models import Marketplace

        shop = s.scalar(sa.select(Marketplace).filter_by(code="shopa"))
        return shop.id, mark.id, mark.rights_holder_id


def _fields(**kw) -> ListingFields:
    base = dict(external_id="A1", url="http://127.0.0.1:8301/item/A1", title="KESTREL trail shoe",
                price=Decimal("19.99"), currency="GBP", seller="cheapkicks")
    base.update(kw)
    return ListingFields(**base)


def test_listing_upsert_is_unique_per_marketplace_and_id(sessions):
    shop, _, _ = _setup(sessions)
    with transaction(sessions) as s:
        first = upsert_listing(s, shop, _fields(), seen_at=NOW, crawl_run_id=None)
        again = upsert_listing(s, shop, _fields(), seen_at=NOW, crawl_run_id=None)
        changed = upsert_listing(s, shop, _fields(price=Decimal("9.99")), seen_at=NOW,
                                 crawl_run_id=None)
    assert first.created and not again.created and not again.changed
    assert changed.changed and changed.listing_id == first.listing_id
    with transaction(sessions) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Listing)) == 1


def test_evidence_is_compressed_hashed_and_write_once(sessions):
    shop, _, _ = _setup(sessions)
    body = "<html><title>KESTREL 高仿</title></html>".encode() * 50
    with transaction(sessions) as s:
        lid = upsert_listing(s, shop, _fields(), seen_at=NOW, crawl_run_id=None).listing_id
        snap = add_snapshot(s, listing_id=lid, crawl_run_id=None, url="http://x/item/A1",
                            http_status=200, body=body, fetched_at=NOW)
        snap_id = snap.id
    with transaction(sessions) as s:
        snap = s.get(EvidenceSnapshot, snap_id)
        assert snap.sha256 == hashlib.sha256(body).hexdigest()
        assert snap.size == len(body) and len(snap.body) < len(body)
        assert decompress(snap) == body
        assert snap.fetched_at == NOW
    with pytest.raises(ImmutableRowError), transaction(sessions) as s:
        s.get(EvidenceSnapshot, snap_id).url = "http://tampered"
    with pytest.raises(ImmutableRowError), transaction(sessions) as s:
        s.delete(s.get(EvidenceSnapshot, snap_id))


def test_alerts_are_idempotent_and_history_append_only(sessions):
    shop, mark_id, holder = _setup(sessions)
    f = Finding(rights_holder_id=holder, mark_id=mark_id, kind="trademark", score=91, tier="high",
                reasons=[{"check": "exact", "detail": "exact KESTREL", "span": "KESTREL",
                          "points": 70}])
    with transaction(sessions) as s:
        lid = upsert_listing(s, shop, _fields(), seen_at=NOW, crawl_run_id=None).listing_id
        out1 = record_findings(s, lid, [f], snapshot_id=None)
    with transaction(sessions) as s:
        out2 = record_findings(s, lid, [f], snapshot_id=None)
    assert len(out1.created) == 1 and out2.created == [] and out2.unchanged == out1.created
    with transaction(sessions) as s:
        out3 = record_findings(s, lid, [Finding(**{**f.__dict__, "score": 70, "tier": "medium"})],
                               snapshot_id=None)
    assert out3.rescored == out1.created
    with transaction(sessions) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Alert)) == 1
        actions = s.scalars(sa.select(AlertEvent.action).order_by(AlertEvent.id)).all()
        assert actions == ["created", "rescored"]
        rows = alert_queue(s, mark="kestrel", min_score=50)
        assert [(r.score, r.tier, r.seller) for r in rows] == [(70, "medium", "cheapkicks")]
        assert alert_queue(s, marketplace="shopb") == []
    with pytest.raises(ImmutableRowError), transaction(sessions) as s:
        s.scalars(sa.select(AlertEvent)).first().reason = "rewritten"


def test_on_commit_runs_after_commit_and_never_after_rollback(sessions):
    fired: list[str] = []
    with transaction(sessions) as s:
        on_commit(s, lambda: fired.append("committed"))
        assert fired == []
    assert fired == ["committed"]
    with pytest.raises(RuntimeError), transaction(sessions) as s:
        on_commit(s, lambda: fired.append("rolled back"))
        raise RuntimeError("boom")
    with transaction(sessions):
        pass
    assert fired == ["committed"]


def test_two_marks_of_one_holder_make_one_alert_found_under_either(sessions):
    shop, k_id, holder = _setup(sessions)
    with transaction(sessions) as s:
        kt_id = s.scalar(sa.select(Mark.id).filter_by(word_mark="KESTREL TRAIL"))
        v = s.scalar(sa.select(Mark).filter_by(word_mark="VOLTARIS"))
        v_id, v_holder = v.id, v.rights_holder_id

    def found(mark: int, score: int, holder_id: int = holder) -> Finding:
        return Finding(holder_id, mark, "trademark", score, "high" if score >= 80 else "medium",
                       [{"check": "exact", "detail": f"mark {mark}", "mark": str(mark)}])

    both = [found(kt_id, 85), found(k_id, 91), found(k_id, 60)]
    with transaction(sessions) as s:
        lid = upsert_listing(s, shop, _fields(title="KESTREL TRAIL runner"), seen_at=NOW,
                             crawl_run_id=None).listing_id
        first = record_findings(s, lid, both, snapshot_id=None)
    assert len(first.created) == 1
    alert_id = first.created[0]
    with transaction(sessions) as s:
        a = s.get(Alert, alert_id)
        # the best mark leads; its reasons come first; every mark is recorded with its score
        assert (a.mark_id, a.score, a.tier) == (k_id, 91, "high")
        assert [r["mark"] for r in a.reasons] == [str(k_id), str(kt_id)]
        assert {m.mark_id: m.score for m in a.matched_marks} == {k_id: 91, kt_id: 85}
        for word in ("kestrel", "KESTREL TRAIL"):
            rows = alert_queue(s, mark=word)
            assert [(r.alert_id, r.mark, r.marks) for r in rows] == [
                (alert_id, "KESTREL", ("KESTREL", "KESTREL TRAIL"))]
        assert alert_queue(s, mark="voltaris") == []
    with transaction(sessions) as s:  # the same findings again: nothing changes
        again = record_findings(s, lid, list(reversed(both)), snapshot_id=None)
    assert again.unchanged == [alert_id] and not again.created and not again.rescored
    with transaction(sessions) as s:  # rescored on new content: only KESTREL TRAIL now
        later = record_findings(s, lid, [found(kt_id, 88)], snapshot_id=None)
        other = record_findings(s, lid, [found(v_id, 70, v_holder)], snapshot_id=None)
    assert later.rescored == [alert_id] and len(other.created) == 1
    with transaction(sessions) as s:
        a = s.get(Alert, alert_id)
        assert (a.mark_id, a.score) == (kt_id, 88)
        assert {m.mark_id: m.score for m in a.matched_marks} == {kt_id: 88}
        assert alert_queue(s, mark="kestrel") == []
        assert [r.alert_id for r in alert_queue(s, mark="kestrel trail")] == [alert_id]
        assert s.scalar(sa.select(sa.func.count()).select_from(Alert)) == 2
        events = s.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                           .order_by(AlertEvent.id)).all()
        assert [e.action for e in events] == ["created", "rescored"]
        assert events[1].details["before"]["marks"] == sorted([k_id, kt_id])
