"""``markwatch match``: files in, alerts out, bad lines counted, clear errors for bad input."""

from __future__ import annotations

import json

from click.testing import CliRunner

from markwatch.cli.match_cmd import match

MARKS = "mark_id,mark,aliases,nice_classes,owner\nk1,KESTREL,,25|28,kestrel\nv1,VOLTARIS,沃塔瑞斯,9,volt\n"
LISTINGS = [
    json.dumps({"listing_id": "a", "title": "K3STREL running shoes", "category": "Shoes", "price": "19.5",
                "currency": "EUR"}),
    "this is not json",
    json.dumps({"listing_id": "b", "title": "cable compatible with Voltaris", "category": "Electronics"}),
    json.dumps({"title": "no id"}),
    json.dumps({"listing_id": "c", "title": "沃塔瑞丝 充电宝", "category": "充电器/充电宝"}),
    "",
]


def _files(tmp_path, marks=MARKS):
    (tmp_path / "marks.csv").write_text(marks, encoding="utf-8")
    (tmp_path / "listings.jsonl").write_text("\n".join(LISTINGS) + "\n", encoding="utf-8")
    return ["--marks", str(tmp_path / "marks.csv"), "--listings", str(tmp_path / "listings.jsonl"),
            "--out", str(tmp_path / "out.jsonl")]


def _out(tmp_path):
    return [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]


def test_writes_only_alerts(tmp_path):
    result = CliRunner().invoke(match, _files(tmp_path))
    assert result.exit_code == 0, result.output
    rows = _out(tmp_path)
    assert {(r["listing_id"], r["mark_id"]) for r in rows} == {("a", "k1"), ("c", "v1")}
    assert set(rows[0]) == {"listing_id", "mark_id", "score", "tier", "kind", "reasons"}
    assert "2 bad listing lines" in result.output


def test_all_includes_innocent_uses(tmp_path):
    result = CliRunner().invoke(match, [*_files(tmp_path), "--all"])
    assert result.exit_code == 0
    kinds = {(r["listing_id"], r["kind"]) for r in _out(tmp_path)}
    assert ("b", "nominative") in kinds


def test_missing_column_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(match, _files(tmp_path, marks="id,name\n1,x\n"))
    assert result.exit_code == 2
    assert "mark_id" in result.output


def test_unreadable_listings_file(tmp_path):
    args = _files(tmp_path)
    args[3] = str(tmp_path / "missing.jsonl")
    result = CliRunner().invoke(match, args)
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_domains_file(tmp_path):
    (tmp_path / "marks.csv").write_text(MARKS, encoding="utf-8")
    (tmp_path / "hosts.txt").write_bytes(
        "https://kestrel-outlet-store.com/sale\nvoltaris.example\nexample.org\n\xff\xfe bad\n".encode("latin-1"))
    result = CliRunner().invoke(match, ["--marks", str(tmp_path / "marks.csv"), "--domains",
                                        str(tmp_path / "hosts.txt"), "--out", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    found = {(r["listing_id"], r["mark_id"], r["reasons"][0]["check"]) for r in _out(tmp_path)}
    assert ("https://kestrel-outlet-store.com/sale", "k1", "combosquat") in found
    assert ("voltaris.example", "v1", "exact") in found
    assert not any(host == "example.org" for host, _, _ in found)
    assert "1 bad lines skipped" in result.output


def test_listings_or_domains_not_both(tmp_path):
    args = [*_files(tmp_path), "--domains", str(tmp_path / "listings.jsonl")]
    result = CliRunner().invoke(match, args)
    assert result.exit_code == 2
    assert "exactly one of --listings and --domains" in result.output
