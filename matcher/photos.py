"""Official photos reused in listings: a search over 64-bit perceptual hashes.

The matcher never opens an image. Callers hash the photos (``markwatch.imaging``: pHash and
dHash, and for each official photo the hashes of its mirror image and of crops) and pass the
hashes in as integers. A listing photo shows an official photo when some hashed form of it is
within ``MatcherConfig.photo_phash_max`` bits (pHash, Hamming distance) and, as a second
opinion on the same form, within ``photo_dhash_max`` bits of dHash.

The search is multi-index hashing (Norouzi, Punjani and Fleet, "Fast search in Hamming space
with multi-index hashing", CVPR 2012): each 64-bit pHash is cut into ``len(BANDS)`` bands
(22, 21 and 21 bits), each band indexed in a dict. Two hashes at most ``r`` bits apart agree
within ``r // len(BANDS)`` bits on at least one band (pigeonhole), so a query looks up, per band,
every value within that many bits of its own band (254 keys for 2 bits of 22) and checks the few
candidates found: exact, and about 700 dict look-ups per photo however many official photos
there are (with 800,000 hashed forms a 21-bit band holds fewer than one form per value). No
library offers this over plain integers (imagehash compares two hashes; BK-tree packages visit a
large share of the tree at these radii), hence the few lines below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from matcher.types import ListingPhoto, OfficialPhoto

#: (shift, width) of each band of the 64-bit hash
BANDS = ((0, 22), (22, 21), (43, 21))


@dataclass(frozen=True, slots=True)
class PhotoHit:
    listing_photo: ListingPhoto
    official: OfficialPhoto
    distance: int  # pHash bits
    dhash_distance: int


def _flips(width: int, radius: int) -> list[int]:
    out = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(width), r):
            m = 0
            for b in bits:
                m |= 1 << b
            out.append(m)
    return out


class PhotoIndex:
    """Official photos' hashed forms, searchable by Hamming distance."""

    def __init__(self, photos: Iterable[OfficialPhoto], *, phash_max: int, dhash_max: int):
        if not 0 <= phash_max <= 15:  # beyond that, pHash tells photos apart poorly anyway
            raise ValueError("phash_max must be in 0..15")
        self.phash_max, self.dhash_max = phash_max, dhash_max
        self.photos: list[OfficialPhoto] = list(photos)
        self._bands: list[dict[int, list[int]]] = [{} for _ in BANDS]
        for i, p in enumerate(self.photos):
            for b, (shift, width) in enumerate(BANDS):
                self._bands[b].setdefault((p.phash >> shift) & ((1 << width) - 1), []).append(i)
        radius = phash_max // len(BANDS)
        self._flips = [_flips(width, radius) for _, width in BANDS]

    def __len__(self) -> int:
        return len(self.photos)

    def near(self, phash: int) -> list[tuple[int, OfficialPhoto]]:
        """Every official form within ``phash_max`` bits of ``phash``, nearest first."""
        if not self.photos:
            return []
        seen: set[int] = set()
        found = []
        for b, (shift, width) in enumerate(BANDS):
            table = self._bands[b]
            band = (phash >> shift) & ((1 << width) - 1)
            for flip in self._flips[b]:
                for i in table.get(band ^ flip, ()):
                    if i in seen:
                        continue
                    seen.add(i)
                    d = (self.photos[i].phash ^ phash).bit_count()
                    if d <= self.phash_max:
                        found.append((d, self.photos[i]))
        found.sort(key=lambda t: (t[0], t[1].photo_id, t[1].form))
        return found

    def hits(self, photos: Iterable[ListingPhoto]) -> list[PhotoHit]:
        """The official photo each listing photo shows, if any (the nearest form that dHash
        confirms); one hit per (listing photo, official photo)."""
        out: list[PhotoHit] = []
        for lp in photos:
            taken: set[str] = set()
            for d, off in self.near(lp.phash):
                if off.photo_id in taken:
                    continue
                dd = (off.dhash ^ lp.dhash).bit_count()
                if dd <= self.dhash_max:
                    taken.add(off.photo_id)
                    out.append(PhotoHit(lp, off, d, dd))
        return out
