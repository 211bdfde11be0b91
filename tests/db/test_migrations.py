"""Migrations are production code: they build exactly the schema the models describe."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db.migrate import current, downgrade, upgrade
from db.models import Base
from db.session import make_engine


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_models_and_migrations_agree_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _diff(url) == []


@pytest.mark.postgres
def test_models_and_migrations_agree_on_postgresql(pg_empty_url):
    upgrade(pg_empty_url)
    assert _diff(pg_empty_url) == []


@pytest.mark.postgres
def test_upgrade_downgrade_round_trip(pg_empty_url, tmp_path):
    for url in (pg_empty_url, f"sqlite:///{tmp_path / 'r.db'}"):
        upgrade(url)
        head = current(url)
        assert head is not None
        downgrade(url, "base")
        engine = make_engine(url)
        with engine.connect() as c:
            left = set(sa.inspect(c).get_table_names()) - {"alembic_version"}
        engine.dispose()
        assert left == set()
        upgrade(url)
        assert current(url) == head


def _at_0004_two_alerts_per_listing(url: str) -> dict[str, int]:
    """A store at revision 0004 with alerts for two marks of one holder on the same listings:
    a reviewed one in a case, another in a second case and a notice, and an alert left alone.

    Written with plain SQL on the tables as they are at 0004 (reflected), so that columns later
    migrations add to the models never reach this older schema."""
    from db.chain import event_digest
    from db.types import utcnow

    upgrade(url, "0004")
    engine = make_engine(url)
    meta = sa.MetaData()
    ids: dict[str, int] = {}
    now = utcnow()
    with engine.begin() as c:
        meta.reflect(c)
        t = meta.tables

        def add(table: str, **values) -> int:
            return c.execute(t[table].insert().values(**values)).inserted_primary_key[0]

        holder = add("rights_holder", slug="kestrel-outdoor", name="Kestrel Outdoor GmbH",
                     created_at=now)
        mark = {"rights_holder_id": holder, "aliases": [], "office": "EUIPO", "jurisdictions": ["EU"],
                "nice_classes": [25], "status": "registered", "famous": False, "created_at": now,
                "updated_at": now}
        k = add("mark", word_mark="KESTREL", registration_number="018245771", **mark)
        kt = add("mark", word_mark="KESTREL TRAIL", registration_number="018245790", **mark)
        shop = add("marketplace", code="shopa", name="Shop A", spider="jsonld_shop",
                   base_url="http://127.0.0.1:8301")
        ids.update(k=k, kt=kt, holder=holder)
        listings = [
            add("listing", marketplace_id=shop, external_id=f"M{i}",
                url=f"http://127.0.0.1:8301/item/M{i}", title=f"KESTREL Trail Runner {i}",
                description="", images=[], state="live", content_hash=f"h{i}", first_seen_at=now,
                last_seen_at=now)
            for i in range(3)
        ]
        clock = iter(range(1, 1000))

        def event(alert_id: int, prev: str | None, **values) -> str:
            at = now.replace(microsecond=next(clock))
            values = {"from_status": None, "to_status": None, "reason": None, "details": {}, **values}
            digest = event_digest(prev_hash=prev, alert_id=alert_id, created_at=at, **values)
            add("alert_event", alert_id=alert_id, prev_hash=prev, hash=digest, created_at=at, **values)
            return digest

        def alert(name: str, listing: int, mark_id: int, score: int, status: str) -> int:
            a = add("alert", rights_holder_id=holder, listing_id=listing, mark_id=mark_id,
                    kind="trademark", score=score, tier="high", status=status, created_at=now,
                    updated_at=now,
                    reasons=[{"check": "exact", "detail": f"{name} on the listing", "points": score}])
            head = event(a, None, actor="system:matcher", action="created", to_status="new",
                         details={"score": score})
            if status != "new":
                event(a, head, actor="anna@kestrel.example", action="confirm", from_status="new",
                      to_status=status, reason="counterfeit")
            ids[name] = a
            return a

        alert("a_new_best", listings[0], k, 95, "new")
        a_case = alert("a_in_case", listings[0], kt, 80, "confirmed")
        b_one = alert("b_one", listings[1], k, 90, "confirmed")
        b_two = alert("b_two", listings[1], kt, 85, "confirmed")
        alert("alone", listings[2], k, 70, "new")
        members_of = {a_case: listings[0], b_one: listings[1], b_two: listings[1]}
        for name, members in (("c1", [a_case, b_one]), ("c2", [b_two])):
            case = add("enforcement_case", rights_holder_id=holder, marketplace_id=shop,
                       seller="fakes", title=name, grouping="seller", status="open",
                       created_by="anna@kestrel.example", created_at=now, updated_at=now)
            for a in members:
                add("case_alert", case_id=case, alert_id=a, listing_id=members_of[a], state="unknown",
                    added_by="anna@kestrel.example", added_at=now)
            n = add("notice", rights_holder_id=holder, case_id=case, marketplace_id=shop,
                    idempotency_key=f"key-{name}", status="draft", alert_ids=members,
                    document_ids=[], listing_count=len(members), html="<p>notice</p>", csv="id\n",
                    created_by="anna@kestrel.example", created_at=now)
            add("marketplace_answer", rights_holder_id=holder, notice_id=n, outcome="removed",
                note="", answered_on=now.date(), recorded_by="anna@kestrel.example", created_at=now)
            ids[name], ids[f"notice_{name}"] = case, n
    engine.dispose()
    return ids


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_0005_merges_the_alerts_of_one_listing_and_holder(backend, request, tmp_path):
    from db.chain import verify_chain
    from db.enforcement import CaseAlert, MarketplaceAnswer, Notice
    from db.models import Alert, AlertEvent, AlertMark
    from db.session import session_factory

    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else request.getfixturevalue(
        "pg_empty_url")
    ids = _at_0004_two_alerts_per_listing(url)
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        alerts = {a.id: a for a in s.scalars(sa.select(Alert))}
        # the one in a case survives, with the best mark and score; the merged ones are gone
        assert set(alerts) == {ids["a_in_case"], ids["b_one"], ids["alone"]}
        a = alerts[ids["a_in_case"]]
        assert (a.mark_id, a.score, a.status.value) == (ids["k"], 95, "confirmed")
        assert [r["mark"] for r in a.reasons] == ["KESTREL", "KESTREL TRAIL"]
        marks = dict(s.execute(sa.select(AlertMark.mark_id, AlertMark.score)
                               .where(AlertMark.alert_id == a.id)).all())
        assert marks == {ids["k"]: 95, ids["kt"]: 80}
        assert dict(s.execute(sa.select(AlertMark.mark_id, AlertMark.score)
                              .where(AlertMark.alert_id == ids["alone"])).all()) == {ids["k"]: 70}
        # the history of the survivor is whole, and the merged alert's is carried in it
        actions = s.scalars(sa.select(AlertEvent.action).where(AlertEvent.alert_id == a.id)
                            .order_by(AlertEvent.id)).all()
        assert actions == ["created", "confirm", "merged"]
        merged = s.scalars(sa.select(AlertEvent).where(AlertEvent.action == "merged",
                                                       AlertEvent.alert_id == a.id)).one()
        (gone,) = merged.details["merged_alerts"]
        assert gone["alert_id"] == ids["a_new_best"] and gone["mark"] == "KESTREL"
        assert [e["action"] for e in gone["events"]] == ["created"]
        assert verify_chain(s) == []
        # case membership and notices point at the survivors; answers are all still there
        assert set(s.scalars(sa.select(CaseAlert.alert_id))) == {ids["a_in_case"], ids["b_one"]}
        assert s.get(Notice, ids["notice_c2"]).alert_ids == [ids["b_one"]]
        assert s.get(Notice, ids["notice_c1"]).alert_ids == [ids["a_in_case"], ids["b_one"]]
        assert s.scalar(sa.select(sa.func.count()).select_from(MarketplaceAnswer)) == 2
    # one alert per (listing, holder) from now on
    with pytest.raises(sa.exc.IntegrityError), session_factory(engine)() as s:
        s.add(Alert(rights_holder_id=ids["holder"], listing_id=a.listing_id, mark_id=ids["kt"],
                    kind="trademark", score=50, tier="low", reasons=[]))
        s.flush()
    engine.dispose()
    downgrade(url, "0004")
    engine = make_engine(url)
    with engine.connect() as c:
        assert "alert_mark" not in sa.inspect(c).get_table_names()
        assert c.scalar(sa.text("select count(*) from alert")) == 3
        assert c.scalar(sa.text("select count(*) from alert_event")) == 7  # 3 + 3 + 1
    engine.dispose()
    upgrade(url)
