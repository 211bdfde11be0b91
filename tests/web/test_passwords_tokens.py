"""Accounts: a person changes their password (the current one first; their other sessions
end), an admin sets a new one for a user who forgot it (that user's sessions end), and API tokens
expire."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from db.accounts import create_token
from db.enforcement import ApiToken
from db.models import User
from db.session import make_engine, session_factory, transaction
from db.tenancy import Refused
from db.types import utcnow
from tests.web.conftest import login, make_client
from tests.web.factory import PASSWORD

REVIEWER = "reviewer@kestrel-outdoor.example"
NEW = "a much longer pass phrase"


def _signed_in(client) -> bool:
    return client.get("/alerts").status_code == 200


def test_changing_ones_password_ends_the_other_sessions(filled, store_url, monkeypatch):
    here = make_client(store_url, monkeypatch)
    csrf = login(here, REVIEWER)
    elsewhere = make_client(store_url, monkeypatch)
    login(elsewhere, REVIEWER)
    for form, said in [
        ({"current": "not it", "new": NEW, "again": NEW}, "The current password is not right."),
        ({"current": PASSWORD, "new": NEW, "again": NEW + "x"}, "repetition differ"),
        ({"current": PASSWORD, "new": "short", "again": "short"}, "10"),
    ]:
        r = here.post("/account/password", data={"csrf_token": csrf, **form})
        assert r.status_code == 400 and said in r.text, r.text[-800:]
    assert _signed_in(elsewhere)
    r = here.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD,
                                             "new": NEW, "again": NEW})
    assert r.status_code == 303 and r.headers["location"] == "/account?changed=true"
    assert _signed_in(here) and not _signed_in(elsewhere)
    fresh = make_client(store_url, monkeypatch)
    page = fresh.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = fresh.post("/login", data={"email": REVIEWER, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 400  # the old password is gone
    login(fresh, REVIEWER, NEW)


def test_an_admin_sets_a_new_password_and_the_users_sessions_end(filled, store_url, monkeypatch):
    reviewer = make_client(store_url, monkeypatch)
    login(reviewer, REVIEWER)
    admin = make_client(store_url, monkeypatch)
    csrf = login(admin, "admin@kestrel-outdoor.example")
    engine = make_engine(store_url)
    with session_factory(engine)() as s:
        uid = s.scalar(sa.select(User.id).filter_by(email=REVIEWER))
    engine.dispose()
    assert "set a new password" in admin.get("/users").text
    r = admin.post(f"/users/{uid}/password", data={"csrf_token": csrf, "password": NEW})
    assert r.status_code == 303
    assert not _signed_in(reviewer)
    login(make_client(store_url, monkeypatch), REVIEWER, NEW)
    # a reviewer may not do it
    other = make_client(store_url, monkeypatch)
    csrf = login(other, "viewer@kestrel-outdoor.example")
    assert other.post(f"/users/{uid}/password",
                      data={"csrf_token": csrf, "password": NEW}).status_code == 403


def test_api_tokens_expire(filled, store_url, monkeypatch):
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, REVIEWER)
    page = ui.post("/tokens", data={"csrf_token": csrf, "name": "script", "days": "30"}).text
    raw = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)
    expires = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"<td>{expires}</td>" in page
    api = make_client(store_url, monkeypatch)
    api.headers["Authorization"] = f"Bearer {raw}"
    assert api.get("/api/v1/me").status_code == 200
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        tok = s.scalar(sa.select(ApiToken).filter_by(name="script"))
        tok.expires_at = utcnow() - timedelta(seconds=1)
        user = s.scalar(sa.select(User).filter_by(email=REVIEWER))
        with pytest.raises(Refused):
            create_token(s, user, "forever", days=400)
    engine.dispose()
    assert api.get("/api/v1/me").status_code == 401
    assert "expired" in ui.get("/tokens").text
