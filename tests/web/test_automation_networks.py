"""The automation rule condition ``in_network``: the seller is in a seller network with another
account the rights holder confirmed an alert on or has a case against. Networks recomputed from
the store by the beat task's code; alerts recorded by the matcher, the rule acting as it records
them; only the holder's own verdicts count."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
import sqlalchemy as sa

from db.alerts import Finding, record_findings
from db.automation import add_rule, apply_to_queue, clean_conditions, dry_run, undo_rule
from db.cases import build_cases
from db.enforcement import AutomationRule
from db.listings import ListingFields, upsert_listing
from db.models import Alert, AlertEvent, AlertStatus, Mark, Marketplace, RightsHolder
from db.networks import SellerNetworkMember
from db.session import make_engine, session_factory, transaction
from db.tenancy import Refused, Scope
from db.verdicts import transition
from markwatch.networks import recompute_networks
from markwatch.screening import screen_listings
from markwatch.settings import get_settings
from tests.web.conftest import login, make_client

ADMIN = "admin@kestrel-outdoor.example"
TITLE = "KESTREL replica hiking boots 1:1 mirror quality"


def _scope(s, slug: str = "kestrel-outdoor", actor: str = ADMIN) -> Scope:
    return Scope(s, s.scalar(sa.select(RightsHolder.id).filter_by(slug=slug)), actor)


def _listing(s, code: str, ext: str, seller: str, description: str) -> int:
    shop = s.scalar(sa.select(Marketplace.id).filter_by(code=code))
    return upsert_listing(s, shop, ListingFields(
        external_id=ext, url=f"http://127.0.0.1:8301/item/{ext}", title=TITLE,
        description=description, seller=seller, category="Shoes", price=None, currency=None),
        seen_at=datetime.now(UTC), crawl_run_id=None).listing_id


def _alert(s, listing_id: int, slug: str = "kestrel-outdoor") -> int:
    holder = s.scalar(sa.select(RightsHolder.id).filter_by(slug=slug))
    return s.scalar(sa.select(Alert.id).where(Alert.listing_id == listing_id,
                                              Alert.rights_holder_id == holder))


def _networked(s) -> dict[str, int]:
    """Five sellers: net-confirmed (shopa) and net-friend (shopb) share a phone number;
    volt-only (shopa) and volt-friend (shopc) a Telegram handle; no-network shares nothing.
    Kestrel confirms its alert on net-confirmed; on volt-only only Voltaris confirms its own."""
    listings = {
        "net-confirmed": _listing(s, "shopa", "nw-1", "net-confirmed",
                                  "WhatsApp 07911 123071 for bulk orders."),
        "net-friend": _listing(s, "shopb", "nw-2", "net-friend", "Call +44 7911 123071."),
        "no-network": _listing(s, "shopb", "nw-3", "no-network", "Ships in two days."),
        "volt-only": _listing(s, "shopa", "nw-4", "volt-only", "telegram @cheapbags99"),
        "volt-friend": _listing(s, "shopc", "nw-5", "volt-friend", "telegram @cheapbags99"),
    }
    screen_listings(s, [listings["net-confirmed"], listings["volt-only"]], get_settings())
    transition(_scope(s), [_alert(s, listings["net-confirmed"])], "confirm")
    volt = s.scalar(sa.select(Mark).filter_by(word_mark="VOLTARIS"))
    (volt_alert,) = record_findings(s, listings["volt-only"], [Finding(
        volt.rights_holder_id, volt.id, "counterfeit", 80, "high", [{"check": "exact"}])],
        snapshot_id=None).created
    transition(_scope(s, "voltaris", "admin@voltaris.example"), [volt_alert], "confirm")
    assert s.get(Alert, _alert(s, listings["volt-only"])).status is AlertStatus.NEW
    recompute_networks(s, now=datetime.now(UTC))
    nets = {m.seller: m.network_id for m in s.scalars(sa.select(SellerNetworkMember))}
    assert nets["net-confirmed"] == nets["net-friend"] != nets["volt-only"] == nets["volt-friend"]
    assert "no-network" not in nets
    return listings


def test_in_network_conditions_are_checked():
    assert clean_conditions({"in_network": True}) == {"in_network": True}
    assert clean_conditions({"in_network": "on", "min_score": "40"}) == {
        "in_network": True, "min_score": 40}
    assert clean_conditions({"in_network": "false", "min_score": 40}) == {"min_score": 40}
    for bad in ("yes", [True], {"on": 1}, 2):
        with pytest.raises(Refused, match="in_network is true or false"):
            clean_conditions({"in_network": bad})
    with pytest.raises(Refused, match=r"unknown condition\(s\): in_networks"):
        clean_conditions({"in_networks": True})
    with pytest.raises(Refused, match="sellers is a list"):
        clean_conditions({"sellers": "copy king"})  # not one seller per letter
    with pytest.raises(Refused, match="min_score is a whole number"):
        clean_conditions({"min_score": "high"})
    with pytest.raises(Refused, match="at least one condition"):
        clean_conditions({"in_network": False})


def test_a_rule_on_sellers_in_a_network_with_our_infringers(filled, store_url):
    factory = session_factory(make_engine(store_url))
    with transaction(factory) as s:
        scope = _scope(s)
        listings = _networked(s)
        confirmed = _alert(s, listings["net-confirmed"])
        rule = add_rule(scope, name="ring", action="review", conditions={"in_network": True})
        # the matcher records the rest in one batch; the rule acts as it does, asking the
        # networks once for the batch
        asked = []

        def count(conn, cursor, statement, *rest) -> None:
            if "seller_network_member" in statement:
                asked.append(statement)

        sa.event.listen(s.get_bind(), "before_cursor_execute", count)
        out = screen_listings(s, [listings[k] for k in ("net-friend", "no-network", "volt-friend")],
                              get_settings())
        sa.event.remove(s.get_bind(), "before_cursor_execute", count)
        assert len(asked) == 1
        assert len(out.alert_ids) == 3
        friend, lonely, volt_friend = (_alert(s, listings[k]) for k in
                                       ("net-friend", "no-network", "volt-friend"))
        assert s.get(Alert, friend).status is AlertStatus.IN_REVIEW  # linked to our infringer
        assert s.get(Alert, lonely).status is AlertStatus.NEW  # in no network
        # linked only to a seller another holder confirmed: that holder's verdict is not ours
        assert s.get(Alert, volt_friend).status is AlertStatus.NEW
        event = s.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == friend)
                          .order_by(AlertEvent.id.desc())).first()
        net_id = s.scalar(sa.select(SellerNetworkMember.network_id).filter_by(seller="net-friend"))
        assert event.actor == f"rule:{rule.id}:ring"
        assert event.details["in_network"] == {
            "network_id": net_id, "linked_total": 1,
            "linked": [{"marketplace": "shopa", "seller": "net-confirmed", "alert_id": confirmed,
                        "case_id": None}]}
        assert (f"in seller network {net_id}, linked to net-confirmed on shopa "
                f"(confirmed alert {confirmed})") in event.details["note"]

        # the dry run counts it (and only it), with the same reason
        preview = dry_run(scope, {"in_network": True}, "review")
        assert (preview.matched, preview.by_status, preview.agree) == (1, {"in_review": 1}, 0)
        assert preview.sample[0][0] == friend and "net-confirmed on shopa" in preview.sample[0][4]
        # a case against the linked seller is named as the evidence
        (case_id,) = build_cases(scope, [confirmed], group_by="seller")
        assert f"(case {case_id})" in dry_run(scope, {"in_network": True}, "review").sample[0][4]

        # undo puts it back; applying the rule to the queue moves it again
        assert undo_rule(scope, rule.id) == [friend]
        assert s.get(Alert, friend).status is AlertStatus.NEW
        assert apply_to_queue(scope, rule.id) == [friend]
        # once we confirm our own alert on volt-only, its friend is in a network of ours
        transition(scope, [_alert(s, listings["volt-only"])], "confirm")
        assert apply_to_queue(scope, rule.id) == [volt_friend]
        assert s.get(Alert, lonely).status is AlertStatus.NEW


def test_the_rules_page_sets_and_shows_the_network_condition(filled, store_url, monkeypatch):
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        lid = _networked(s)["net-friend"]
        screen_listings(s, [lid], get_settings())  # no rule yet: its alert stays new
        friend = _alert(s, lid)
    engine.dispose()
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, ADMIN)
    form = {"csrf_token": csrf, "name": "ring", "action": "review", "reason": "",
            "checks": "", "min_score": "", "max_score": "", "sellers": "", "kinds": "",
            "in_network": "true"}
    page = unescape(ui.post("/rules", data={**form, "do": "preview"}).text)
    assert re.search(r'id="rule-in-network"\s+checked', page)  # the form keeps it for saving
    assert "<strong>1</strong> alert(s) of the last 30 days" in page
    assert f'href="/alerts/{friend}"' in page and "linked to net-confirmed on shopa" in page
    r = ui.post("/rules", data={**form, "do": "save"})
    assert r.status_code == 303
    rid = int(re.search(r"rule\+(\d+)\+saved", r.headers["location"]).group(1))
    listed = ui.get("/rules").text
    row = re.search(rf'<tr data-rule="{rid}">(.*?)</tr>', listed, re.S).group(1)
    assert "seller in a network with one we confirmed or have a case against" in row
    engine = make_engine(store_url)
    with transaction(session_factory(engine)) as s:
        assert s.get(AutomationRule, rid).conditions == {"in_network": True}
    engine.dispose()
    # unchecked, the condition is not part of the rule
    page = ui.post("/rules", data={**{k: v for k, v in form.items() if k != "in_network"},
                                   "do": "save"})
    assert page.status_code == 409 and "at least one condition" in unescape(page.text)
