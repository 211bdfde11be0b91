"""Evidence holds up: WARC copies with digests, a hash-chained history, tamper reports, retention
that never deletes a confirmed alert's evidence. Every test runs on both evidence stores: a local
directory and a real S3-compatible server (``evidence_store``), on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from scrapy.utils.test import get_crawler

from crawler.items import ListingItem, SnapshotItem
from crawler.pipelines import PersistPipeline
from db.alerts import Finding, record_findings
from db.evidence import capture_body, prune_evidence, read_warc_record, verify_evidence
from db.models import Alert, AlertEvent, AlertStatus, CrawlRun, EvidenceSnapshot, Mark, Watch
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY
from tests.objectstore import overwrite

OLD = datetime(2025, 1, 10, 8, 30, tzinfo=UTC)


def _crawl(store_url: str, evidence_store, n: int = 3) -> session_factory:
    factory = session_factory(make_engine(store_url))
    with transaction(factory) as s:
        load_directory(s, DEMO_REGISTRY)
        run = CrawlRun(watch_id=s.scalars(sa.select(Watch.id)).first())
        s.add(run)
        s.flush()
        run_id = run.id
    crawler = get_crawler(settings_dict={"MARKWATCH_DATABASE_URL": store_url,
                                         "MARKWATCH_CRAWL_RUN_ID": run_id,
                                         "MARKWATCH_EVIDENCE_URL":
                                             get_settings().effective_evidence_url})
    pipe = PersistPipeline.from_crawler(crawler)
    pipe.open_spider()
    for i in range(n):
        url = f"http://127.0.0.1:8301/item/E{i}"
        body = f"<html><h1>KESTREL replica {i}</h1>é</html>".encode()
        pipe.process_item(ListingItem(
            marketplace="shopa", listing_id=f"E{i}", url=url, title=f"KESTREL replica {i}",
            price=Decimal("9.99"), currency="GBP", seller="fake-shop", search_term="kestrel",
            snapshot=SnapshotItem(url=url, status=200, body=body, fetched_at=OLD,
                                  headers={"Content-Type": "text/html; charset=utf-8",
                                           "Content-Encoding": "gzip"},
                                  ip_address="127.0.0.1"),
        ))
    pipe.close_spider()
    return factory


def _alert_with_history(factory) -> int:
    with transaction(factory) as s:
        snap = s.scalars(sa.select(EvidenceSnapshot).order_by(EvidenceSnapshot.id)).first()
        mark = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        out = record_findings(s, snap.listing_id, [Finding(mark.rights_holder_id, mark.id,
                              "trademark", 90, "high", [{"check": "exact"}])],
                              snapshot_id=snap.id)
        alert_id = out.created[0]
        alert = s.get(Alert, alert_id)
        for action, to in (("start_review", AlertStatus.IN_REVIEW), ("confirm",
                                                                      AlertStatus.CONFIRMED)):
            s.add(AlertEvent(alert_id=alert_id, actor="reviewer@example.com", action=action,
                             from_status=alert.status.value, to_status=to.value,
                             reason="counterfeit listing"))
            alert.status = to
    return alert_id


def test_captures_are_warc_records_and_verify_clean(store_url, evidence_store):
    factory = _crawl(store_url, evidence_store)
    _alert_with_history(factory)
    with factory() as s:
        snaps = s.scalars(sa.select(EvidenceSnapshot).order_by(EvidenceSnapshot.id)).all()
        assert len(snaps) == 3 and all(x.warc_file and x.warc_record_id for x in snaps)
        # the page lives in the store, one content-addressed WARC object per capture
        assert all(x.body is None and x.compression == "warc" for x in snaps)
        assert all(x.warc_file.startswith("warc/") and x.warc_file.endswith(".warc.gz")
                   for x in snaps)
        keys = sorted(o.key for o in evidence_store.list("warc/"))
        assert keys == sorted(x.warc_file for x in snaps)
        assert all(evidence_store.verify(k) is None for k in keys)
        rec = read_warc_record(evidence_store, snaps[0])
        headers, payload, passed = rec.headers, rec.payload, rec.digests_pass
        assert headers["WARC-Type"] == "response"
        assert headers["WARC-Target-URI"] == snaps[0].url
        assert headers["WARC-IP-Address"] == "127.0.0.1"
        assert headers["WARC-Date"].startswith("2025-01-10T08:30:00")
        assert headers["WARC-Block-Digest"].startswith("sha256:")
        assert headers["WARC-Payload-Digest"].startswith("sha256:")
        assert passed is True and payload.startswith(b"<html>") and rec.object_problem is None
        assert capture_body(evidence_store, snaps[1]) == (
            "<html><h1>KESTREL replica 1</h1>é</html>".encode())
        events = s.scalars(sa.select(AlertEvent).order_by(AlertEvent.id)).all()
        assert [e.action for e in events] == ["created", "start_review", "confirm"]
        assert events[0].prev_hash is None
        assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
        report = verify_evidence(s, evidence_store)
    assert report.ok, report.problems
    assert (report.snapshots, report.warc_records, report.events_checked) == (3, 3, 3)


@pytest.mark.parametrize("tamper", ["event_reason", "event_deleted", "snapshot_body",
                                    "warc_bytes", "warc_missing"])
def test_tampering_is_reported(store_url, evidence_store, s3_server, tamper):
    factory = _crawl(store_url, evidence_store)
    alert_id = _alert_with_history(factory)
    engine = make_engine(store_url)
    with engine.begin() as c:  # raw SQL: what an attacker with database access would do
        if tamper == "event_reason":
            c.execute(sa.text("update alert_event set reason = 'false positive' "
                              "where action = 'confirm'"))
        elif tamper == "event_deleted":
            c.execute(sa.text("delete from alert_event where action = 'start_review'"))
        elif tamper == "snapshot_body":
            c.execute(sa.text("update evidence_snapshot set sha256 = :h where id = "
                              "(select min(id) from evidence_snapshot)"), {"h": "0" * 64})
    with factory() as s:
        key = s.scalars(sa.select(EvidenceSnapshot.warc_file).order_by(EvidenceSnapshot.id)
                        .offset(1)).first()
    if tamper == "warc_bytes":  # what someone with write access to the store would do
        forged = gzip.compress(gzip.decompress(evidence_store.get(key))
                               .replace(b"KESTREL replica 1", b"KESTREL genuine 1"))
        overwrite(evidence_store, s3_server, key, forged)
    elif tamper == "warc_missing":
        evidence_store.delete(key)
    with factory() as s:
        report = verify_evidence(s, evidence_store)
    engine.dispose()
    assert not report.ok
    text = " ".join(report.problems)
    expected = {
        "event_reason": f"alert {alert_id} event",
        "event_deleted": "link to the previous event is broken",
        "snapshot_body": "does not match its SHA-256",
        "warc_bytes": "WARC",
        "warc_missing": "WARC record unreadable",
    }[tamper]
    assert expected in text, report.problems
    if store_url.startswith("sqlite"):
        from tests.faults.helpers import record

        kind = "s3" if evidence_store.location.startswith("s3:") else "dir"
        record(f"10 evidence tampered ({kind}): {tamper}", 1, None, None,
               f"reported: {report.problems[0][:70]}")


def test_verify_command_exit_codes(evidence_store):
    from markwatch.cli import main

    settings = get_settings()
    CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    factory = _crawl(settings.effective_database_url, evidence_store)
    _alert_with_history(factory)
    ok = CliRunner().invoke(main, ["evidence", "verify"])
    assert ok.exit_code == 0 and "all digests and the history chain hold" in ok.output
    pruned = CliRunner().invoke(main, ["evidence", "prune", "--older-than-days", "1"])
    assert pruned.exit_code == 0, pruned.output
    # the captures are from 2025 and unalerted, but for one confirmed alert's listing
    assert f"deleted 2 captures and 2 objects from {evidence_store.location}" in pruned.output
    init = CliRunner().invoke(main, ["evidence", "init"])
    assert init.exit_code == 0 and "exists, writable" in init.output
    with make_engine(settings.effective_database_url).begin() as c:
        c.execute(sa.text("update alert_event set actor = 'someone-else' where action = 'confirm'"))
    bad = CliRunner().invoke(main, ["evidence", "verify"])
    assert bad.exit_code == 1 and "rewritten" in bad.output


def test_retention_never_deletes_a_confirmed_alerts_evidence(store_url, evidence_store):
    factory = _crawl(store_url, evidence_store, n=4)
    _alert_with_history(factory)  # confirmed, on the first listing
    with transaction(factory) as s:
        # a second capture of the confirmed listing, not referenced by the alert itself
        first = s.scalars(sa.select(EvidenceSnapshot).order_by(EvidenceSnapshot.id)).first()
        s.add(EvidenceSnapshot(listing_id=first.listing_id, url=first.url, http_status=200,
                               fetched_at=OLD, sha256=first.sha256, size=first.size,
                               compression="warc", warc_file=first.warc_file, warc_offset=0))
    orphan = evidence_store.put("warc", b"a capture whose row was rolled back",
                                suffix=".warc.gz").key
    with transaction(factory) as s:
        report = prune_evidence(s, evidence_store, older_than=datetime.now(UTC) + timedelta(
            minutes=1))  # everything is "old": only the rules below keep evidence
    assert report.captures == 3  # the three unrelated listings' captures
    assert report.objects == 4  # their three objects and the orphan
    with factory() as s:
        left = s.scalars(sa.select(EvidenceSnapshot)).all()
        confirmed = s.scalar(sa.select(Alert.listing_id))
        assert [x.listing_id for x in left] == [confirmed, confirmed]
        assert sorted(o.key for o in evidence_store.list("warc/")) == [first.warc_file]
        assert not evidence_store.exists(orphan)
        assert verify_evidence(s, evidence_store).ok
