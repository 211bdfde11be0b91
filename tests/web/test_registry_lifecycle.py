"""The registry over time: a former distributor's authorisation ends on a date and the matcher
screens it again; a watch edited, paused and resumed; a retired mark is no longer screened and
supports no notice; the sellers list is paged. Before: none of this existed."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import sqlalchemy as sa

from db.models import AuthorisedSeller, Mark, Watch
from db.session import make_engine, session_factory
from db.types import utcnow
from markwatch.screening import INDEX_CACHE, matcher_config
from markwatch.settings import get_settings
from tests.web.conftest import alerts_on, api_token, login, make_client

ADMIN = "admin@kestrel-outdoor.example"


def _sessions(url: str):
    return session_factory(make_engine(url))


def _authorised(url: str, seller: str) -> str | None:
    """What the matcher's index (as the workers build it) says of a KESTREL listing by seller."""
    from matcher.types import ListingText

    with _sessions(url)() as s:
        idx = INDEX_CACHE.get(s, matcher_config(get_settings()))
        mark = next(m for m in idx.index.marks if m.mark == "KESTREL")
        return idx.index.authorised(mark, ListingText("x", "KESTREL boots", seller=seller,
                                                      marketplace="shopa"))


def test_an_authorisation_ends_on_its_date_and_the_seller_is_screened_again(
        filled, store_url, monkeypatch):
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, ADMIN)
    assert _authorised(store_url, "SportHaus Berlin") == "authorised seller"
    page = ui.get("/registry", params={"seller_q": "sporthaus"}).text
    sid = re.search(r'<tr data-seller="(\d+)"><td>SportHaus Berlin</td>', page).group(1)
    # ends in a week: still authorised today
    soon = utcnow().date() + timedelta(days=7)
    r = ui.post(f"/registry/sellers/{sid}/end", data={"csrf_token": csrf, "ended_on": soon})
    assert r.status_code == 303
    assert _authorised(store_url, "SportHaus Berlin") == "authorised seller"
    assert f"ends {soon}" in ui.get("/registry", params={"seller_q": "sporthaus"}).text
    # ended yesterday: screened like any seller from now on
    r = ui.post(f"/registry/sellers/{sid}/end",
                data={"csrf_token": csrf, "ended_on": utcnow().date() - timedelta(days=1)})
    assert r.status_code == 303
    assert _authorised(store_url, "SportHaus Berlin") is None
    assert _authorised(store_url, "Kestrel Official Store") == "authorised seller"
    with _sessions(store_url)() as s:
        assert s.get(AuthorisedSeller, int(sid)).ended_on == utcnow().date() - timedelta(days=1)
    # more than a year ahead is refused
    r = ui.post(f"/registry/sellers/{sid}/end",
                data={"csrf_token": csrf, "ended_on": utcnow().date() + timedelta(days=400)})
    assert r.status_code == 409


def test_a_watch_is_edited_paused_and_resumed(filled, store_url, monkeypatch):
    api = make_client(store_url, monkeypatch)
    api.headers["Authorization"] = "Bearer " + api_token(store_url, ADMIN)
    wid = api.get("/api/v1/watches").json()[0]["watch_id"]
    r = api.patch(f"/api/v1/watches/{wid}", json={"terms": ["kestrel", "凯斯特"],
                                                 "schedule_minutes": 120})
    assert r.status_code == 200 and r.json()["terms"] == ["kestrel", "凯斯特"]
    assert api.post(f"/api/v1/watches/{wid}/pause").json()["active"] is False
    from tasks.schedule import start_due_watches  # what beat runs

    with _sessions(store_url)() as s:
        s.get(Watch, wid).next_run_at = utcnow() - timedelta(hours=1)
        s.commit()
        assert start_due_watches(s, now=utcnow(), only=[wid]) == []  # paused: not started
        s.rollback()
    assert api.post(f"/api/v1/watches/{wid}/resume").json()["active"] is True
    with _sessions(store_url)() as s:
        assert len(start_due_watches(s, now=utcnow() + timedelta(seconds=1), only=[wid])) == 1
        s.rollback()  # nothing is sent: the crawl goes out only after a commit
    # the page does the same with forms
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, ADMIN)
    r = ui.post(f"/registry/watches/{wid}/edit", data={"csrf_token": csrf,
                                                       "terms": "kestrel | kestrel boots",
                                                       "schedule_minutes": 60})
    assert r.status_code == 303
    ui.post(f"/registry/watches/{wid}/pause", data={"csrf_token": csrf})
    row = re.search(rf'<tr data-watch="{wid}">(.*?)</tr>', ui.get("/registry").text, re.S).group(1)
    assert 'value="kestrel | kestrel boots"' in row and "paused" in row and "resume-watch" in row


