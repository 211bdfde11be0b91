"""``markwatch alerts`` filters as a user expects: a mark by any registered alias, an unknown
marketplace, rights holder or mark as an error (not an empty table and exit 0), and --tier,
--seller and the days found."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from click.testing import CliRunner

from db.alerts import Finding, record_findings
from db.listings import ListingFields, upsert_listing
from db.models import Alert, Mark, Marketplace
from db.session import transaction
from markwatch.cli import main
from tests.conftest import DEMO_REGISTRY
from tests.test_cli import _store, run


def _seed() -> None:
    run("db", "upgrade")
    run("registry", "load", str(DEMO_REGISTRY))
    now = datetime.now(UTC)
    with transaction(_store()) as s:
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopc"))
        molang = s.scalar(sa.select(Mark).filter_by(word_mark="墨朗"))
        volt = s.scalar(sa.select(Mark).filter_by(word_mark="VOLTARIS"))
        for i, (mark, tier, seller, age) in enumerate([
                (molang, "high", "美妆小铺", 0), (molang, "low", "other", 10),
                (volt, "medium", "美妆小铺", 3)]):
            lid = upsert_listing(s, shop, ListingFields(
                external_id=f"m{i}", url=f"http://127.0.0.1:8303/item/m{i}",
                title=f"{mark.word_mark} item {i}", seller=seller, price=Decimal("9"),
                currency="CNY"), seen_at=now, crawl_run_id=None).listing_id
            aid = record_findings(s, lid, [Finding(mark.rights_holder_id, mark.id, "trademark",
                                                   90 - i, tier, [{"check": "exact"}])],
                                  snapshot_id=None).created[0]
            s.get(Alert, aid).created_at = now - timedelta(days=age)


def _ids(*args: str) -> list[str]:
    r = run("alerts", *args, "--format", "jsonl")
    assert r.exit_code == 0, r.output
    return [json.loads(x)["title"] for x in r.output.splitlines()]


def test_a_mark_by_its_word_or_any_alias():
    _seed()
    assert _ids("--mark", "墨朗") == ["墨朗 item 0", "墨朗 item 1"]
    assert _ids("--mark", "MOLANG") == _ids("--mark", "mo  lang") == _ids("--mark", "墨朗")
    assert _ids("--mark", "ＭＯＬＡＮＧ") == _ids("--mark", "墨朗")  # full-width, as typed in CJK
    assert _ids("--mark", "沃塔瑞斯") == ["VOLTARIS item 2"]


def test_unknown_names_are_errors_not_empty_tables():
    _seed()
    for args, said in [
        (["--marketplace", "nope"], "no marketplace 'nope'; known: sea_id, sea_my, sea_ph, sea_th, sea_vn, shopa, shopb"),
        (["--rights-holder", "nobody"], "no rights holder 'nobody'; known: aurelia-atelier"),
        (["--mark", "NOSUCHMARK"], "no mark or alias 'NOSUCHMARK'"),
        (["--mark", "MOLANG", "--rights-holder", "voltaris"], "no mark or alias 'MOLANG' of "
                                                               "voltaris"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "--until is before --since"),
    ]:
        r = CliRunner().invoke(main, ["alerts", *args])
        assert r.exit_code == 2, (args, r.output)
        assert said in " ".join(r.output.split()), r.output


def test_tier_seller_and_days_found():
    _seed()
    assert _ids("--tier", "low") == ["墨朗 item 1"]
    assert _ids("--seller", "美妆小铺") == ["墨朗 item 0", "VOLTARIS item 2"]
    today = datetime.now(UTC).date()
    assert _ids("--since", (today - timedelta(days=5)).isoformat()) == \
        ["墨朗 item 0", "VOLTARIS item 2"]
    assert _ids("--until", (today - timedelta(days=3)).isoformat()) == \
        ["墨朗 item 1", "VOLTARIS item 2"]
    assert _ids("--since", (today - timedelta(days=3)).isoformat(),
                "--until", (today - timedelta(days=3)).isoformat()) == ["VOLTARIS item 2"]
