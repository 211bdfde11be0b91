"""The ``official_photo`` check measured on the test marketplaces' photos and labels.

Every photo the shops serve is read and hashed as the crawler does (``markwatch.imaging``), the
demo products' official photos as ``products images import`` does (with their mirrored and
cropped forms), and the listing photos are looked up in the matcher's photo index
(``matcher.photos``) with the matcher's default distances. The unit is a listing:

- a true positive shows a copy of a registered official photo (``Label.official_photo`` names a
  photo of a demo product) and the check names that photo;
- a false positive is any other listing the check fires on (a listing with no official photo, or
  one the check attributes to the wrong photo);
- recall is given overall and per edit (``none``, ``crop``, ``resize``, ``jpeg``,
  ``watermark``, ``mirror``).

These are figures on photos we generated ourselves (``images.py``), not evidence of how the
check fares on real marketplaces.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from fixtures.marketplaces.generator import generate, official_photos
from fixtures.marketplaces.images import png_for


@dataclass
class PhotoScores:
    listings: int = 0
    photos: int = 0
    positives: int = 0  # listings that show a registered official photo
    true_positives: int = 0
    false_positives: int = 0
    by_edit: dict[str, tuple[int, int]] = field(default_factory=dict)  # edit -> (found, total)
    hash_seconds: float = 0.0  # reading and hashing the listing photos
    lookup_seconds: float = 0.0

    @property
    def precision(self) -> float | None:
        fired = self.true_positives + self.false_positives
        return self.true_positives / fired if fired else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.positives if self.positives else None


def official_forms() -> tuple[list, dict[str, str]]:
    """The matcher's ``OfficialPhoto`` forms of every demo official photo, and photo id -> key."""
    from markwatch.imaging import read_photo
    from matcher import OfficialPhoto

    forms, key_of = [], {}
    for n, (product, filename, key) in enumerate(official_photos()):
        photo = read_photo(png_for(key), variants=True)
        pid = str(n)
        key_of[pid] = key
        hashed = [("", photo.hashes), *photo.variants.items()]
        forms += [OfficialPhoto(pid, product, filename, int(h.phash, 16), int(h.dhash, 16), form)
                  for form, h in hashed]
    return forms, key_of


def score_photos(seed: int, count: int) -> PhotoScores:
    from markwatch.imaging import read_photo
    from matcher import ListingPhoto, MatcherConfig
    from matcher.photos import PhotoIndex

    forms, key_of = official_forms()
    config = MatcherConfig()
    index = PhotoIndex(forms, phash_max=config.photo_phash_max, dhash_max=config.photo_dhash_max)
    registered = set(key_of.values())
    cat = generate(seed, count)
    out = PhotoScores(listings=len(cat.listings))
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for li, lab in zip(cat.listings, cat.labels, strict=True):
        photos = []
        for n, key in enumerate(li.images):
            data = png_for(key)
            t = time.perf_counter()
            h = read_photo(data).hashes
            out.hash_seconds += time.perf_counter() - t
            photos.append(ListingPhoto(f"image {n + 1}", int(h.phash, 16), int(h.dhash, 16)))
        out.photos += len(photos)
        t = time.perf_counter()
        hits = index.hits(photos)
        out.lookup_seconds += time.perf_counter() - t
        named = {key_of[h.official.photo_id] for h in hits}
        truth = lab.official_photo if lab.official_photo in registered else None
        if truth is not None:
            out.positives += 1
            edit = lab.photo_edit or "none"
            total[edit] += 1
            if truth in named:
                out.true_positives += 1
                found[edit] += 1
        if named and (truth is None or truth not in named):
            out.false_positives += 1
    out.by_edit = {e: (found[e], total[e]) for e in sorted(total)}
    return out


def describe(s: PhotoScores) -> str:
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    lines = [
        f"listings {s.listings}, photos {s.photos}, listings showing an official photo "
        f"{s.positives}",
        f"official_photo: precision {pct(s.precision)}, recall {pct(s.recall)} "
        f"({s.true_positives} found, {s.false_positives} false)",
    ]
    for edit, (f, t) in s.by_edit.items():
        lines.append(f"  {edit:<10} {f}/{t} = {pct(f / t if t else None)}")
    if s.photos:
        lines.append(f"hashing: {s.photos / s.hash_seconds:.0f} photos/s (read, checked, pHash "
                     f"and dHash, thumbnail); lookup {1e6 * s.lookup_seconds / s.photos:.1f} µs "
                     "per photo")
    return "\n".join(lines)
