"""Notices: signed by the named person who sends them, sent without rights documents only when
that person says so, statuses that say what happened, and a PDF that prints Chinese."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from db.accounts import create_user
from db.alerts import Finding, record_findings
from db.listings import ListingFields, upsert_listing
from db.models import Mark, Marketplace, RightsHolder
from db.registry_view import add_document
from db.session import make_engine, session_factory, transaction
from db.tenancy import Scope
from markwatch.accounts import hash_password
from markwatch.notice_pdf import notice_pdf
from tests.web.conftest import alerts_on, api_token, login, make_client
from tests.web.factory import PASSWORD

REVIEWER = "reviewer@kestrel-outdoor.example"


def _draft(api, ids: list[int]) -> int:
    api.post("/api/v1/alerts/bulk", json={"alert_ids": ids, "action": "confirm"})
    case_id = api.post("/api/v1/cases", json={"alert_ids": ids, "group_by": "marketplace"}
                       ).json()[0]["case_id"]
    return api.post(f"/api/v1/cases/{case_id}/notices").json()[0]["notice_id"]


def _api(url: str, monkeypatch, email: str = REVIEWER):
    api = make_client(url, monkeypatch)
    api.headers["Authorization"] = "Bearer " + api_token(url, email)
    return api


def test_signed_by_the_person_who_sends_it_and_never_silently_without_documents(
        filled, store_url, monkeypatch):
    api = _api(store_url, monkeypatch)
    nid = _draft(api, alerts_on(filled, "shopc"))
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    draft = ui.get(f"/notices/{nid}/document").text
    assert "Draft, not yet signed" in draft and "GmbH reviewer" not in draft
    page = ui.get(f"/notices/{nid}").text
    assert 'id="no-documents"' in page and 'id="without-documents"' in page

    r = api.post(f"/api/v1/notices/{nid}/send")
    assert r.status_code == 409 and "no rights documents are attached" in r.json()["detail"]
    assert api.get(f"/api/v1/notices/{nid}").json()["status"] == "draft"
    r = api.post(f"/api/v1/notices/{nid}/send", json={"without_documents": True})
    assert r.status_code == 202
    out = api.get(f"/api/v1/notices/{nid}").json()
    assert (out["status"], out["status_label"]) == ("sent", "written to outbox")
    signed = ui.get(f"/notices/{nid}/document").text
    assert ("Signed: <strong>Jonas Weber</strong> (reviewer@kestrel-outdoor.example), for "
            "Kestrel Outdoor GmbH") in signed
    assert "Draft, not yet signed" not in signed
    page = ui.get(f"/notices/{nid}").text
    assert '>written to outbox</span>' in page and 'id="outbox-hint"' in page


def test_the_signatory_is_a_named_person(filled, store_url, monkeypatch):
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        rh = s.scalar(sa.select(RightsHolder).filter_by(slug="kestrel-outdoor"))
        create_user(s, rights_holder_id=rh.id, email="nameless@kestrel-outdoor.example", name="",
                    role="reviewer", password_hash=hash_password(PASSWORD))
    engine.dispose()
    api = _api(store_url, monkeypatch, "nameless@kestrel-outdoor.example")
    nid = _draft(api, alerts_on(filled, "shopc"))
    r = api.post(f"/api/v1/notices/{nid}/send", json={"without_documents": True})
    assert r.status_code == 409 and "signed by the named person" in r.json()["detail"]
    r = api.post(f"/api/v1/notices/{nid}/send", json={"without_documents": True,
                                                      "signatory": "  Anna   Schmidt "})
    assert r.status_code == 202
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    assert "Signed: <strong>Anna Schmidt</strong> (nameless@kestrel-outdoor.example)" in \
        ui.get(f"/notices/{nid}/document").text


def test_with_documents_on_file_no_confirmation_is_asked(filled, store_url, monkeypatch):
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        k = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        add_document(Scope(s, k.rights_holder_id, "admin@kestrel-outdoor.example"),
                     title="EUTM 018245771 certificate", filename="cert.pdf",
                     content_type="application/pdf", body=b"%PDF-1.4 certificate", mark_id=k.id)
    engine.dispose()
    api = _api(store_url, monkeypatch)
    nid = _draft(api, alerts_on(filled, "shopc"))
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    page = ui.get(f"/notices/{nid}").text
    assert 'id="no-documents"' not in page and 'id="without-documents"' not in page
    assert api.post(f"/api/v1/notices/{nid}/send").status_code == 202


def _fonts(pdf: bytes) -> set[bytes]:
    """The fonts a PDF embeds (its object streams inflated)."""
    out = pdf
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out += zlib.decompress(m.group(1))
        except zlib.error:
            continue
    return {f.split(b"+", 1)[-1] for f in re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", out)}


def test_the_notice_prints_to_pdf_with_its_chinese(filled, store_url, monkeypatch):
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        k = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        lid = upsert_listing(s, shop, ListingFields(
            external_id="cjk", url="http://127.0.0.1:8301/item/cjk",
            title="KESTREL 高仿 登山鞋 顶级复刻", price=Decimal("88"), currency="CNY",
            seller="深圳鞋业"), seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        alert_id = record_findings(s, lid, [Finding(k.rights_holder_id, k.id, "counterfeit", 96,
                                                    "high", [{"check": "exact"}])],
                                   snapshot_id=None).created[0]
    engine.dispose()
    api = _api(store_url, monkeypatch)
    nid = _draft(api, [alert_id])
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    r = ui.get(f"/notices/{nid}/document.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-") and f'notice-{nid}.pdf' in r.headers["content-disposition"]
    fonts = _fonts(r.content)
    # the Chinese printed in Debian's Noto CJK (fonts-noto-cjk), not as empty boxes
    assert any(f.startswith(b"Noto-Serif-CJK") for f in fonts), fonts


def test_printing_a_notice_makes_no_request():
    hits: list[str] = []
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}"
        pdf = notice_pdf(f'<html><head><link rel="stylesheet" href="{url}/a.css"></head><body>'
                         f'<img src="{url}/x.png"><p style="background:url({url}/b.png)">x</p>'
                         "</body></html>")
    finally:
        srv.shutdown()
    assert pdf.startswith(b"%PDF-") and hits == []
