"""The command line, as a user runs it (click's runner, in process, against a SQLite store)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from click.testing import CliRunner

from db.alerts import Finding, record_findings
from db.listings import ListingFields, upsert_listing
from db.models import Mark, Marketplace, Watch
from db.session import make_engine, session_factory, transaction
from markwatch.cli import main
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY


def run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def _store():
    return session_factory(make_engine(get_settings().effective_database_url))


def test_help_lists_the_commands():
    out = run("--help").output
    for cmd in ("db", "registry", "marks", "products", "sellers", "watch", "alerts", "demo",
                "schedule"):
        assert f"  {cmd} " in out


def test_upgrade_import_and_reimport():
    r = run("db", "upgrade")
    assert r.exit_code == 0 and "revision" in r.output
    r = run("registry", "load", str(DEMO_REGISTRY))
    assert r.exit_code == 0, r.output
    assert "marks.csv: 5 created" in r.output
    r = run("marks", "import", str(DEMO_REGISTRY / "marks.csv"))
    assert r.exit_code == 0 and "0 created, 0 updated, 5 unchanged" in r.output


def test_bad_file_is_a_clear_error_and_writes_nothing(tmp_path):
    run("db", "upgrade")
    run("registry", "load", str(DEMO_REGISTRY))
    bad = tmp_path / "marks.csv"
    bad.write_text(
        "rights_holder,mark,registration_number,office,nice_classes\n"
        "voltaris,GOODMARK,G-1,IPOS,9\n"
        "voltaris,BADMARK,G-2,IPOS,99\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, ["marks", "import", str(bad)])
    assert r.exit_code == 1
    assert "line 3" in r.output and "nothing imported" in r.output
    with _store()() as s:
        assert s.scalar(sa.select(Mark).filter_by(word_mark="GOODMARK")) is None
    r = CliRunner().invoke(main, ["marks", "import", str(tmp_path / "nope.csv")])
    assert r.exit_code == 1 and "file not found" in r.output
    r = CliRunner().invoke(main, ["alerts", "--min-score", "101"])
    assert r.exit_code == 2


def test_watch_add_and_marketplace_url_override():
    run("db", "upgrade")
    r = run("registry", "load", str(DEMO_REGISTRY), "--marketplace-url",
            "shopa=http://marketplaces:8301")
    assert r.exit_code == 0
    r = run("watch", "add", "--rights-holder", "voltaris", "--mark-registration", "40201912345Q",
            "--marketplace", "shopa", "--terms", "voltaris|VPC-20K", "--every", "60")
    assert r.exit_code == 0 and "0 created, 1 updated" in r.output
    with _store()() as s:
        assert s.scalar(sa.select(Marketplace.base_url).filter_by(code="shopa")) == (
            "http://marketplaces:8301"
        )
        terms = s.scalars(sa.select(Watch.terms).join(Mark).filter(
            Mark.registration_number == "40201912345Q")).all()
        assert ["voltaris", "VPC-20K"] in terms
    r = CliRunner().invoke(main, ["registry", "load", str(DEMO_REGISTRY), "--marketplace-url",
                                  "shopa"])
    assert r.exit_code == 2 and "CODE=URL" in r.output


def _seed_alert(title: str, seller: str) -> None:
    run("db", "upgrade")
    run("registry", "load", str(DEMO_REGISTRY))
    factory = _store()
    with transaction(factory) as s:
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopb"))
        mark = s.scalar(sa.select(Mark).filter_by(word_mark="VOLTARIS"))
        lid = upsert_listing(
            s, shop,
            ListingFields(external_id="x1", url="http://127.0.0.1:8302/item/x1", title=title,
                          seller=seller, price=Decimal("9.50"), currency="USD"),
            seen_at=datetime.now(UTC), crawl_run_id=None,
        ).listing_id
        record_findings(s, lid, [Finding(mark.rights_holder_id, mark.id, "trademark", 88, "high",
                                         [{"check": "exact", "detail": "VOLTARIS in title",
                                           "span": "VOLTARIS", "points": 60}])],
                        snapshot_id=None)


def test_alerts_formats_and_hostile_text():
    title = "=HYPERLINK(\"http://evil\")[bold red]VOLTARIS[/] power bank"
    _seed_alert(title, "@seller")
    table = run("alerts").output
    # scraped text is printed literally, never interpreted as console markup
    assert "[bold" in table and "[/]" in table
    rows = [json.loads(line) for line in run("alerts", "--format", "jsonl").output.splitlines()]
    assert rows[0]["title"] == title and rows[0]["score"] == 88 and rows[0]["tier"] == "high"
    assert rows[0]["price"] == "9.50"
    assert json.loads(run("alerts", "--format", "json").output) == rows  # one JSON array
    parsed = list(csv.DictReader(io.StringIO(run("alerts", "--format", "csv").output)))
    assert parsed[0]["title"].startswith("'=") and parsed[0]["seller"] == "'@seller"
    assert run("alerts", "--marketplace", "shopa", "--format", "jsonl").output == ""
    assert json.loads(run("alerts", "--status", "dismissed", "--format", "json").output) == []
    assert len(run("alerts", "--min-score", "80", "--format", "jsonl").output.splitlines()) == 1


def test_alerts_by_mark_find_an_alert_through_any_of_its_marks():
    run("db", "upgrade")
    run("registry", "load", str(DEMO_REGISTRY))
    with transaction(_store()) as s:
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        k = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        kt = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL TRAIL"))
        lid = upsert_listing(
            s, shop, ListingFields(external_id="kt1", url="http://127.0.0.1:8301/item/kt1",
                                   title="KESTREL TRAIL Runner replica", seller="dupes"),
            seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        record_findings(s, lid, [
            Finding(k.rights_holder_id, k.id, "trademark", 95, "high",
                    [{"check": "exact", "detail": "KESTREL in title", "mark": "KESTREL"}]),
            Finding(k.rights_holder_id, kt.id, "trademark", 90, "high",
                    [{"check": "exact", "detail": "KESTREL TRAIL in title",
                      "mark": "KESTREL TRAIL"}]),
        ], snapshot_id=None)
    for mark in ("kestrel", "Kestrel Trail"):
        rows = json.loads(run("alerts", "--mark", mark, "--format", "json").output)
        assert [(r["mark"], r["marks"]) for r in rows] == [
            ("KESTREL", ["KESTREL", "KESTREL TRAIL"])]
    assert run("alerts", "--mark", "aurelia", "--format", "jsonl").output == ""
    table = run("alerts", "--mark", "kestrel trail").output
    assert "KESTREL +" in table  # both marks in the mark column (rich may fold the cell)
    parsed = list(csv.DictReader(io.StringIO(run("alerts", "--format", "csv").output)))
    assert parsed[0]["marks"] == "KESTREL | KESTREL TRAIL"
    assert "KESTREL TRAIL: KESTREL TRAIL in title" in parsed[0]["reasons"]


def test_watch_names_its_mark_by_text_when_unambiguous():
    run("db", "upgrade")
    run("registry", "load", str(DEMO_REGISTRY))
    r = run("watch", "add", "--rights-holder", "kestrel-outdoor", "--mark", "Kestrel Trail",
            "--marketplace", "shopc", "--terms", "kestrel trail")
    assert r.exit_code == 0 and "1 created" in r.output, r.output
    with _store()() as s:
        w = s.scalars(sa.select(Watch).join(Mark, Watch.mark_id == Mark.id)
                      .where(Mark.word_mark == "KESTREL TRAIL")
                      .join(Marketplace, Watch.marketplace_id == Marketplace.id)
                      .where(Marketplace.code == "shopc")).one()
        assert w.terms == ["kestrel trail"]
    r = CliRunner().invoke(main, ["watch", "add", "--rights-holder", "kestrel-outdoor",
                                  "--mark", "Kestrel Boots", "--marketplace", "shopc",
                                  "--terms", "x"])
    assert r.exit_code == 1 and "no mark 'Kestrel Boots' for 'kestrel-outdoor'" in r.output
    run("marks", "add", "--rights-holder", "kestrel-outdoor", "--mark", "KESTREL",
        "--registration-number", "98765", "--office", "USPTO", "--nice-classes", "25")
    r = CliRunner().invoke(main, ["watch", "add", "--rights-holder", "kestrel-outdoor",
                                  "--mark", "kestrel", "--marketplace", "shopc", "--terms", "x"])
    assert r.exit_code == 1 and "is ambiguous" in r.output and "USPTO 98765" in r.output
    r = CliRunner().invoke(main, ["watch", "add", "--rights-holder", "kestrel-outdoor",
                                  "--marketplace", "shopc", "--terms", "x"])
    assert r.exit_code == 1 and "name the mark" in r.output
