"""The official_photo check: the hash index is exact, and the check explains and scores."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import (
    AuthorisedSeller,
    Kind,
    ListingPhoto,
    ListingText,
    MarkRecord,
    OfficialPhoto,
    ProductRecord,
    build_index,
)
from matcher.photos import PhotoIndex

MARK = MarkRecord("1", "KESTREL", owner_id="h1", owner="Kestrel Outdoor",
                  nice_classes=frozenset({25}))
PRODUCT = ProductRecord("p1", "1", "Kestrel Trail Runner 2", ("KT-2201",))
OFFICIAL = OfficialPhoto("ph1", "p1", "runner-side.png", 0x0123456789ABCDEF, 0x0F0F0F0F0F0F0F0F)


def _flip(h: int, bits: list[int]) -> int:
    for b in bits:
        h ^= 1 << b
    return h


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 2**64 - 1), max_size=300),
       st.integers(0, 12))
def test_the_index_finds_exactly_what_a_full_scan_finds(query, hashes, radius):
    rng = random.Random(query)
    # plant some near neighbours so that there is something to find
    hashes = hashes + [_flip(query, rng.sample(range(64), rng.randint(0, 14))) for _ in range(20)]
    photos = [OfficialPhoto(str(i), "p", f"{i}.png", h, 0) for i, h in enumerate(hashes)]
    index = PhotoIndex(photos, phash_max=radius, dhash_max=64)
    got = sorted(p.photo_id for _, p in index.near(query))
    want = sorted(p.photo_id for p in photos if (p.phash ^ query).bit_count() <= radius)
    assert got == want


def _index(**kw):
    return build_index([MARK], products=[PRODUCT], photos=[OFFICIAL], **kw)


def test_a_photo_near_an_official_one_adds_a_reason_and_raises_the_score():
    index = _index()
    near = ListingPhoto("image 2", _flip(OFFICIAL.phash, [1, 9, 40]), _flip(OFFICIAL.dhash, [3]))
    title = "Kestrel running shoes"
    plain = index.match(ListingText("L1", title))[0]
    with_photo = index.match(ListingText("L1", title, photos=(near,)))[0]
    reason = next(r for r in with_photo.reasons if r.check == "official_photo")
    assert reason.span == "image 2" and "runner-side.png" in reason.detail
    assert "Kestrel Trail Runner 2" in reason.detail and "3 of 64 bits" in reason.detail
    assert reason.points > 0 and with_photo.score > plain.score
    assert "official_photo" in with_photo.features


def test_a_far_photo_or_one_dhash_disowns_is_no_reason():
    index = _index()
    far = ListingPhoto("image 1", _flip(OFFICIAL.phash, list(range(0, 40, 3))), OFFICIAL.dhash)
    unconfirmed = ListingPhoto("image 1", OFFICIAL.phash, _flip(OFFICIAL.dhash, list(range(30))))
    for photo in (far, unconfirmed):
        m = index.match(ListingText("L1", "Kestrel running shoes", photos=(photo,)))[0]
        assert "official_photo" not in {r.check for r in m.reasons}
        assert not index.match(ListingText("L2", "Running shoes", photos=(photo,)))


def test_the_official_photo_alone_is_a_product_finding_unless_the_seller_is_authorised():
    same = ListingPhoto("image 1", OFFICIAL.phash, OFFICIAL.dhash)
    listing = ListingText("L1", "Mens trail running shoes, breathable", seller="shoe-hub",
                          photos=(same,))
    (m,) = _index().match(listing)
    assert m.kind is Kind.PRODUCT and m.alertable and m.product_id == "p1"
    assert [r.check for r in m.reasons] == ["official_photo", "photo_only"]
    index = build_index([MARK], products=[PRODUCT], photos=[OFFICIAL],
                        sellers=[AuthorisedSeller("h1", "shoe-hub")])
    (m,) = index.match(listing)
    assert m.kind is Kind.AUTHORISED and not m.alertable


def test_a_mirrored_copy_is_named_as_such():
    mirror = OfficialPhoto("ph1", "p1", "runner-side.png", 0x1111222233334444, 0x5555666677778888,
                           "mirror")
    index = build_index([MARK], products=[PRODUCT], photos=[OFFICIAL, mirror])
    photo = ListingPhoto("image 1", mirror.phash, mirror.dhash)
    (m,) = index.match(ListingText("L1", "Trail shoes", photos=(photo,)))
    assert "mirror" in m.reasons[0].detail


def test_photos_of_products_the_index_does_not_know_are_ignored():
    stray = OfficialPhoto("ph9", "p-unknown", "x.png", 7, 7)
    index = build_index([MARK], products=[PRODUCT], photos=[stray])
    assert len(index.photo_index) == 0
    assert not index.match(ListingText("L1", "Trail shoes", photos=(ListingPhoto("image 1", 7, 7),)))
