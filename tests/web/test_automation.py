"""Automation rules: the first matching rule acts on a new alert as the matcher records it, each
action in the alert's history with the rule as its actor; a rule applied to the queue now, tried
first in a dry run, and undone (only where nobody touched the alert since)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
import sqlalchemy as sa

from db.automation import add_rule, apply_to_queue, dry_run, undo_rule
from db.listings import ListingFields, upsert_listing
from db.models import Alert, AlertEvent, AlertStatus, Marketplace, RightsHolder
from db.session import make_engine, session_factory, transaction
from db.tenancy import Refused, Scope
from db.verdicts import transition
from markwatch.screening import screen_listings
from markwatch.settings import get_settings
from tests.web.conftest import login, make_client

ADMIN = "admin@kestrel-outdoor.example"


def _scope(s, slug: str = "kestrel-outdoor", actor: str = ADMIN) -> Scope:
    return Scope(s, s.scalar(sa.select(RightsHolder.id).filter_by(slug=slug)), actor)


def _events(s, alert_id: int) -> list[tuple[str, str, str | None]]:
    return [(e.actor, e.action, e.to_status) for e in s.scalars(
        sa.select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))]


def test_rules_act_on_new_alerts_in_order_as_the_matcher_records_them(filled, store_url):
    factory = session_factory(make_engine(store_url))
    with transaction(factory) as s:
        scope = _scope(s)
        first = add_rule(scope, name="our distributor's reseller", action="dismiss",
                         reason="authorised_seller", conditions={"sellers": ["Trail Friends"]})
        add_rule(scope, name="open copies", action="confirm",
                 conditions={"checks": ["cue_phrase"], "min_score": 50})
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        ids = []
        for i, seller in enumerate(["trail  FRIENDS", "copy king"]):
            ids.append(upsert_listing(s, shop, ListingFields(
                external_id=f"rule-{i}", url=f"http://127.0.0.1:8301/item/rule-{i}",
                title="KESTREL replica hiking boots 1:1 mirror quality", seller=seller,
                category="Shoes", price=None, currency=None),
                seen_at=datetime.now(UTC), crawl_run_id=None).listing_id)
        out = screen_listings(s, ids, get_settings())
        assert len(out.alert_ids) == 2
        a1, a2 = out.alert_ids
        assert s.get(Alert, a1).status is AlertStatus.DISMISSED  # the first rule wins
        assert s.get(Alert, a2).status is AlertStatus.CONFIRMED
        assert _events(s, a1)[-1] == (f"rule:{first.id}:our distributor's reseller", "dismiss",
                                      "dismissed")
        assert _events(s, a1)[0][1] == "created"


def test_dry_run_apply_and_undo(filled, store_url):
    factory = session_factory(make_engine(store_url))
    kestrel = filled.alerts["kestrel-outdoor"]
    with transaction(factory) as s:
        scope = _scope(s)
        seller = s.get(Alert, kestrel[12]).listing.seller  # the first 9 carry hostile names
        same = [a for a in kestrel if s.get(Alert, a).listing.seller == seller]
        assert len(same) >= 3
        # a reviewer already decided one of them
        transition(scope, [same[0]], "dismiss", reason="duplicate")
        preview = dry_run(scope, {"sellers": [seller]}, "dismiss")
        assert (preview.matched, preview.would_change) == (len(same), len(same) - 1)
        assert (preview.agree, preview.disagree) == (1, 0)
        with pytest.raises(Refused, match="at least one condition"):
            add_rule(scope, name="everything", action="dismiss", reason="other", conditions={})
        with pytest.raises(Refused, match="needs one of the reasons"):
            add_rule(scope, name="no reason", action="dismiss", conditions={"min_score": 1})
        rule = add_rule(scope, name="reseller", action="dismiss", reason="authorised_seller",
                        conditions={"sellers": [seller]})
        moved = apply_to_queue(scope, rule.id)
        assert sorted(moved) == sorted(same[1:])
        # a reviewer reopens one of the rule's dismissals: undo leaves that one alone
        transition(scope, [moved[0]], "reopen")
        undone = undo_rule(_scope(s, actor="reviewer@kestrel-outdoor.example"), rule.id)
        assert sorted(undone) == sorted(moved[1:])
        assert all(s.get(Alert, a).status is AlertStatus.NEW for a in undone)
        assert s.get(Alert, moved[0]).status is AlertStatus.IN_REVIEW
        assert s.get(Alert, same[0]).status is AlertStatus.DISMISSED
        assert _events(s, undone[0])[-1] == ("reviewer@kestrel-outdoor.example", "undo_rule",
                                             "new")
        # another holder cannot reach the rule
        with pytest.raises(Exception, match="not found"):
            undo_rule(_scope(s, "voltaris"), rule.id)


def test_the_rules_page_previews_saves_applies_and_undoes(filled, store_url, monkeypatch):
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, ADMIN)
    form = {"csrf_token": csrf, "name": "seller 3", "action": "dismiss", "reason": "duplicate",
            "sellers": "seller-kest-3", "checks": "", "min_score": "", "max_score": "",
            "kinds": ""}
    page = unescape(ui.post("/rules", data={**form, "do": "preview"}).text)
    n = int(re.search(r"<strong>(\d+)</strong> alert\(s\) of the last 30 days", page).group(1))
    assert n == 3 and f"{n} are still new and would be moved" in page  # items 13, 18, 23
    r = ui.post("/rules", data={**form, "do": "save"})
    assert r.status_code == 303
    rid = int(re.search(r"rule\+(\d+)\+saved", r.headers["location"]).group(1))
    r = ui.post(f"/rules/{rid}/apply", data={"csrf_token": csrf})
    assert f"moved+{n}+new" in r.headers["location"]
    assert int(re.search(r'data-status="dismissed">dismissed <span class="count">(\d+)',
                         ui.get("/alerts").text).group(1)) == n
    r = ui.post(f"/rules/{rid}/undo", data={"csrf_token": csrf})
    assert f"{n}+alert(s)+put+back" in r.headers["location"]
    assert 'data-status="dismissed">dismissed <span class="count">0' in ui.get("/alerts").text
    viewer = make_client(store_url, monkeypatch)
    vcsrf = login(viewer, "viewer@kestrel-outdoor.example")
    assert "seller 3" in viewer.get("/rules").text
    assert viewer.post(f"/rules/{rid}/apply", data={"csrf_token": vcsrf}).status_code == 403


def test_a_rule_on_known_infringers(filled, store_url):
    """The seller already has a case of ours on that marketplace: a repeat infringer."""
    from db.alerts import Finding, record_findings
    from db.cases import build_cases
    from db.models import Mark

    factory = session_factory(make_engine(store_url))
    kestrel = filled.alerts["kestrel-outdoor"]
    with transaction(factory) as s:
        scope = _scope(s)
        old = s.get(Alert, kestrel[13])
        seller, market = old.listing.seller, old.listing.marketplace_id
        mark = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        lid = upsert_listing(s, market, ListingFields(
            external_id="again", url="http://127.0.0.1:8302/item/again", title="KESTREL replica",
            seller=seller.upper()), seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        again = record_findings(s, lid, [Finding(mark.rights_holder_id, mark.id, "counterfeit",
                                                 70, "medium", [{"check": "exact"}])],
                                snapshot_id=None).created[0]
        rule = add_rule(scope, name="repeat", action="confirm", conditions={"known_infringer": True})
        assert apply_to_queue(scope, rule.id) == []  # no case yet: nobody is known
        transition(scope, [kestrel[13]], "confirm")
        build_cases(scope, [kestrel[13]], group_by="seller")
        # the seller's other alerts on that marketplace, and only those
        assert apply_to_queue(scope, rule.id) == [again]
