"""Demo-registry fixtures for the matcher tests (pure values, no store)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from matcher import AuthorisedSeller, MarkRecord, ProductRecord, build_index

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def demo_marks() -> list[MarkRecord]:
    owners = {r["slug"]: r["name"] for r in csv.DictReader((DEMO / "rights_holders.csv").open(encoding="utf-8"))}
    out = []
    for r in csv.DictReader((DEMO / "marks.csv").open(encoding="utf-8")):
        out.append(MarkRecord(
            mark_id=r["registration_number"], mark=r["mark"], owner_id=r["rights_holder"],
            aliases=tuple(a for a in r["aliases"].split("|") if a),
            nice_classes=frozenset(int(x) for x in r["nice_classes"].split("|") if x),
            owner=owners.get(r["rights_holder"], ""), famous=r["famous"] == "true"))
    return out


def demo_products() -> list[ProductRecord]:
    return [ProductRecord(f"p{i}", r["mark_registration"], r["name"],
                          tuple(m for m in r["model_numbers"].split("|") if m),
                          Decimal(r["retail_price"]), r["currency"])
            for i, r in enumerate(csv.DictReader((DEMO / "products.csv").open(encoding="utf-8")))]


def demo_sellers() -> list[AuthorisedSeller]:
    return [AuthorisedSeller(r["rights_holder"], r["seller"], r["marketplace"] or None)
            for r in csv.DictReader((DEMO / "sellers.csv").open(encoding="utf-8"))]


@pytest.fixture(scope="session")
def demo_index():
    return build_index(demo_marks(), demo_products(), demo_sellers())
