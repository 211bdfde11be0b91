"""Red-team cases, each a test that failed before its fix: sign-in throttling per account and
per address with backoff; user creation that tells an admin nothing about other rights holders;
a notice whose sending thread died while queued can be sent again."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from db.enforcement import Notice, NoticeStatus
from db.models import User
from db.session import make_engine, session_factory, transaction
from tests.web.conftest import alerts_on, api_token, make_client
from tests.web.factory import PASSWORD


def _try(client, email: str, password: str, holder: str = ""):
    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    data = {"email": email, "password": password, "csrf_token": token}
    if holder:
        data["holder"] = holder
    return client.post("/login", data=data)


@pytest.fixture
def throttled(monkeypatch):
    # locks long enough that a slow machine's next attempt still meets them
    monkeypatch.setenv("MARKWATCH_LOGIN_FREE_ATTEMPTS", "5")
    monkeypatch.setenv("MARKWATCH_LOGIN_ADDRESS_FREE_ATTEMPTS", "12")
    monkeypatch.setenv("MARKWATCH_LOGIN_LOCKOUT_BASE", "10")


def test_wrong_passwords_lock_the_account(throttled, filled, store_url, monkeypatch):
    client = make_client(store_url, monkeypatch)
    email = "reviewer@kestrel-outdoor.example"
    assert [_try(client, email, "wrong password!").status_code for _ in range(5)] == [400] * 5
    assert _try(client, email, "wrong password!").status_code == 400  # the 6th locks: 10 s
    r = _try(client, email, PASSWORD)  # the right password, during the lock: refused unchecked
    assert r.status_code == 429, r.status_code
    assert 1 <= int(r.headers["Retry-After"]) <= 10 and "Too many failed sign-ins" in r.text
    # refused attempts do not lengthen the lock
    again = _try(client, email, "wrong password!")
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) <= int(r.headers["Retry-After"])
    time.sleep(int(again.headers["Retry-After"]) + 0.3)
    assert _try(client, email, PASSWORD).status_code == 303  # after the lock: signed in
    if store_url.startswith("sqlite"):
        from tests.faults.helpers import record

        record("14 sign-in throttled", 8, None, None,
               f"6 wrong passwords: locked {r.headers['Retry-After']} s; the right password "
               "refused while locked (429), accepted after")
    # the success cleared the account's count: five fresh tries before the next lock
    other = make_client(store_url, monkeypatch)
    assert [_try(other, email, "wrong password!").status_code for _ in range(5)] == [400] * 5


def test_the_lock_backs_off_exponentially(sqlite_url) -> None:
    from datetime import UTC, datetime, timedelta

    from db.session import make_engine, session_factory, transaction
    from db.throttle import Policy, locked_for, record_failure, record_success

    policy = Policy(free=5, base=1.0, cap=60.0, window=3600.0)
    keys = {"account:a@example.com": policy}
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    engine = make_engine(sqlite_url)
    factory = session_factory(engine)
    locks = []
    with transaction(factory) as s:
        for i in range(12):
            now = t0 + timedelta(hours=i / 100)
            locks.append(record_failure(s, keys, now=now))
        assert locks == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60]  # doubling, capped
        assert locked_for(s, keys, now=now) == 60
        assert locked_for(s, keys, now=now + timedelta(seconds=45)) == 15
        assert locked_for(s, keys, now=now + timedelta(seconds=61)) == 0
        # an hour without failures: forgotten
        assert record_failure(s, keys, now=now + timedelta(hours=2)) == 0
        record_success(s, "account:a@example.com")
        assert locked_for(s, keys, now=now) == 0
    engine.dispose()


def test_unknown_addresses_lock_the_same_way(throttled, filled, store_url, monkeypatch):
    """The lock does not tell a known e-mail from an unknown one."""
    client = make_client(store_url, monkeypatch)
    known = [_try(client, "viewer@voltaris.example", "wrong password!").status_code
             for _ in range(7)]
    client2 = make_client(store_url, monkeypatch)
    unknown = [_try(client2, "nobody@voltaris.example", "wrong password!").status_code
               for _ in range(7)]
    assert known == unknown == [400] * 6 + [429]


def test_one_address_trying_many_accounts_is_locked(throttled, filled, store_url, monkeypatch):
    client = make_client(store_url, monkeypatch)
    for i in range(12):  # spread over accounts: no account reaches its own limit
        assert _try(client, f"guess{i % 3}@kestrel-outdoor.example", "x" * 12).status_code == 400
    assert _try(client, "guess9@kestrel-outdoor.example", "x" * 12).status_code == 400
    r = _try(client, "admin@kestrel-outdoor.example", PASSWORD)
    assert r.status_code == 429  # the address is locked, whatever account it tries next


def test_creating_a_user_tells_nothing_about_other_rights_holders(filled, store_url,
                                                                  monkeypatch):
    client = make_client(store_url, monkeypatch)
    client.headers["Authorization"] = "Bearer " + api_token(store_url,
                                                            "admin@kestrel-outdoor.example")
    body = {"name": "x", "role": "viewer", "password": "another password 1"}
    elsewhere = client.post("/api/v1/users", json={**body, "email": "Reviewer@Voltaris.example"})
    fresh = client.post("/api/v1/users", json={**body, "email": "new-person@example.org"})
    assert elsewhere.status_code == fresh.status_code == 201, elsewhere.text
    assert set(elsewhere.json()) == set(fresh.json())
    assert elsewhere.json()["email"] == "reviewer@voltaris.example"
    # a second account for the same address at the same rights holder is refused
    again = client.post("/api/v1/users", json={**body, "email": "reviewer@voltaris.example"})
    assert again.status_code == 409
    # the two accounts of the address are separate: each password opens its own
    web = make_client(store_url, monkeypatch)
    assert _try(web, "reviewer@voltaris.example", "another password 1").status_code == 303
    assert web.get("/api/v1/me").json()["rights_holder"] == "kestrel-outdoor"
    web = make_client(store_url, monkeypatch)
    assert _try(web, "reviewer@voltaris.example", PASSWORD).status_code == 303
    assert web.get("/api/v1/me").json()["rights_holder"] == "voltaris"
    # the same password at both: the person picks the rights holder
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        hashes = dict(s.execute(sa.select(User.rights_holder_id, User.password_hash)
                                .where(User.email == "reviewer@voltaris.example")).all())
        same = next(h for rid, h in hashes.items() if rid == filled.holders["voltaris"])
        s.execute(sa.update(User).where(User.email == "reviewer@voltaris.example")
                  .values(password_hash=same))
    engine.dispose()
    web = make_client(store_url, monkeypatch)
    r = _try(web, "reviewer@voltaris.example", PASSWORD)
    assert r.status_code == 200 and 'name="holder"' in r.text
    assert _try(web, "reviewer@voltaris.example", PASSWORD, "voltaris").status_code == 303
    assert web.get("/api/v1/me").json()["rights_holder"] == "voltaris"


def test_a_notice_left_queued_can_be_sent_again(filled, store_url, monkeypatch):
    """A sending thread that died before claiming the notice (embedded mode, "database is
    locked") left it queued: sending it again dispatches it again instead of refusing."""
    from markwatch.settings import get_settings
    from web.app import create_app

    dispatched: list[int] = []
    monkeypatch.setenv("MARKWATCH_DATABASE_URL", store_url)
    get_settings.cache_clear()
    from fastapi.testclient import TestClient

    lost = TestClient(create_app(dispatch=dispatched.append), follow_redirects=False)
    lost.headers["Authorization"] = "Bearer " + api_token(store_url,
                                                          "reviewer@kestrel-outdoor.example")
    ids = alerts_on(filled, "shopc")  # on TaoJi, where KESTREL is in force
    lost.post("/api/v1/alerts/bulk", json={"alert_ids": ids, "action": "confirm"})
    case_id = lost.post("/api/v1/cases", json={"alert_ids": ids, "group_by": "marketplace"}
                        ).json()[0]["case_id"]
    nid = lost.post(f"/api/v1/cases/{case_id}/notices").json()[0]["notice_id"]
    r = lost.post(f"/api/v1/notices/{nid}/send", json={"without_documents": True})  # queued; its dispatch went nowhere
    assert r.status_code == 202 and r.json()["status"] == "queued" and dispatched == [nid]
    client = make_client(store_url, monkeypatch)  # a dispatcher that sends
    client.headers["Authorization"] = lost.headers["Authorization"]
    r = client.post(f"/api/v1/notices/{nid}/send")
    assert r.status_code == 202, r.text
    assert client.get(f"/api/v1/notices/{nid}").json()["status"] == "sent"
    assert client.post(f"/api/v1/notices/{nid}/send").status_code == 409  # sent: at most once
    engine = make_engine(store_url)
    with session_factory(engine)() as s:
        assert s.get(Notice, nid).status == NoticeStatus.SENT and s.get(Notice, nid).attempts == 1
    engine.dispose()
