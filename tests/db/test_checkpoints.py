"""The alert history anchored outside the store: each alert's recorded head and length, signed
Merkle-root checkpoints in an append-only log, and ``markwatch evidence verify`` reporting the
four ways to tamper with a history that the chain alone let through or could not tell apart."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from db.chain import event_digest
from db.models import Alert, AlertEvent, AlertStatus
from db.session import make_engine, transaction
from markwatch.checkpoints import (
    FileCheckpointLog,
    load_or_create_key,
    merkle_root,
    verify_checkpoints,
    write_checkpoint,
)
from tests.db.test_evidence import _alert_with_history, _crawl


def _rehash_from(c: sa.Connection, alert_id: int) -> None:
    """What an attacker with database access does after rewriting an event: recompute every
    hash from there on, and the alert's recorded head, so the chain holds again."""
    prev = None
    rows = c.execute(sa.text("select * from alert_event where alert_id = :a order by id"),
                     {"a": alert_id}).mappings().all()
    for ev in rows:
        details = ev["details"] if isinstance(ev["details"], dict) else json.loads(ev["details"])
        created = ev["created_at"]
        if isinstance(created, str):
            from datetime import UTC, datetime

            created = datetime.fromisoformat(created).replace(tzinfo=UTC)
        h = event_digest(prev_hash=prev, alert_id=alert_id, actor=ev["actor"],
                         action=ev["action"], from_status=ev["from_status"],
                         to_status=ev["to_status"], reason=ev["reason"], details=details,
                         created_at=created)
        c.execute(sa.text("update alert_event set prev_hash = :p, hash = :h where id = :i"),
                  {"p": prev, "h": h, "i": ev["id"]})
        prev = h
    c.execute(sa.text("update alert set chain_head = :h, chain_length = :n where id = :a"),
              {"h": prev, "n": len(rows), "a": alert_id})


def tamper(store_url: str, kind: str, alert_id: int) -> None:
    engine = make_engine(store_url)
    with engine.begin() as c:  # raw SQL: what an attacker with database access would do
        ids = c.execute(sa.text("select id from alert_event where alert_id = :a order by id"),
                        {"a": alert_id}).scalars().all()
        if kind == "delete newest event":
            c.execute(sa.text("delete from alert_event where id = :i"), {"i": ids[-1]})
        elif kind == "delete a middle event":
            c.execute(sa.text("delete from alert_event where id = :i"), {"i": ids[1]})
        elif kind == "rewrite and re-hash an event":
            c.execute(sa.text("update alert_event set reason = 'not counterfeit after all' "
                              "where id = :i"), {"i": ids[1]})
            _rehash_from(c, alert_id)
        elif kind == "roll a whole alert back":
            # the alert as it was before its confirmation: event, status, head and length
            c.execute(sa.text("delete from alert_event where id = :i"), {"i": ids[-1]})
            head = c.execute(sa.text("select hash from alert_event where id = :i"),
                             {"i": ids[-2]}).scalar()
            c.execute(sa.text("update alert set status = 'in_review', chain_head = :h, "
                              "chain_length = :n where id = :a"),
                      {"h": head, "n": len(ids) - 1, "a": alert_id})
        else:
            raise AssertionError(kind)
    engine.dispose()


KINDS = {
    # kind: (reported by the row checks alone?, what the checkpoint check says)
    "delete newest event": (True, "checkpoint 1 sealed 3 events, the store has 2"),
    "delete a middle event": (True, "checkpoint 1 sealed 3 events, the store has 2"),
    "rewrite and re-hash an event": (False, "event #3 is not the one checkpoint 1 sealed"),
    "roll a whole alert back": (False, "checkpoint 1 sealed 3 events, the store has 2"),
}


def test_alerts_keep_the_head_and_length_of_their_chain(store_url, tmp_path) -> None:
    factory = _crawl(store_url, tmp_path / "evidence", n=1)
    alert_id = _alert_with_history(factory)
    with factory() as s:
        a = s.get(Alert, alert_id)
        events = s.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                           .order_by(AlertEvent.id)).all()
        assert a.chain_length == len(events) == 3 and a.chain_head == events[-1].hash
    with transaction(factory) as s:  # the next event moves the head, whoever adds it
        s.add(AlertEvent(alert_id=alert_id, actor="x@example.com", action="note"))
        s.flush()
        a = s.get(Alert, alert_id)
        assert a.chain_length == 4
    with factory() as s:
        a = s.get(Alert, alert_id)
        last = s.scalars(sa.select(AlertEvent.hash).where(AlertEvent.alert_id == alert_id)
                         .order_by(AlertEvent.id.desc())).first()
        assert (a.chain_length, a.chain_head) == (4, last)


