"""Jurisdictions: where a mark is protected, the alert reason when a storefront sells where it is
not, the registry's check of the entries and the dashboard's RCEP coverage."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from db.coverage import coverage
from db.jurisdictions import RCEP, check_token, how_protected, unprotected_reason
from db.listings import ListingFields, upsert_listing
from db.models import Alert, AlertStatus, Marketplace, RightsHolder
from db.registry import RegistryImportError, import_marks, load_directory
from db.session import transaction
from db.tenancy import Scope
from markwatch.screening import screen_listings
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY


@pytest.mark.parametrize(("where", "country", "how"), [
    (["TH"], "TH", "national registration"),
    (["th"], "TH", "national registration"),
    (["EU"], "FR", "EU trade mark"),
    (["EU"], "GB", None),  # not an EU member
    (["EU", "WO:TH"], "TH", "Madrid designation"),
    (["WO:TH"], "VN", None),
    (["SG", "CN"], "ID", None),
    ([], "TH", None),
    (["TH"], None, None),
])
def test_how_protected(where, country, how) -> None:
    assert how_protected(where, country) == how


def test_tokens_and_the_reason() -> None:
    assert check_token(" wo:th ") == "WO:TH"
    for bad in ("THA", "WO:", "W0:TH", "", "EU:FR"):
        with pytest.raises(ValueError):
            check_token(bad)
    assert unprotected_reason("KESTREL", ["EU", "WO:TH"], "sea_th", "TH") is None
    why = unprotected_reason("KESTREL", ["EU", "GB", "WO:TH"], "sea_id", "ID")
    assert why is not None and why["check"] == "jurisdiction" and why["mark"] == "KESTREL"
    assert "not registered in ID, where sea_id sells (registered: EU, GB, TH (Madrid))" in \
        str(why["detail"])
    assert unprotected_reason("KESTREL", [], "shopx", None) is None
    assert len(RCEP) == 15


def test_registry_refuses_an_unknown_jurisdiction(sessions) -> None:
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
    csv = ("rights_holder,mark,aliases,registration_number,office,jurisdictions,nice_classes\n"
           "voltaris,VOLTA,,X1,IPOS,SG|WO:THA,9\n")
    with pytest.raises(RegistryImportError) as err, transaction(sessions) as s:
        import_marks(s, io.StringIO(csv))
    assert "line 2" in str(err.value) and "WO:THA" in str(err.value)


def _listing(s, code: str, ext: str, title: str, price: str, currency: str) -> int:
    shop = s.scalar(sa.select(Marketplace.id).filter_by(code=code))
    return upsert_listing(s, shop, ListingFields(
        external_id=ext, url=f"http://127.0.0.1:8304/x/product/{ext}", title=title,
        price=Decimal(price), currency=currency, seller="Toko Murah Jaya",
        category="Shoes > Running", condition="new"),
        seen_at=datetime.now(UTC), crawl_run_id=None).listing_id


def test_alerts_say_when_the_mark_is_not_registered_where_the_storefront_sells(sessions) -> None:
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        # KESTREL: EU, GB, CN and Madrid designations of SG and TH; not Indonesia
        in_id = _listing(s, "sea_id", "1", "Sepatu Lari KESTREL Trail Runner 2 KW super",
                         "250000", "IDR")
        in_th = _listing(s, "sea_th", "2", "KESTREL รองเท้าวิ่ง Trail Runner 2 งานก๊อป", "590",
                         "THB")
        screen_listings(s, [in_id, in_th], get_settings())
    with transaction(sessions) as s:
        reasons = {a.listing_id: a.reasons for a in s.scalars(sa.select(Alert))}
    assert set(reasons) == {in_id, in_th}
    (why,) = [r for r in reasons[in_id] if r["check"] == "jurisdiction"]
    assert why["mark"] == "KESTREL" and why["span"] == "ID"
    assert "not registered in ID, where sea_id sells" in why["detail"]
    assert not [r for r in reasons[in_th] if r["check"] == "jurisdiction"]
    # the price is read in rupiah: far below the retail price in euros
    assert any(r["check"] == "price" for r in reasons[in_id])


def test_coverage_of_the_rcep_markets(sessions) -> None:
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        ids = [_listing(s, "sea_id", str(i), f"KESTREL Trail Runner 2 KW super {i}", "250000",
                        "IDR") for i in range(3)]
        ids.append(_listing(s, "sea_th", "9", "KESTREL Trail Runner 2 งานก๊อป", "590", "THB"))
        screen_listings(s, ids, get_settings())
    with transaction(sessions) as s:
        holder = s.scalar(sa.select(RightsHolder.id).filter_by(slug="kestrel-outdoor"))
        first = s.scalar(sa.select(Alert).where(Alert.listing_id == ids[0]))
        first.status = AlertStatus.DISMISSED
    with transaction(sessions) as s:
        cov = coverage(Scope(s, holder, "reviewer@kestrel.example"))
    assert cov.marks == ["KESTREL", "KESTREL TRAIL"]
    rows = {m.country: m for m in cov.markets}
    assert list(rows) == list(RCEP)
    assert rows["TH"].protection == ["Madrid designation", None]
    assert rows["CN"].protection == ["national registration", None]
    assert rows["ID"].protection == [None, None] and rows["ID"].storefronts == ["sea_id"]
    assert (rows["ID"].alerts, rows["ID"].unprotected_alerts) == (2, 2)  # one dismissed
    assert (rows["TH"].alerts, rows["TH"].unprotected_alerts) == (1, 0)
    assert rows["AU"].storefronts == [] and rows["AU"].alerts == 0
    assert cov.unprotected_alerts == 2 and cov.other_alerts == 0


def test_a_notice_says_where_each_mark_is_in_force() -> None:
    from types import SimpleNamespace as NS

    from markwatch.notices import render_notice

    mark = NS(word_mark="KESTREL", aliases=[], registration_number="018245771", office="EUIPO",
              nice_classes=[25], jurisdictions=["EU", "GB", "WO:TH"], expires_on=None)
    html, _ = render_notice(holder=NS(name="Kestrel Outdoor GmbH", country="DE",
                                      contact_email=None),
                            marketplace=NS(name="Tokolaut Thailand"), case=NS(id=1),
                            marks=[mark], documents=[], lines=[],
                            reference="N-1")
    assert "in force in EU, GB, TH (Madrid)" in html
