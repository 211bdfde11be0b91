"""The dashboard's protection coverage in the RCEP markets, in the page and the API."""

from __future__ import annotations

import sqlalchemy as sa

from db.models import Alert, Listing, Marketplace
from db.session import make_engine, session_factory
from tests.web.conftest import api_token, login, make_client


def test_rcep_coverage_in_the_dashboard(filled_sqlite, monkeypatch):
    url = filled_sqlite.url
    engine = make_engine(url)
    with session_factory(engine)() as s:  # the factory spreads each holder's alerts over markets
        per_country = {country: n for country, n in s.execute(
            sa.select(Marketplace.country, sa.func.count())
            .join(Listing, Listing.marketplace_id == Marketplace.id)
            .join(Alert, Alert.listing_id == Listing.id)
            .where(Alert.id.in_(filled_sqlite.alerts["kestrel-outdoor"]))
            .group_by(Marketplace.country))}
    engine.dispose()
    client = make_client(url, monkeypatch)
    token = api_token(url, "reviewer@kestrel-outdoor.example")
    r = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    cov = r.json()["coverage"]
    assert cov["marks"] == ["KESTREL", "KESTREL TRAIL"]
    rows = {m["country"]: m for m in cov["markets"]}
    assert len(rows) == 15
    # KESTREL: EU, GB, CN and Madrid designations of SG and TH
    assert rows["TH"]["protection"] == {"KESTREL": "Madrid designation", "KESTREL TRAIL": None}
    assert rows["CN"]["protection"]["KESTREL"] == "national registration"
    assert rows["ID"]["protection"] == {"KESTREL": None, "KESTREL TRAIL": None}
    assert rows["ID"]["storefronts"] == ["sea_id"]
    for country in ("TH", "ID", "VN", "MY", "PH", "CN"):
        assert rows[country]["alerts"] == per_country.get(country, 0), country
    assert rows["TH"]["unprotected_alerts"] == 0 and rows["CN"]["unprotected_alerts"] == 0
    unprotected = sum(per_country.get(c, 0) for c in ("ID", "VN", "MY", "PH"))
    assert unprotected > 0 and cov["unprotected_alerts"] == unprotected
    assert cov["other_alerts"] == per_country.get("GB", 0) + per_country.get("US", 0)

    login(client, "reviewer@kestrel-outdoor.example")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Protection in the RCEP markets" in page.text
    assert f"{unprotected} open alerts from markets without protection" in page.text
    assert "Madrid designation" in page.text and "not registered" in page.text
