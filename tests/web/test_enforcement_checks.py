"""Enforcement that checks itself: a notice rests only on a mark that is registered, in force and
valid where the marketplace sells, and the dashboard warns of registrations running out."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from db.models import Mark, Marketplace, MarkStatus
from db.notice_support import expiring, mark_jurisdictions, refusal, support
from db.registry import import_marketplaces
from db.session import make_engine, session_factory, transaction
from db.types import utcnow
from tests.web.conftest import alerts_on, api_token, login, make_client

REVIEWER = "reviewer@kestrel-outdoor.example"
TODAY = date(2026, 12, 1)


def _mark(**kw):
    base = dict(word_mark="KESTREL", office="EUIPO", registration_number="018245771",
                jurisdictions=["EU"], status=MarkStatus.REGISTERED, expires_on=date(2031, 5, 14))
    return SimpleNamespace(**{**base, **kw})


def _market(countries, country=None):
    return SimpleNamespace(name="Shop", countries=countries, country=country)


def test_a_right_must_be_valid_where_the_marketplace_sells():
    assert support(_mark(), _market(["DE"]), TODAY).ok  # an EU trade mark covers Germany
    s = support(_mark(), _market(["US", "CA"]), TODAY)
    assert not s.ok and "registered in EU" in s.why and "sells in US, CA" in s.why
    assert support(_mark(jurisdictions=[]), _market([], "GB"), TODAY).ok is False  # EUIPO: EU
    assert mark_jurisdictions(_mark(jurisdictions=[])) == ["EU"]
    assert support(_mark(jurisdictions=["WO:TH"]), _market(["TH"]), TODAY).ok  # Madrid
    assert support(_mark(jurisdictions=[], office="UKIPO"), _market([], "GB"), TODAY).ok
    expired = support(_mark(expires_on=TODAY - timedelta(days=1)), _market(["DE"]), TODAY)
    assert not expired.ok and "expired on 2026-11-30" in expired.why
    assert not support(_mark(status=MarkStatus.CANCELLED), _market(["DE"]), TODAY).ok
    assert refusal([support(_mark(), _market(["DE"]), TODAY)]) is None
    assert "not valid where the marketplace operates" in refusal(
        [support(_mark(), _market(["US"]), TODAY)])


def test_expiry_warnings_ninety_days_ahead():
    soon = _mark(expires_on=TODAY + timedelta(days=30))
    gone = _mark(expires_on=TODAY - timedelta(days=2))
    later = _mark(expires_on=TODAY + timedelta(days=91))
    none = _mark(expires_on=None)
    assert [(m, d) for m, d in expiring([later, soon, none, gone], TODAY)] == [(gone, -2), (soon, 30)]


def test_marketplaces_import_their_countries(store_url, tmp_path):
    profiles = Path(__file__).resolve().parents[2] / "fixtures" / "marketplaces" / "profiles"
    engine = make_engine(store_url)
    csv = tmp_path / "marketplaces.csv"
    csv.write_text(
        "code,name,spider,base_url,country,currency,profile,countries\n"
        f"shopa,Bazaarly,profile,http://127.0.0.1:1,FR,EUR,{profiles / 'shopa.toml'},DE|IT\n"
        f"shopc,TaoJi,profile,http://127.0.0.1:2,JP,JPY,{profiles / 'shopc.toml'},\n",
        encoding="utf-8")
    with transaction(session_factory(engine)) as s:
        import_marketplaces(s, csv)
    with session_factory(engine)() as s:
        got = dict(s.execute(sa.select(Marketplace.code, Marketplace.countries)).all())
    engine.dispose()
    assert got["shopa"] == ["FR", "DE", "IT"] and got["shopc"] == ["JP"]


def _case(api, ids: list[int]) -> int:
    api.post("/api/v1/alerts/bulk", json={"alert_ids": ids, "action": "confirm"})
    cases = api.post("/api/v1/cases", json={"alert_ids": ids, "group_by": "marketplace"}).json()
    assert len(cases) == 1
    return cases[0]["case_id"]


def test_a_notice_on_a_mark_not_valid_in_the_marketplaces_countries_is_refused(
        filled, store_url, monkeypatch):
    api = make_client(store_url, monkeypatch)
    api.headers["Authorization"] = "Bearer " + api_token(store_url, REVIEWER)
    # Tradewind (shopb) sells in the US, Canada and Japan: KESTREL is an EU, UK, Chinese,
    # Singapore and Thai registration
    on_tradewind = _case(api, alerts_on(filled, "shopb"))
    r = api.post(f"/api/v1/cases/{on_tradewind}/notices")
    assert r.status_code == 409
    assert "KESTREL (EUIPO 018245771) is registered in EU, GB, CN, SG (Madrid), TH (Madrid), and " \
        "Tradewind sells in US, CA, JP" in r.json()["detail"]
    assert api.get(f"/api/v1/cases/{on_tradewind}").json()["notices"] == []
    # the case page says which marks can support a notice, and which cannot
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    page = ui.get(f"/cases/{on_tradewind}").text
    support_list = unescape(re.search(r'<ul class="support" id="mark-support">(.*?)</ul>', page,
                                      re.S).group(1))
    assert "Cannot support a notice</strong>: KESTREL (EUIPO 018245771)" in support_list
    assert "Tradewind sells in US, CA, JP:" in page
    # on Bazaarly (GB, DE, FR, SG, MY) the same mark is good
    on_bazaarly = _case(api, alerts_on(filled, "shopa"))
    assert api.post(f"/api/v1/cases/{on_bazaarly}/notices").status_code == 201
    assert "Can support a notice</strong>: KESTREL (EUIPO 018245771) is valid in DE, FR, GB, SG" in \
        unescape(ui.get(f"/cases/{on_bazaarly}").text)


def test_a_draft_whose_mark_expired_since_is_not_sent(filled, store_url, monkeypatch):
    api = make_client(store_url, monkeypatch)
    api.headers["Authorization"] = "Bearer " + api_token(store_url, REVIEWER)
    case_id = _case(api, alerts_on(filled, "shopc"))
    nid = api.post(f"/api/v1/cases/{case_id}/notices").json()[0]["notice_id"]
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL")).expires_on = \
            utcnow().date() - timedelta(days=1)
    engine.dispose()
    r = api.post(f"/api/v1/notices/{nid}/send")
    assert r.status_code == 409 and "expired on" in r.json()["detail"]
    assert api.get(f"/api/v1/notices/{nid}").json()["status"] == "draft"
    # and no new notice rests on it either
    other = _case(api, alerts_on(filled, "shopa"))
    r = api.post(f"/api/v1/cases/{other}/notices")
    assert r.status_code == 409 and "expired on" in r.json()["detail"]


def test_the_dashboard_warns_of_registrations_running_out(filled, store_url, monkeypatch):
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL TRAIL")).expires_on = \
            utcnow().date() + timedelta(days=45)
    engine.dispose()
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    page = unescape(ui.get("/dashboard").text)
    warning = re.search(r'<div class="warning" role="alert" id="expiry-warnings">(.*?)</div>',
                        page, re.S).group(1)
    assert "KESTREL TRAIL (EUIPO 018245790) expires on" in warning and "in 45 days" in warning
    assert "KESTREL (EUIPO" not in warning  # 2031: not yet
