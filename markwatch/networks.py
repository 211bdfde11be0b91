"""Seller networks: seller accounts (a seller name on a marketplace) linked when they share a
contact (``markwatch.contacts``: in descriptions and in text read in their photos) or a photo (the
same pHash), across marketplaces; links are transitive ("friend of a friend"), so a network is a
connected component (union-find). Recomputed as a whole by beat (``tasks.networks``).

Sellers a rights holder authorises are left out: they share the official photos by right.
Photos that say nothing about who sells are not links: an official product photo (within the
matcher's distance of one, ``matcher.photos``: every counterfeiter reuses those) and any photo
shown by more than ``MAX_PHOTO_SELLERS`` accounts (stock pictures, placeholders).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import AuthorisedSeller, Listing, Marketplace
from db.networks import NetworkRecord, replace_networks
from db.photos import ImageText, ListingImage
from db.registry import seller_key
from markwatch.contacts import contacts_in

log = logging.getLogger(__name__)

MAX_PHOTO_SELLERS = 8
Seller = tuple[int, str]  # (marketplace id, seller name)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Seller, Seller] = {}

    def find(self, x: Seller) -> Seller:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: Seller, b: Seller) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass(frozen=True)
class SellerEvidence:
    seller: Seller
    identifiers: frozenset[tuple[str, str]]  # (kind, value): contacts and ("photo", pHash)


def link_sellers(evidence: Iterable[SellerEvidence]) -> list[NetworkRecord]:
    """Connected components of sellers sharing any identifier; only components of two or more.
    Pure: the store is read by ``seller_evidence``."""
    holders: dict[tuple[str, str], set[Seller]] = defaultdict(set)
    for ev in evidence:
        for ident in ev.identifiers:
            holders[ident].add(ev.seller)
    uf = _UnionFind()
    for ident, sellers in holders.items():
        if ident[0] == "photo" and len(sellers) > MAX_PHOTO_SELLERS:
            continue
        first, *rest = sorted(sellers)
        for other in rest:
            uf.union(first, other)
    groups: dict[Seller, set[Seller]] = defaultdict(set)
    for seller in list(uf.parent):
        groups[uf.find(seller)].add(seller)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        ordered = sorted(members)
        links = [{"kind": kind, "value": value, "members": [list(s) for s in sorted(sellers)]}
                 for (kind, value), sellers in sorted(holders.items())
                 if len(sellers) > 1 and sellers <= members
                 and not (kind == "photo" and len(sellers) > MAX_PHOTO_SELLERS)]
        key = hashlib.sha256(repr(ordered).encode()).hexdigest()
        out.append(NetworkRecord(key, ordered, links))
    out.sort(key=lambda n: n.members)
    return out


def seller_evidence(session: Session, official_phashes: Iterable[int] = ()) -> list[SellerEvidence]:
    """What each seller account left in its listings: contacts in descriptions and in the text
    read in its photos, and its photos' pHashes (official product photos left out)."""
    from matcher import MatcherConfig
    from matcher.photos import PhotoIndex
    from matcher.types import OfficialPhoto

    cfg = MatcherConfig()
    official = PhotoIndex((OfficialPhoto(str(i), "", "", h, 0) for i, h in
                           enumerate(official_phashes)), phash_max=cfg.photo_phash_max,
                          dhash_max=64)
    country = dict(session.execute(sa.select(Marketplace.id, Marketplace.country)).all())
    authorised = {(m, k) for m, k in session.execute(
        sa.select(AuthorisedSeller.marketplace_id, AuthorisedSeller.seller_key))}

    def is_authorised(marketplace_id: int, seller: str) -> bool:
        k = seller_key(seller)
        return (marketplace_id, k) in authorised or (None, k) in authorised

    found: dict[Seller, set[tuple[str, str]]] = defaultdict(set)
    rows = session.execute(
        sa.select(Listing.marketplace_id, Listing.seller, Listing.description)
        .where(Listing.seller.is_not(None))
    )
    for marketplace_id, seller, description in rows:
        key: Seller = (marketplace_id, seller or "")
        found[key]  # every seller is a node, linked or not
        for c in contacts_in(description or "", country.get(marketplace_id)):
            found[key].add((c.kind, c.value))
    photos = session.execute(
        sa.select(Listing.marketplace_id, Listing.seller, ListingImage.phash, ImageText.text)
        .join(ListingImage, ListingImage.listing_id == Listing.id)
        .outerjoin(ImageText, ImageText.sha256 == ListingImage.sha256)
        .where(Listing.seller.is_not(None))
    )
    for marketplace_id, seller, phash, text in photos:
        key = (marketplace_id, seller or "")
        if not official.near(int(phash, 16)):
            found[key].add(("photo", phash))
        for c in contacts_in(text or "", country.get(marketplace_id)):
            found[key].add((c.kind, c.value))
    return [SellerEvidence(k, frozenset(v)) for k, v in found.items() if not is_authorised(*k)]


def recompute_networks(session: Session, *, now: datetime) -> int:
    """Recompute every network from the store; the number of networks."""
    from db.photos import ProductPhoto

    official: list[int] = []
    for p in session.scalars(sa.select(ProductPhoto)):
        official += [int(p.phash, 16), *(int(v[1], 16) for v in p.variants or ())]
    networks = link_sellers(seller_evidence(session, official))
    n = replace_networks(session, networks, computed_at=now)
    log.info("seller networks recomputed: %d networks, %d sellers", n,
             sum(len(x.members) for x in networks))
    return n
