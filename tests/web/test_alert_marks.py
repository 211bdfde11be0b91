"""One alert per listing per rights holder: the queue finds it under any of its marks, and the
API and the alert page name them all."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from db.alerts import Finding, record_findings
from db.listings import ListingFields, upsert_listing
from db.models import Mark, Marketplace
from db.session import make_engine, session_factory, transaction
from tests.web.conftest import api_token, login, make_client


def _two_mark_alert(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        k = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        kt = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL TRAIL"))
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        lid = upsert_listing(s, shop, ListingFields(
            external_id="two-marks", url="http://127.0.0.1:8301/item/two-marks",
            title="KESTREL TRAIL Runner 2 replica", price=Decimal("12.00"), currency="GBP",
            seller="dupes"), seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        out = record_findings(s, lid, [
            Finding(k.rights_holder_id, kt.id, "trademark", 99, "high",
                    [{"check": "exact", "detail": "KESTREL TRAIL in the title",
                      "mark": "KESTREL TRAIL"}]),
            Finding(k.rights_holder_id, k.id, "trademark", 97, "high",
                    [{"check": "exact", "detail": "KESTREL in the title", "mark": "KESTREL"}]),
        ], snapshot_id=None)
        ids = (out.created[0], k.id, kt.id)
    engine.dispose()
    return ids


def test_one_alert_names_every_mark(filled, store_url, monkeypatch):
    alert_id, k_id, kt_id = _two_mark_alert(store_url)
    client = make_client(store_url, monkeypatch)
    client.headers["Authorization"] = "Bearer " + api_token(
        store_url, "reviewer@kestrel-outdoor.example")
    for mark_id in (k_id, kt_id):
        items = client.get("/api/v1/alerts", params={"mark_id": mark_id, "limit": 500}).json()
        mine = [i for i in items["items"] if i["alert_id"] == alert_id]
        assert [(i["mark"], i["marks"]) for i in mine] == [
            ("KESTREL TRAIL", ["KESTREL TRAIL", "KESTREL"])]
    # the filler's other alerts are KESTREL's only
    only_trail = client.get("/api/v1/alerts", params={"mark_id": kt_id, "limit": 500}).json()
    assert [i["alert_id"] for i in only_trail["items"]] == [alert_id]
    detail = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert detail["marks"] == ["KESTREL TRAIL", "KESTREL"]
    assert [r["mark"] for r in detail["reasons"]] == ["KESTREL TRAIL", "KESTREL"]

    ui = make_client(store_url, monkeypatch)
    login(ui, "reviewer@kestrel-outdoor.example")
    page = ui.get(f"/alerts/{alert_id}").text
    assert "<dt>Marks</dt>" in page and "KESTREL TRAIL (EUIPO 018245790" in page
    assert "KESTREL (EUIPO 018245771" in page
    queue = ui.get("/alerts", params={"mark_id": kt_id}).text
    assert f"/alerts/{alert_id}" in queue
