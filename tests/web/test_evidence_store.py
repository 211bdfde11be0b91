"""The web app reads captured pages through the evidence store the workers wrote them to: a
directory, or an S3 bucket on a real S3-compatible server."""

from __future__ import annotations

from db.models import Alert, EvidenceSnapshot
from db.session import make_engine, session_factory
from tests.web.conftest import login, make_client
from tests.web.factory import fill


def test_alert_pages_read_the_capture_from_the_store(sqlite_url, evidence_store, monkeypatch):
    filled = fill(sqlite_url, per_holder=2, xss=False, store=evidence_store)
    alert_id = filled.alerts["kestrel-outdoor"][0]
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as s:
        snap = s.get(EvidenceSnapshot, s.get(Alert, alert_id).snapshot_id)
        key, sha = snap.warc_file, snap.sha256
        assert snap.body is None and evidence_store.exists(key)
    engine.dispose()
    client = make_client(sqlite_url, monkeypatch)
    login(client, "reviewer@kestrel-outdoor.example")
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and sha in page.text
    assert "KESTREL replica item 0" in page.text  # the page source, read from the store
    captured = client.get(f"/alerts/{alert_id}/captured")
    assert captured.status_code == 200
    assert captured.content.startswith(b"<html><body><h1>KESTREL replica item 0</h1>")
    assert "sandbox" in captured.headers["content-security-policy"]

    evidence_store.delete(key)  # lost from the store: said so, not a crash
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert "cannot be read from the evidence store" in page.text
    assert client.get(f"/alerts/{alert_id}/captured").status_code == 502
