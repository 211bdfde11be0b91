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


def test_alert_pages_show_captured_photos_from_the_store_only(sqlite_url, evidence_store,
                                                               monkeypatch):
    import re
    from datetime import UTC, datetime

    from db.photos import ListingImage, add_listing_image
    from db.session import transaction
    from fixtures.marketplaces.images import png_for
    from markwatch.imaging import read_photo
    from markwatch.photos import store_photo

    filled = fill(sqlite_url, per_holder=2, xss=False, store=evidence_store)
    alert_id = filled.alerts["kestrel-outdoor"][0]
    other_alert = filled.alerts["voltaris"][0]
    data = png_for("official:018245771:0:0")
    engine = make_engine(sqlite_url)
    with transaction(session_factory(engine)) as s:
        alert = s.get(Alert, alert_id)
        url = alert.listing.images[0]
        add_listing_image(s, listing_id=alert.listing_id, crawl_run_id=None, position=0, url=url,
                          fetched_at=datetime.now(UTC),
                          photo=store_photo(evidence_store, data, read_photo(data)),
                          warc_file=None, warc_record_id=None)
    with session_factory(engine)() as s:
        row = s.query(ListingImage).one()
        image_id, thumb_key = row.id, row.thumb_key
    engine.dispose()
    client = make_client(sqlite_url, monkeypatch)
    login(client, "reviewer@kestrel-outdoor.example")
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert f'src="/alerts/{alert_id}/photos/{image_id}"' in page.text
    # no image is loaded from anywhere but this app, and the policy says so
    assert not re.search(r'<img[^>]+src="(?!/)', page.text)
    csp = page.headers["content-security-policy"]
    assert "img-src 'self';" in csp and "http:" not in csp
    thumb = client.get(f"/alerts/{alert_id}/photos/{image_id}")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content == evidence_store.get(thumb_key)
    full = client.get(f"/alerts/{alert_id}/photos/{image_id}?size=full")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "image/png"
    assert full.headers["x-content-type-options"] == "nosniff"
    # another alert's photo, or another holder's alert, is not there
    assert client.get(f"/alerts/{other_alert}/photos/{image_id}").status_code == 404
    assert client.get(f"/alerts/{alert_id}/photos/{image_id}?size=huge").status_code == 422
    # the queue's card view shows each alert's first photo, from this app
    cards = client.get("/alerts?view=cards")
    assert cards.status_code == 200 and 'id="queue-cards"' in cards.text
    assert f'src="/alerts/{alert_id}/photos/{image_id}"' in cards.text
    assert "no photo captured" in cards.text  # the other alerts have none
    assert 'id="queue"' in client.get("/alerts").text  # the table stays the default
    evidence_store.delete(thumb_key)
    assert client.get(f"/alerts/{alert_id}/photos/{image_id}").status_code == 502
