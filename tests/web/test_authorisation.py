"""The authorisation matrix: every route that names an object x every role x an object of
another rights holder answers 403 or 404, never 2xx or 3xx, and changes nothing. Routes that
name no object must not show another holder's rows. A new route fails this test until it is
added to one of the two tables."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from db.accounts import create_token
from db.cases import build_cases
from db.enforcement import Case, CounterNotice, Notice, RightsDocument
from db.models import Alert, Listing, Mark, User
from db.notices import record_answer, record_counter_notice
from db.registry_view import add_document
from db.session import make_engine, session_factory, transaction
from db.tenancy import Scope
from db.verdicts import transition
from tasks.enforcement import deliver_notice
from tests.web.conftest import api_token, login, make_client

ROLES = ("admin", "reviewer", "viewer")
A, B = "kestrel-outdoor", "aurelia-atelier"
SECRET = "AURELIA-ONLY-7f3c"


def other_tenant_objects(url: str, filled) -> dict[str, object]:
    """Objects of B across the lifecycle: alerts in every state, a case with a sent and a draft
    notice, an answer, a counter-notice, a document, a token and a user."""
    from web.services import generate_notices

    factory = session_factory(make_engine(url))
    ids = filled.alerts[B]
    with transaction(factory) as s:
        admin = s.scalar(sa.select(User).where(User.email == f"admin@{B}.example"))
        scope = Scope(s, admin.rights_holder_id, admin.email)
        s.execute(sa.update(Listing).where(Listing.id == s.get(Alert, ids[0]).listing_id)
                  .values(title=f"{SECRET} listing"))
        transition(scope, ids[:6], "confirm")
        transition(scope, ids[6:8], "dismiss", reason="duplicate")
        case_id = build_cases(scope, ids[:3], group_by="marketplace")[0]

        ctx = SimpleNamespace(session=s, user=admin, scope=scope)  # what a request gives
        notices = generate_notices(ctx, case_id, limit=1)
        doc = add_document(scope, title=f"{SECRET} certificate", filename="cert.pdf",
                           content_type="application/pdf", body=b"%PDF-1.4 B", mark_id=None)
        _raw, tok = create_token(s, admin, "b's token")
        reviewer = s.scalar(sa.select(User).where(User.email == f"reviewer@{B}.example"))
        mark = s.scalars(scope.select(Mark)).first()
        seller = s.get(Alert, ids[0]).listing.seller
        market = s.get(Alert, ids[0]).listing.marketplace.code
        n_sent, n_draft = notices[0].id, notices[-1].id
        s.execute(sa.update(Notice).where(Notice.id == n_sent).values(status="queued"))
    deliver_notice(factory, n_sent)
    with transaction(factory) as s:
        scope = Scope(s, admin.rights_holder_id, admin.email)
        record_answer(scope, n_sent, "removed")
        cn = record_counter_notice(scope, case_id, seller="s", received_on=date(2026, 1, 1),
                                   deadline=date(2026, 1, 11))
        cn_id = cn.id
    return {
        "alert_id": ids[10], "confirmed_alert_id": ids[4], "case_alert_id": ids[0],
        "case_id": case_id, "notice_id": n_draft, "sent_notice_id": n_sent,
        "counter_notice_id": cn_id, "document_id": doc.id, "user_id": reviewer.id,
        "token_id": tok.id, "mark_registration": mark.registration_number, "mark_id": mark.id,
        "seller": seller, "marketplace": market, "factory": factory,
    }


def requests_table(o: dict) -> list[tuple[str, str, dict]]:
    """(method, path, request kwargs) with B's ids. Paths use the route's template."""
    counter = {"seller": "x", "received_on": "2026-02-01", "deadline": "2026-02-11"}
    f = {"alert_id": o["alert_id"], "case_id": o["case_id"], "notice_id": o["notice_id"],
         "counter_notice_id": o["counter_notice_id"], "document_id": o["document_id"],
         "user_id": o["user_id"], "token_id": o["token_id"]}
    rows = [
        # API
        ("GET", "/api/v1/alerts/{alert_id}", {}),
        ("POST", "/api/v1/alerts/{alert_id}/review", {"json": {}}),
        ("POST", "/api/v1/alerts/{alert_id}/confirm", {"json": {}}),
        ("POST", "/api/v1/alerts/{alert_id}/dismiss", {"json": {"reason": "duplicate"}}),
        ("POST", "/api/v1/alerts/{alert_id}/reopen", {"json": {}, "alert_id": o["confirmed_alert_id"]}),
        ("POST", "/api/v1/alerts/bulk", {"json": {"alert_ids": [o["alert_id"]], "action": "confirm"}}),
        ("POST", "/api/v1/cases", {"json": {"alert_ids": [o["confirmed_alert_id"]]}}),
        ("GET", "/api/v1/cases/{case_id}", {}),
        ("POST", "/api/v1/cases/{case_id}/notices", {"json": {}}),
        ("POST", "/api/v1/cases/{case_id}/close", {"json": {"reason": "x"}}),
        ("POST", "/api/v1/cases/{case_id}/counter-notices", {"json": counter}),
        ("POST", "/api/v1/counter-notices/{counter_notice_id}/resolve",
         {"json": {"status": "withdrawn", "resolution": "x"}}),
        ("GET", "/api/v1/notices/{notice_id}", {}),
        ("POST", "/api/v1/notices/{notice_id}/send", {}),
        ("POST", "/api/v1/notices/{notice_id}/answers", {"json": {"outcome": "removed"}, "notice_id": o["sent_notice_id"]}),
        ("GET", "/api/v1/sellers/history", {"params": {"marketplace": o["marketplace"], "seller": o["seller"]}}),
        ("POST", "/api/v1/watches", {"json": {"mark_registration": o["mark_registration"],
                                              "marketplace": "shopa", "terms": ["x"]}}),
        # pages
        ("GET", "/alerts/{alert_id}", {}),
        ("GET", "/alerts/{alert_id}/captured", {}),
        ("POST", "/alerts/{alert_id}/review", {"data": {}}),
        ("POST", "/alerts/{alert_id}/confirm", {"data": {}}),
        ("POST", "/alerts/{alert_id}/dismiss", {"data": {"reason": "duplicate"}}),
        ("POST", "/alerts/{alert_id}/reopen", {"data": {}, "alert_id": o["confirmed_alert_id"]}),
        ("POST", "/alerts/bulk", {"data": {"alert_ids": [o["alert_id"]], "action": "confirm"}}),
        ("POST", "/cases", {"data": {"alert_ids": [o["confirmed_alert_id"]]}}),
        ("GET", "/cases/{case_id}", {}),
        ("POST", "/cases/{case_id}/notices", {"data": {}}),
        ("POST", "/cases/{case_id}/close", {"data": {"reason": "x"}}),
        ("POST", "/cases/{case_id}/alerts/{alert_id}/remove", {"data": {}, "alert_id": o["case_alert_id"]}),
        ("POST", "/cases/{case_id}/counter-notices", {"data": counter}),
        ("POST", "/counter-notices/{counter_notice_id}/resolve", {"data": {"status": "withdrawn", "resolution": "x"}}),
        ("GET", "/notices/{notice_id}", {}),
        ("GET", "/notices/{notice_id}/document", {}),
        ("GET", "/notices/{notice_id}/listings.csv", {}),
        ("POST", "/notices/{notice_id}/send", {"data": {}}),
        ("POST", "/notices/{notice_id}/answers", {"data": {"outcome": "removed"}, "notice_id": o["sent_notice_id"]}),
        ("GET", "/sellers", {"params": {"marketplace": o["marketplace"], "seller": o["seller"]}}),
        ("GET", "/documents/{document_id}", {}),
        ("POST", "/registry/watches", {"data": {"mark_registration": o["mark_registration"],
                                                "marketplace": "shopa", "terms": "x"}}),
        ("POST", "/registry/products", {"data": {"name": "p", "mark_registration": o["mark_registration"]}}),
        ("POST", "/registry/documents", {"data": {"title": "t", "mark_id": str(o["mark_id"])},
                                         "files": {"file": ("a.txt", b"x", "text/plain")}}),
        ("POST", "/users/{user_id}/role", {"data": {"role": "admin"}}),
        ("POST", "/users/{user_id}/deactivate", {"data": {}}),
        ("POST", "/tokens/{token_id}/revoke", {"data": {}}),
    ]
    out = []
    for method, path, kw in rows:
        ids = dict(f)
        for k in list(kw):
            if k in ids:
                ids[k] = kw.pop(k)
        out.append((method, path, {**kw, "_ids": ids}))
    return out


#: routes that name no object: they act on the caller's own rows only. Checked for leaks.
NO_OBJECT = {
    ("GET", "/api/v1/me"), ("GET", "/api/v1/alerts"), ("GET", "/api/v1/alerts/export"),
    ("GET", "/api/v1/dismiss-reasons"), ("GET", "/api/v1/cases"), ("GET", "/api/v1/cases/export"),
    ("GET", "/api/v1/dashboard"), ("GET", "/api/v1/marks"), ("POST", "/api/v1/marks"),
    ("GET", "/api/v1/watches"), ("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/"),
    ("GET", "/alerts"), ("GET", "/cases"), ("GET", "/dashboard"), ("GET", "/registry"),
    ("GET", "/crawls"),
    ("POST", "/registry/marks"), ("POST", "/registry/sellers"), ("POST", "/registry/import"),
    ("GET", "/users"), ("POST", "/users"), ("GET", "/tokens"), ("POST", "/tokens"),
    ("GET", "/healthz"),
}
#: natural-key routes: another holder's key is "unknown" to the registry (422), or 403
REGISTRY = {("POST", "/api/v1/watches"), ("POST", "/registry/watches"), ("POST", "/registry/products")}


def _routes(app) -> set[tuple[str, str]]:
    out = set()
    for r in app.routes:
        if isinstance(r, APIRoute):
            for m in r.methods - {"HEAD"}:
                out.add((m, r.path))
    return out


@pytest.fixture
def world(filled, store_url):
    return other_tenant_objects(store_url, filled)


def _state(factory, o) -> tuple:
    with factory() as s:
        alerts = tuple(s.scalars(sa.select(Alert.status).where(Alert.rights_holder_id == s.get(Case, o["case_id"]).rights_holder_id).order_by(Alert.id)))
        return (alerts, s.get(Case, o["case_id"]).status, s.get(Notice, o["notice_id"]).status,
                s.get(CounterNotice, o["counter_notice_id"]).status, s.get(User, o["user_id"]).role,
                s.get(User, o["user_id"]).active, s.get(RightsDocument, o["document_id"]).title,
                s.scalar(sa.select(sa.func.count()).select_from(Case)),
                s.scalar(sa.select(sa.func.count()).select_from(Notice)))


def test_matrix_other_tenant_objects_are_403_or_404(world, store_url, monkeypatch):
    table = requests_table(world)
    before = _state(world["factory"], world)
    results = []
    for role in ROLES:
        email = f"{role}@{A}.example"
        api = make_client(store_url, monkeypatch)
        api.headers["Authorization"] = "Bearer " + api_token(store_url, email)
        ui = make_client(store_url, monkeypatch)
        csrf = login(ui, email)
        for method, path, kw in table:
            kw = dict(kw)
            ids = kw.pop("_ids")
            url = path.format(**ids)
            client = api if path.startswith("/api/") else ui
            if client is ui and method == "POST":
                kw["data"] = {**kw.get("data", {}), "csrf_token": csrf}
            r = client.request(method, url, **kw)
            allowed = (403, 404, 422) if (method, path) in REGISTRY else (403, 404)
            results.append((role, method, path, r.status_code))
            assert r.status_code in allowed, f"{role} {method} {url}: {r.status_code} {r.text[:300]}"
            assert SECRET not in r.text
    assert _state(world["factory"], world) == before, "another holder's rows changed"
    # every route is in the matrix or names no object
    covered = {(m, p) for m, p, _ in table}
    app_routes = _routes(api.app)
    assert app_routes - covered - NO_OBJECT == set(), "routes missing from the matrix"
    assert len(results) == len(ROLES) * len(table)
    print(f"\nauthorisation matrix: {len(table)} object routes x {len(ROLES)} roles = "
          f"{len(results)} requests, all 403/404 (registry natural keys: 422)")


def test_lists_and_exports_never_show_another_tenants_rows(world, store_url, monkeypatch):
    for role in ROLES:
        email = f"{role}@{A}.example"
        ui = make_client(store_url, monkeypatch)
        login(ui, email)
        api = make_client(store_url, monkeypatch)
        api.headers["Authorization"] = "Bearer " + api_token(store_url, email)
        for path in ("/api/v1/alerts?status=new&limit=500", "/api/v1/alerts?limit=500",
                     "/api/v1/alerts/export?format=json", "/api/v1/alerts/export",
                     "/api/v1/cases", "/api/v1/cases/export", "/api/v1/dashboard",
                     "/api/v1/marks", "/api/v1/watches", "/api/v1/dismiss-reasons"):
            r = api.get(path)
            assert r.status_code in (200, 403)
            assert SECRET not in r.text and "AURELIA" not in r.text, path
        for path in ("/alerts?status=all", "/alerts?status=confirmed", "/cases", "/dashboard",
                     "/registry", "/tokens", "/users"):
            r = ui.get(path)
            assert r.status_code in (200, 403)
            assert SECRET not in r.text and "AURELIA" not in r.text, path
        assert all(i["alert_id"] not in (world["alert_id"], world["case_alert_id"])
                   for i in api.get("/api/v1/alerts?status=new&limit=500").json()["items"])