def test_merkle_root_follows_rfc_6962() -> None:
    import hashlib

    def h(b: bytes) -> bytes:
        return hashlib.sha256(b).digest()

    a, b, c = b"a", b"b", b"c"
    ab = h(b"\x01" + h(b"\x00" + a) + h(b"\x00" + b))
    assert merkle_root([a, b]) == ab.hex()
    assert merkle_root([a, b, c]) == h(b"\x01" + ab + h(b"\x00" + c)).hex()
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_evidence_verify_reports_each_kind_of_tampering(store_url, tmp_path, monkeypatch,
                                                        kind) -> None:
    from markwatch.cli import main
    from markwatch.settings import get_settings

    monkeypatch.setenv("MARKWATCH_DATABASE_URL", store_url)
    get_settings.cache_clear()
    settings = get_settings()
    factory = _crawl(store_url, settings.effective_evidence_dir, n=2)
    alert_id = _alert_with_history(factory)
    runner = CliRunner()
    r = runner.invoke(main, ["evidence", "checkpoint"], catch_exceptions=False)
    assert r.exit_code == 0 and "checkpoint 1: 1 alert histories (3 events" in r.output
    clean = runner.invoke(main, ["evidence", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "every sealed head is still in the store" in clean.output
    tamper(store_url, kind, alert_id)
    rows_catch, says = KINDS[kind]
    with factory() as s:
        from db.evidence import verify_evidence
        from markwatch.objectstore import evidence_store

        rows = verify_evidence(s, evidence_store(settings))
    assert rows.ok is not rows_catch, rows.problems  # what the chain alone sees
    bad = runner.invoke(main, ["evidence", "verify"])
    assert bad.exit_code == 1, bad.output
    assert f"alert {alert_id}: {says}" in bad.output, bad.output
    # a third party verifies with the public key alone
    pub = settings.effective_signing_key.with_name("evidence-ed25519.pem.pub")
    third = runner.invoke(main, ["evidence", "verify", "--public-key", str(pub)])
    assert third.exit_code == 1 and says in third.output
    if store_url.startswith("sqlite"):
        from tests.faults.helpers import record

        line = next(ln for ln in bad.output.splitlines() if says in ln).strip(" -")
        record(f"10 evidence tampered: {kind}", 1, None, None, f"reported: {line[:90]}")


def test_a_rollback_sealed_by_a_later_checkpoint_is_still_reported(sqlite_url, tmp_path):
    factory = _crawl(sqlite_url, tmp_path / "evidence", n=1)
    alert_id = _alert_with_history(factory)
    log, key = FileCheckpointLog(tmp_path / "cp.jsonl"), load_or_create_key(tmp_path / "k.pem")
    with factory() as s:
        write_checkpoint(s, log, key)
    tamper(sqlite_url, "roll a whole alert back", alert_id)
    with factory() as s:
        assert write_checkpoint(s, log, key).changed == 1  # sealed, rolled back
        report = verify_checkpoints(s, log, key.public_key())
    assert (f"alert {alert_id}: rolled back between checkpoint 1 (3 events) and checkpoint 2 "
            "(2 events)") in report.problems, report.problems


def test_the_log_itself_cannot_be_edited(sqlite_url, tmp_path) -> None:
    factory = _crawl(sqlite_url, tmp_path / "evidence", n=2)
    _alert_with_history(factory)
    log, key = FileCheckpointLog(tmp_path / "cp.jsonl"), load_or_create_key(tmp_path / "k.pem")
    with transaction(factory) as s:
        write_checkpoint(s, log, key)
        a = s.scalars(sa.select(Alert)).first()
        s.add(AlertEvent(alert_id=a.id, actor="r@example.com", action="reopen",
                         from_status=a.status.value, to_status=AlertStatus.IN_REVIEW.value))
    with factory() as s:
        write_checkpoint(s, log, key)
        write_checkpoint(s, log, key)
        assert verify_checkpoints(s, log, key.public_key()).problems == []
        lines = log.lines()
        # a changed root
        entry = json.loads(lines[1])
        entry["root"] = "0" * 64
        edited = FileCheckpointLog(tmp_path / "edited.jsonl")
        for ln in (lines[0], json.dumps(entry).encode(), lines[2]):
            edited.append(ln)
        problems = verify_checkpoints(s, edited, key.public_key()).problems
        assert any("checkpoint 2: signature does not match" in p for p in problems), problems
        # an entry removed from the middle
        cut = FileCheckpointLog(tmp_path / "cut.jsonl")
        for ln in (lines[0], lines[2]):
            cut.append(ln)
        problems = verify_checkpoints(s, cut, key.public_key()).problems
        assert any("does not follow the entry before it" in p for p in problems), problems
        # another key
        other = load_or_create_key(tmp_path / "other.pem")
        problems = verify_checkpoints(s, log, other.public_key()).problems
        assert any("signature does not match" in p for p in problems), problems
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0  # the private key: owner only
