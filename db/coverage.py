"""Protection coverage for one rights holder: which of its marks are registered in which RCEP
market, and how many open alerts come from storefronts in markets where the alert's mark is not
registered (those need a registration, or another right, before a notice will work)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from db.jurisdictions import RCEP, how_protected
from db.models import Alert, AlertStatus, Listing, Mark, Marketplace
from db.tenancy import Scope


@dataclass
class MarketCoverage:
    country: str
    storefronts: list[str]  # marketplace codes selling in this country
    protection: list[str | None]  # per mark (Coverage.marks order): how protected, or None
    alerts: int = 0  # open alerts (not dismissed) from this country's storefronts
    unprotected_alerts: int = 0  # of those, alerts whose mark is not registered here

    @property
    def protected_marks(self) -> int:
        return sum(1 for p in self.protection if p)


@dataclass
class Coverage:
    marks: list[str]
    markets: list[MarketCoverage] = field(default_factory=list)
    other_alerts: int = 0  # open alerts from storefronts outside RCEP or of unknown country

    @property
    def unprotected_alerts(self) -> int:
        return sum(m.unprotected_alerts for m in self.markets)


def coverage(scope: Scope) -> Coverage:
    s = scope.session
    marks = s.execute(
        sa.select(Mark.id, Mark.word_mark, Mark.jurisdictions)
        .where(Mark.rights_holder_id == scope.rights_holder_id).order_by(Mark.id)
    ).all()
    where = {mid: list(j or ()) for mid, _, j in marks}
    fronts: dict[str, list[str]] = defaultdict(list)
    for code, country in s.execute(sa.select(Marketplace.code, Marketplace.country)
                                   .order_by(Marketplace.code)):
        if country:
            fronts[country.upper()].append(code)
    out = Coverage([w for _, w, _ in marks])
    rows = {c: MarketCoverage(c, fronts.get(c, []),
                              [how_protected(where[mid], c) for mid, _, _ in marks])
            for c in RCEP}
    alerts = s.execute(
        sa.select(Marketplace.country, Alert.mark_id, sa.func.count())
        .join(Listing, Listing.id == Alert.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id,
               Alert.status != AlertStatus.DISMISSED)
        .group_by(Marketplace.country, Alert.mark_id)
    ).all()
    for country, mark_id, n in alerts:
        row = rows.get((country or "").upper())
        if row is None:
            out.other_alerts += n
            continue
        row.alerts += n
        if not how_protected(where.get(mark_id, []), row.country):
            row.unprotected_alerts += n
    out.markets = list(rows.values())
    return out
