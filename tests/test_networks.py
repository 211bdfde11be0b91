"""Seller networks: contacts read with phonenumbers, transitive links, recomputation on a real
store (SQLite and PostgreSQL) by the beat task's code, and the network page."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from db.listings import ListingFields, upsert_listing
from db.models import Alert, AlertStatus, Marketplace
from db.networks import SellerNetwork, SellerNetworkMember
from db.photos import add_listing_image
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from fixtures.marketplaces.images import png_for
from markwatch.accounts import ensure_demo_users
from markwatch.contacts import Contact, contacts_in
from markwatch.imaging import read_photo
from markwatch.networks import SellerEvidence, link_sellers, recompute_networks
from markwatch.objectstore import evidence_store
from markwatch.photos import store_photo
from markwatch.screening import screen_listings
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY
from tests.web.conftest import login, make_client


def test_one_number_written_many_ways_is_one_contact():
    gb = {"WhatsApp (+44) 7911123071 for bulk orders.", "Call 0044-7911-123-071",
          "text 07911 123071", "wa.me/447911123071"}
    assert {c for t in gb for c in contacts_in(t, "GB")} == {Contact("phone", "+447911123071")}
    assert contacts_in("联系电话 138-0013-8030", "CN") == {Contact("phone", "+8613800138030")}
    assert contacts_in("微信：Best_Goods40 / Wholesale: Sales51@QQ.com", "CN") == {
        Contact("wechat", "best_goods40"), Contact("email", "sales51@qq.com")}
    assert contacts_in("telegram @cheapbags99, line id kicks.4u", None) == {
        Contact("telegram", "cheapbags99"), Contact("line", "kicks.4u")}
    # model numbers, sizes, prices and years are not phone numbers
    assert contacts_in("Model KT-2201, size 42, 2026, £139.00, 20000mAh", "GB") == set()


def test_links_are_transitive_and_stock_photos_link_nobody():
    a, b, c, d = (1, "a"), (2, "b"), (3, "c"), (1, "d")
    stock = ("photo", "ffff0000ffff0000")
    nets = link_sellers([
        SellerEvidence(a, frozenset({("phone", "+447911123071"), stock})),
        SellerEvidence(b, frozenset({("phone", "+447911123071"), ("email", "x@qq.com"), stock})),
        SellerEvidence(c, frozenset({("email", "x@qq.com"), stock})),
        SellerEvidence(d, frozenset({stock})),
        *(SellerEvidence((2, f"s{i}"), frozenset({stock})) for i in range(10)),
    ])
    assert [n.members for n in nets] == [[a, b, c]]  # a-b by phone, b-c by e-mail
    assert {(x["kind"], x["value"]) for x in nets[0].links} == {
        ("phone", "+447911123071"), ("email", "x@qq.com")}


def _listing(s, shop: int, ext: str, seller: str, title: str, description: str) -> int:
    return upsert_listing(s, shop, ListingFields(
        external_id=ext, url=f"http://127.0.0.1:8301/item/{ext}", title=title,
        description=description, seller=seller, category="Shoes > Running", condition="new"),
        seen_at=datetime.now(UTC), crawl_run_id=None).listing_id


def _store(sessions) -> dict[str, int]:
    store = evidence_store()
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        shops = dict(s.execute(sa.select(Marketplace.code, Marketplace.id)).all())
        ids = {
            "a": _listing(s, shops["shopa"], "a1", "kicks4less", "KESTREL trail shoes replica",
                          "WhatsApp 07911 123071 for bulk orders."),
            "b": _listing(s, shops["shopb"], "b1", "shoe-hub", "KESTREL runners AAA",
                          "Call +44 7911 123071. Wholesale: deals@qq.com"),
            "c": _listing(s, shops["shopc"], "c1", "潮鞋工厂店", "KESTREL 跑鞋 高仿",
                          "邮箱 DEALS@qq.com"),
            "d": _listing(s, shops["shopa"], "d1", "honest-bob", "KESTREL trail shoes", "Used."),
            # an authorised seller shows the same photo as d: no link
            "e": _listing(s, shops["shopa"], "e1", "Kestrel Official Store", "KESTREL shoes", ""),
        }
        data = png_for("own:shared:0")
        for key in ("d", "e"):
            add_listing_image(s, listing_id=ids[key], crawl_run_id=None, position=0,
                              url=f"http://127.0.0.1:8301/img/{key}/0.png",
                              fetched_at=datetime.now(UTC),
                              photo=store_photo(store, data, read_photo(data)),
                              warc_file=None, warc_record_id=None)
        screen_listings(s, list(ids.values()), get_settings())
    return ids


def test_networks_are_recomputed_from_the_store_and_keep_their_ids(sessions):
    ids = _store(sessions)
    with transaction(sessions) as s:
        assert recompute_networks(s, now=datetime.now(UTC)) == 1
        (net,) = s.scalars(sa.select(SellerNetwork)).all()
        members = {m.seller for m in s.scalars(sa.select(SellerNetworkMember))}
        first_id = net.id
    assert members == {"kicks4less", "shoe-hub", "潮鞋工厂店"}
    assert {x["kind"] for x in net.links} == {"phone", "email"}
    with transaction(sessions) as s:  # the same store, the same network under the same id
        assert recompute_networks(s, now=datetime.now(UTC)) == 1
        assert s.scalars(sa.select(SellerNetwork.id)).all() == [first_id]
    del ids


def test_the_network_page_shows_the_holders_alerts_and_builds_cases(sqlite_url, monkeypatch):
    engine = make_engine(sqlite_url)
    factory = session_factory(engine)
    ids = _store(factory)
    with transaction(factory) as s:
        recompute_networks(s, now=datetime.now(UTC))
        net_id = s.scalar(sa.select(SellerNetwork.id))
        a = s.scalar(sa.select(Alert).where(Alert.listing_id == ids["a"]))
        assert a is not None
        a.status = AlertStatus.CONFIRMED
        a_id = a.id
        ensure_demo_users(s)  # the demo holders' sign-ins
    engine.dispose()
    client = make_client(sqlite_url, monkeypatch)
    csrf = login(client, "reviewer@kestrel-outdoor.example")
    listing = client.get("/networks")
    assert listing.status_code == 200 and f"/networks/{net_id}" in listing.text
    page = client.get(f"/networks/{net_id}")
    assert page.status_code == 200
    for text in ("kicks4less", "shoe-hub", "潮鞋工厂店", "+447911123071", "deals@qq.com",
                 "1 confirmed", "Build cases"):
        assert text in page.text
    # the page's button: the network's confirmed alerts become a case
    made = client.post("/cases", data={"csrf_token": csrf, "group_by": "marketplace",
                                       "alert_ids": [str(a_id)]}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"].startswith("/cases/")
    assert "No confirmed alert of this network is outside a case" in client.get(
        f"/networks/{net_id}").text
    # another holder has no alert on this network: it does not exist for them
    login(client, "reviewer@voltaris.example")
    assert client.get(f"/networks/{net_id}").status_code == 404
