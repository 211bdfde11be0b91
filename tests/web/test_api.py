"""The API on SQLite and PostgreSQL: the review lifecycle from alert to recorded answer, the
refusals on the way, exports, pagination and the re-check of open cases."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from db.enforcement import AnswerOutcome, Case, CaseStatus, MemberState
from db.session import make_engine, session_factory
from tests.web.conftest import alerts_on, api_token, make_client


@pytest.fixture
def api(filled, store_url, monkeypatch):
    client = make_client(store_url, monkeypatch)
    tok = api_token(store_url, "reviewer@kestrel-outdoor.example")
    client.headers["Authorization"] = f"Bearer {tok}"
    return client


def test_lifecycle_from_alert_to_answer(api, filled, store_url, tmp_path):
    # on marketplaces where KESTREL is in force (every case can have its notice)
    ids = alerts_on(filled, "shopc") + alerts_on(filled, "shopa")
    assert api.post(f"/api/v1/alerts/{ids[0]}/review").json()["status"] == "in_review"
    r = api.post("/api/v1/alerts/bulk", json={"alert_ids": ids, "action": "confirm"})
    assert r.status_code == 200 and sorted(r.json()["changed"]) == sorted(ids)
    # illegal: a confirmed alert cannot be dismissed without being reopened
    r = api.post(f"/api/v1/alerts/{ids[0]}/dismiss", json={"reason": "duplicate"})
    assert r.status_code == 409
    r = api.post("/api/v1/cases", json={"alert_ids": ids, "group_by": "marketplace"})
    assert r.status_code == 201
    cases = r.json()
    assert sum(c["alerts"] for c in cases) == len(ids)
    case_id = cases[0]["case_id"]
    # an alert in a case cannot be grouped again, nor reopened
    assert api.post("/api/v1/cases", json={"alert_ids": ids[:1]}).status_code == 409
    assert api.post(f"/api/v1/alerts/{ids[0]}/reopen").status_code in (409,)
    notices = api.post(f"/api/v1/cases/{case_id}/notices", json={"limit": 1}).json()
    n_members = cases[0]["alerts"]
    assert len(notices) == n_members and all(n["listing_count"] == 1 for n in notices)
    assert api.post(f"/api/v1/cases/{case_id}/notices").status_code == 409  # all covered
    nid = notices[0]["notice_id"]
    # no answer before it is sent
    assert api.post(f"/api/v1/notices/{nid}/answers", json={"outcome": "removed"}).status_code == 409
    r = api.post(f"/api/v1/notices/{nid}/send", json={"without_documents": True})
    assert r.status_code == 202
    assert api.get(f"/api/v1/notices/{nid}").json()["status"] == "sent"
    assert api.post(f"/api/v1/notices/{nid}/send").status_code == 409  # at most once
    r = api.post(f"/api/v1/notices/{nid}/answers", json={"outcome": "removed", "note": "done"})
    assert r.status_code == 201 and r.json()["answers"][0]["outcome"] == "removed"
    r = api.post(f"/api/v1/cases/{case_id}/counter-notices", json={
        "seller": "x", "received_on": "2026-02-01", "deadline": "2026-02-11",
        "statement": "genuine goods"})
    assert r.status_code == 201
    cn = r.json()["counter_notice_id"]
    assert api.post(f"/api/v1/cases/{case_id}/close", json={"reason": "done"}).status_code == 409
    r = api.post(f"/api/v1/counter-notices/{cn}/resolve",
                 json={"status": "replied", "resolution": "we maintain the notice"})
    assert r.status_code == 200 and r.json()["status"] == "replied"
    detail = api.get(f"/api/v1/cases/{case_id}").json()
    actions = [e["action"] for e in detail["events"]]
    for a in ("created", "alerts_added", "notice_generated", "notice_queued", "notice_sent",
              "answer", "counter_notice", "counter_replied"):
        assert a in actions
    assert api.post(f"/api/v1/cases/{case_id}/close", json={"reason": "done"}).json()["status"] == "closed"
    # the notice went through the file sender, once
    outbox = list((tmp_path / "var" / "outbox").glob("notice-*"))
    assert len(outbox) == 1 and (outbox[0] / "notice.html").exists()


def test_dismiss_needs_a_reason_and_reasons_are_counted(api, filled):
    a, b, c = filled.alerts["kestrel-outdoor"][10:13]
    assert api.post(f"/api/v1/alerts/{a}/dismiss", json={}).status_code == 422
    assert api.post(f"/api/v1/alerts/{a}/dismiss", json={"reason": "made-up"}).status_code == 422
    for i in (a, b):
        assert api.post(f"/api/v1/alerts/{i}/dismiss", json={"reason": "nominative_use"}).status_code == 200
    api.post(f"/api/v1/alerts/{c}/dismiss", json={"reason": "duplicate", "note": "same as 4"})
    counts = api.get("/api/v1/dismiss-reasons").json()
    assert counts["nominative_use"] == 2 and counts["duplicate"] == 1
    api.post(f"/api/v1/alerts/{a}/reopen")
    assert api.get("/api/v1/dismiss-reasons").json()["nominative_use"] == 1
    detail = api.get(f"/api/v1/alerts/{a}").json()
    assert [e["action"] for e in detail["events"]] == ["created", "dismiss", "reopen"]
    assert detail["events"][1]["reason"] == "nominative_use"


def test_keyset_pages_walk_the_whole_queue_in_order(api, filled):
    seen, cursor = [], None
    while True:
        r = api.get("/api/v1/alerts", params={"status": "new", "limit": 7, **({"cursor": cursor} if cursor else {})})
        body = r.json()
        seen.extend((i["score"], i["alert_id"]) for i in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(filled.alerts["kestrel-outdoor"]) == body["counts"]["new"]
    assert seen == sorted(seen, key=lambda t: (-t[0], -t[1]))


def test_filters(api, filled):
    r = api.get("/api/v1/alerts", params={"marketplace": "shopb", "tier": "high", "limit": 500}).json()
    assert r["items"] and all(i["marketplace"] == "shopb" and i["tier"] == "high" for i in r["items"])
    one = r["items"][0]
    r = api.get("/api/v1/alerts", params={"seller": one["seller"]}).json()
    assert {i["seller"] for i in r["items"]} == {one["seller"]}
    assert api.get("/api/v1/alerts", params={"since": "2999-01-01"}).json()["items"] == []
    assert api.get("/api/v1/alerts", params={"cursor": "x"}).status_code == 422


def test_exports_neutralise_formula_cells(api, filled):
    r = api.get("/api/v1/alerts/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(filled.alerts["kestrel-outdoor"])
    for row in rows:
        for v in row.values():
            assert v[:1] not in ("=", "+", "-", "@")
    assert any(v.startswith("'=HYPERLINK") for row in rows for v in row.values())
    assert len(api.get("/api/v1/alerts/export", params={"format": "json"}).json()) == len(rows)
    assert api.get("/api/v1/cases/export", params={"format": "csv"}).status_code == 200


def test_recheck_records_checks_and_reopens_a_case_when_a_removed_listing_returns(api, filled, store_url):
    from tasks.enforcement import recheck

    # two listings on TaoJi, which sells where KESTREL is registered (CN)
    ids = alerts_on(filled, "shopc")
    api.post("/api/v1/alerts/bulk", json={"alert_ids": ids, "action": "confirm"})
    case_id = api.post("/api/v1/cases", json={"alert_ids": ids, "group_by": "marketplace"}).json()[0]["case_id"]
    nid = api.post(f"/api/v1/cases/{case_id}/notices").json()[0]["notice_id"]
    api.post(f"/api/v1/notices/{nid}/send", json={"without_documents": True})
    factory = session_factory(make_engine(store_url))
    out = recheck(factory, fetch=lambda url: 200)
    assert out["checked"] >= 1 and out["reopened"] == 0
    api.post(f"/api/v1/notices/{nid}/answers", json={"outcome": AnswerOutcome.REMOVED.value})
    assert api.get(f"/api/v1/cases/{case_id}").json()["status"] == "answered"
    out = recheck(factory, fetch=lambda url: 404)
    assert out["gone"] >= 1 and out["reopened"] == 0
    out = recheck(factory, fetch=lambda url: 200)  # it came back
    assert out["reopened"] >= 1
    detail = api.get(f"/api/v1/cases/{case_id}").json()
    assert detail["status"] == "reopened"
    assert "listing_back" in [e["action"] for e in detail["events"]]
    with factory() as s:
        case = s.get(Case, case_id)
        assert case.status == CaseStatus.REOPENED
        assert all(m.state == MemberState.UP for m in case.members)
    out = recheck(factory, fetch=lambda url: (_ for _ in ()).throw(OSError("down")))
    assert out["errors"] >= 1


def test_token_auth_and_roles(filled, store_url, monkeypatch):
    client = make_client(store_url, monkeypatch)
    assert client.get("/api/v1/alerts").status_code == 401
    client.headers["Authorization"] = "Bearer mwt_not-a-token"
    assert client.get("/api/v1/alerts").status_code == 401
    client.headers["Authorization"] = "Bearer " + api_token(store_url, "viewer@kestrel-outdoor.example")
    assert client.get("/api/v1/me").json()["permissions"] == ["read"]
    a = filled.alerts["kestrel-outdoor"][0]
    assert client.post(f"/api/v1/alerts/{a}/confirm").status_code == 403
    assert client.post("/api/v1/marks", json={"mark": "X", "registration_number": "1",
                                              "office": "EUIPO", "nice_classes": [25]}).status_code == 403
    client.headers["Authorization"] = "Bearer " + api_token(store_url, "admin@kestrel-outdoor.example")
    r = client.post("/api/v1/marks", json={"mark": "KESTREL KIDS", "registration_number": "0999",
                                           "office": "EUIPO", "nice_classes": [25, 28]})
    assert r.status_code == 201 and r.json()["nice_classes"] == [25, 28]
    r = client.post("/api/v1/marks", json={"mark": "X", "registration_number": "1",
                                           "office": "EUIPO", "nice_classes": [99]})
    assert r.status_code == 422
    r = client.post("/api/v1/watches", json={"mark_registration": "0999", "marketplace": "nope",
                                             "terms": ["kestrel kids"]})
    assert r.status_code == 422 and "unknown marketplace" in r.text


def test_the_alert_events_stay_append_only(api, filled, store_url):
    from db.models import AlertEvent, ImmutableRowError

    a = filled.alerts["kestrel-outdoor"][3]
    api.post(f"/api/v1/alerts/{a}/confirm")
    factory = session_factory(make_engine(store_url))
    with factory() as s:
        ev = s.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == a)).all()
        assert [e.action for e in ev] == ["created", "confirm"]
        assert ev[1].actor == "reviewer@kestrel-outdoor.example"
        ev[1].reason = "changed"
        with pytest.raises(ImmutableRowError):
            s.flush()