def test_a_retired_mark_is_not_screened_and_supports_no_notice(filled, store_url, monkeypatch):
    api = make_client(store_url, monkeypatch)
    api.headers["Authorization"] = "Bearer " + api_token(store_url, ADMIN)
    reviewer = make_client(store_url, monkeypatch)
    reviewer.headers["Authorization"] = "Bearer " + api_token(
        store_url, "reviewer@kestrel-outdoor.example")
    ids = alerts_on(filled, "shopc")
    reviewer.post("/api/v1/alerts/bulk", json={"alert_ids": ids, "action": "confirm"})
    case_id = reviewer.post("/api/v1/cases", json={"alert_ids": ids}).json()[0]["case_id"]
    with _sessions(store_url)() as s:
        kid = s.scalar(sa.select(Mark.id).filter_by(word_mark="KESTREL"))
    r = api.post(f"/api/v1/marks/{kid}/retire")
    assert r.status_code == 200 and r.json()["retired"] is True
    with _sessions(store_url)() as s:
        idx = INDEX_CACHE.get(s, matcher_config(get_settings()))
        assert "KESTREL" not in [m.mark for m in idx.index.marks]
        assert "KESTREL TRAIL" in [m.mark for m in idx.index.marks]
        assert all(not w.active for w in s.scalars(sa.select(Watch).filter_by(mark_id=kid)))
    r = reviewer.post(f"/api/v1/cases/{case_id}/notices")
    assert r.status_code == 409 and "KESTREL (EUIPO 018245771) is retired" in r.json()["detail"]
    wid = next(w["watch_id"] for w in api.get("/api/v1/watches").json() if w["mark_id"] == kid)
    r = api.post(f"/api/v1/watches/{wid}/resume")
    assert r.status_code == 409 and "retired" in r.json()["detail"]


def test_the_sellers_list_is_paged_and_searchable(filled, store_url, monkeypatch):
    engine = make_engine(store_url)
    with session_factory(engine)() as s, s.begin():
        rh = s.scalar(sa.select(Mark.rights_holder_id).filter_by(word_mark="KESTREL"))
        demo = s.scalar(sa.select(sa.func.count()).select_from(AuthorisedSeller)
                        .where(AuthorisedSeller.rights_holder_id == rh))
        s.execute(sa.insert(AuthorisedSeller), [
            {"rights_holder_id": rh, "marketplace_id": None, "seller_name": f"reseller {i:04d}",
             "seller_key": f"reseller {i:04d}"} for i in range(450)])
    engine.dispose()
    ui = make_client(store_url, monkeypatch)
    login(ui, ADMIN)
    page = ui.get("/registry").text
    assert len(re.findall(r'<tr data-seller="', page)) == 200
    assert f"{450 + demo} authorised sellers, page 1 of 3." in unescape(page)
    last = ui.get("/registry", params={"seller_page": 3}).text
    assert len(re.findall(r'<tr data-seller="', last)) == 50 + demo
    found = ui.get("/registry", params={"seller_q": "reseller 04"}).text
    assert len(re.findall(r'<tr data-seller="', found)) == 50  # 0400-0449
    assert len(ui.get("/registry", params={"seller_q": "100%_"}).text) > 0  # wildcards are text
    assert "0 authorised sellers" in ui.get("/registry", params={"seller_q": "100%_"}).text
