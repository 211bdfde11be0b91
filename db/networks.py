"""Seller networks in the store: seller accounts (a marketplace and a seller name) linked by what
they share, recomputed as a whole (``markwatch.networks``) and read per rights holder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from db.models import Alert, AlertStatus, Base, Listing, Marketplace
from db.types import UTCDateTime, intpk


class SellerNetwork(Base):
    __tablename__ = "seller_network"

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)  # of its sorted members
    size: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # what links its members: [{"kind", "value", "members": [[marketplace id, seller], ...]}]
    links: Mapped[list[Any]] = mapped_column(default=list)


class SellerNetworkMember(Base):
    __tablename__ = "seller_network_member"

    network_id: Mapped[int] = mapped_column(
        sa.ForeignKey("seller_network.id", ondelete="CASCADE"), primary_key=True
    )
    marketplace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("marketplace.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    seller: Mapped[str] = mapped_column(sa.String(300), primary_key=True)


@dataclass
class NetworkRecord:
    key: str
    members: list[tuple[int, str]]
    links: list[dict[str, Any]] = field(default_factory=list)


def replace_networks(session: Session, networks: Iterable[NetworkRecord], *,
                     computed_at: datetime) -> int:
    """Put the freshly computed networks in place of the old ones (one transaction: readers see
    either). A network keeps its id while its members stay the same."""
    fresh = {n.key: n for n in networks}
    old = {row.key: row for row in session.scalars(sa.select(SellerNetwork))}
    for key, row in old.items():
        if key not in fresh:
            session.delete(row)
    session.flush()
    for key, n in fresh.items():
        existing = old.get(key)
        if existing is None:
            row = SellerNetwork(key=key, size=len(n.members), computed_at=computed_at,
                                links=n.links)
            session.add(row)
            session.flush()
            session.add_all(SellerNetworkMember(network_id=row.id, marketplace_id=m, seller=s)
                            for m, s in n.members)
        else:
            existing.computed_at, existing.links = computed_at, n.links
    session.flush()
    return len(fresh)


@dataclass
class NetworkView:
    network: SellerNetwork
    members: list[tuple[str, str]]  # (marketplace code, seller)
    marketplaces: list[str]
    open_alerts: list[Alert]
    confirmed: int  # the holder's confirmed alerts on the network's listings: repeat infringing
    links: list[dict[str, Any]]


_OPEN = (AlertStatus.NEW, AlertStatus.IN_REVIEW)


def member_listings(network_id: int) -> sa.Select[Any]:
    m = SellerNetworkMember
    return (sa.select(Listing.id)
            .join(m, sa.and_(m.marketplace_id == Listing.marketplace_id, m.seller == Listing.seller))
            .where(m.network_id == network_id))


def holder_networks(scope: Any) -> list[NetworkView]:
    """The networks with a listing the holder has an alert on, largest first."""
    s = scope.session
    alerts = scope.select(Alert).subquery()
    ids = s.scalars(
        sa.select(SellerNetworkMember.network_id).distinct()
        .join(Listing, sa.and_(Listing.marketplace_id == SellerNetworkMember.marketplace_id,
                               Listing.seller == SellerNetworkMember.seller))
        .join(alerts, alerts.c.listing_id == Listing.id)
    ).all()
    views = [network_view(scope, i) for i in ids]
    views.sort(key=lambda v: (-len(v.members), -len(v.open_alerts), v.network.id))
    return views


def network_view(scope: Any, network_id: int) -> NetworkView:
    """One network as a rights holder sees it; NotFound unless the holder has an alert on it."""
    from db.tenancy import NotFound

    s = scope.session
    net = s.get(SellerNetwork, network_id)
    if net is None:
        raise NotFound(f"SellerNetwork {network_id} not found")
    listing_ids = member_listings(network_id)
    mine = s.scalars(scope.select(Alert).where(Alert.listing_id.in_(listing_ids))
                     .order_by(Alert.score.desc(), Alert.id)).all()
    if not mine:
        raise NotFound(f"SellerNetwork {network_id} not found")
    codes = dict(s.execute(sa.select(Marketplace.id, Marketplace.code)).all())
    members = sorted((codes[m.marketplace_id], m.seller) for m in s.scalars(
        sa.select(SellerNetworkMember).where(SellerNetworkMember.network_id == network_id)))
    links = [{**link, "members": [[codes.get(m, "?"), seller] for m, seller in link["members"]]}
             for link in net.links or []]
    return NetworkView(
        net, members, sorted({c for c, _ in members}),
        [a for a in mine if a.status in _OPEN],
        sum(1 for a in mine if a.status == AlertStatus.CONFIRMED), links,
    )


@dataclass(frozen=True)
class LinkedInfringer:
    """A seller account in the same network that the holder already acted against."""

    marketplace: str  # code
    seller: str
    alert_id: int | None  # the holder's first confirmed alert on its listings
    case_id: int | None  # the holder's first case against it

    def evidence(self) -> str:
        return f"case {self.case_id}" if self.case_id is not None else \
            f"confirmed alert {self.alert_id}"


@dataclass
class NetworkHit:
    network_id: int
    linked: list[LinkedInfringer] = field(default_factory=list)  # the first few, in order
    total: int = 0  # linked accounts the holder acted against, shown or not

    def describe(self) -> str:
        first = self.linked[0]
        more = f" and {self.total - 1} more" if self.total > 1 else ""
        return (f"seller network {self.network_id}, linked to {first.seller} on "
                f"{first.marketplace} ({first.evidence()}){more}")

    def details(self) -> dict[str, Any]:
        return {"network_id": self.network_id, "linked_total": self.total,
                "linked": [{"marketplace": x.marketplace, "seller": x.seller,
                            "alert_id": x.alert_id, "case_id": x.case_id} for x in self.linked]}


LINKED_SHOWN = 5
_CHUNK = 500


def linked_infringers(session: Session, rights_holder_id: int,
                      sellers: Iterable[tuple[int, str]]) -> dict[tuple[int, str], NetworkHit]:
    """For each of these seller accounts (marketplace id, seller) that is in a network with
    another account this holder has a confirmed alert on or a case against: that network and
    those accounts. Only this holder's verdicts and cases count. One query per 500 seller names
    however many alerts and network members there are."""
    # imported here: db.models imports this module at its end, and db.enforcement imports
    # db.models, so a process that imports db.enforcement first would find it half-built
    from db.enforcement import Case

    wanted = {(m, s) for m, s in sellers if s}
    me, other = aliased(SellerNetworkMember), aliased(SellerNetworkMember)
    confirmed = (sa.select(sa.func.min(Alert.id)).join(Listing, Listing.id == Alert.listing_id)
                 .where(Alert.rights_holder_id == rights_holder_id,
                        Alert.status == AlertStatus.CONFIRMED,
                        Listing.marketplace_id == other.marketplace_id,
                        Listing.seller == other.seller)
                 .correlate(other).scalar_subquery())
    case = (sa.select(sa.func.min(Case.id))
            .where(Case.rights_holder_id == rights_holder_id,
                   Case.marketplace_id == other.marketplace_id, Case.seller == other.seller)
            .correlate(other).scalar_subquery())
    names = sorted({s for _, s in wanted})
    found: dict[tuple[int, str], NetworkHit] = {}
    for i in range(0, len(names), _CHUNK):
        pairs = (sa.select(me.marketplace_id.label("m"), me.seller.label("s"), me.network_id,
                           Marketplace.code, other.seller.label("linked"),
                           confirmed.label("alert_id"), case.label("case_id"))
                 .join(other, sa.and_(other.network_id == me.network_id,
                                      sa.or_(other.marketplace_id != me.marketplace_id,
                                             other.seller != me.seller)))
                 .join(Marketplace, Marketplace.id == other.marketplace_id)
                 .where(me.seller.in_(names[i:i + _CHUNK])).subquery())
        rows = session.execute(
            sa.select(pairs).where(sa.or_(pairs.c.alert_id.is_not(None),
                                          pairs.c.case_id.is_not(None)))
            .order_by(pairs.c.m, pairs.c.s, pairs.c.code, pairs.c.linked))
        for m, s, network_id, code, linked, alert_id, case_id in rows:
            if (m, s) in wanted:
                hit = found.setdefault((m, s), NetworkHit(network_id))
                hit.total += 1
                if len(hit.linked) < LINKED_SHOWN:
                    hit.linked.append(LinkedInfringer(code, linked, alert_id, case_id))
    return found
