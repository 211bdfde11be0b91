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


@dataclass
class InPhotoScores:
    listings: int = 0  # listings whose brand is only in a photo
    found_by_text: int = 0  # of those, alerted for the labelled mark from their text alone
    found_with_ocr: int = 0  # ... with the text read in their photos as well
    found_in_image: int = 0  # ... by a finding whose reasons say "in image"
    photos_read: int = 0
    ocr_seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    controls: int = 0  # listings labelled not infringing, read the same way
    control_false: int = 0  # of those, alerted only because of the text read in a photo

    def line(self) -> str:
        def share(n: int, d: int) -> str:
            return f"{n}/{d} = {n / d:.3f}" if d else "n/a"

        per = f"{self.ocr_seconds / self.photos_read:.2f} s" if self.photos_read else "n/a"
        return (f"brand only in the photo: {self.listings} listings; recall from the text alone "
                f"{share(self.found_by_text, self.listings)}, with OCR "
                f"{share(self.found_with_ocr, self.listings)} (a reason 'in image' on "
                f"{share(self.found_in_image, self.listings)}); OCR {per} per photo over "
                f"{self.photos_read} photos {dict(self.statuses)}; listings labelled not "
                f"infringing alerted only through OCR: {share(self.control_false, self.controls)}")


def score_in_photo(seed: int, count: int, *, controls: int = 40) -> InPhotoScores:
    """Recall on the listings whose brand is only in a photo, from their text alone and with
    Tesseract reading their photos; and the alerts OCR adds on ``controls`` listings labelled not
    infringing (every ``n``-th one, so the sample is spread over the shops)."""
    import tempfile
    from pathlib import Path

    from db.migrate import upgrade
    from db.models import Mark
    from db.registry import load_directory
    from db.session import make_engine, session_factory, transaction
    from markwatch import ocr
    from markwatch.screening import build_index_from_store
    from matcher import ListingText, MatcherConfig
    from tests.conftest import DEMO_REGISTRY

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        upgrade(url)
        engine = make_engine(url)
        with transaction(session_factory(engine)) as s:
            load_directory(s, DEMO_REGISTRY)
            index = build_index_from_store(s, MatcherConfig())
            mark_of = {m.registration_number: str(m.id) for m in s.query(Mark)}
        engine.dispose()
    cat = generate(seed, count)
    out = InPhotoScores()
    negatives = [(li, lab) for li, lab in zip(cat.listings, cat.labels, strict=True)
                 if not lab.infringing and lab.mark_registration]
    step = max(1, len(negatives) // controls) if controls else 0
    sample = negatives[::step][:controls] if step else []
    rows = [(li, lab, True) for li, lab in zip(cat.listings, cat.labels, strict=True)
            if lab.disguise == "in_photo"] + [(li, lab, False) for li, lab in sample]
    for li, lab, positive in rows:
        base = ListingText(li.listing_id, li.title, li.description, li.price, li.currency,
                           li.seller, li.marketplace, li.category, li.condition)
        texts = []
        for n, key in enumerate(li.images):
            got = ocr.read_text(png_for(key), timeout=30)
            out.photos_read += 1
            out.ocr_seconds += got.seconds
            out.statuses[got.status] += 1
            if got.text:
                texts.append((f"image {n + 1}", got.text))
        plain = index.match(base, alertable_only=True)
        read = index.match(ListingText(**{**_fields(base), "image_text": tuple(texts)}),
                           alertable_only=True)
        if positive:
            want = mark_of[lab.mark_registration or ""]
            out.listings += 1
            out.found_by_text += any(m.mark_id == want for m in plain)
            out.found_with_ocr += any(m.mark_id == want for m in read)
            out.found_in_image += any(m.mark_id == want and any(r.check == "in_image"
                                                                for r in m.reasons) for m in read)
        else:
            out.controls += 1
            out.control_false += bool(read) and not plain
    return out


def _fields(listing) -> dict:
    from dataclasses import fields

    return {f.name: getattr(listing, f.name) for f in fields(listing)}


@dataclass
class NetworkScores:
    labelled: int = 0  # labelled networks
    found: int = 0  # networks found
    exact: int = 0  # found networks whose accounts are exactly a labelled network's
    pairs_true: int = 0  # account pairs in one labelled network
    pairs_found: int = 0  # account pairs put in one network
    pairs_right: int = 0

    def line(self) -> str:
        p = self.pairs_right / self.pairs_found if self.pairs_found else None
        r = self.pairs_right / self.pairs_true if self.pairs_true else None
        f = "n/a" if p is None else f"{p:.3f}"
        g = "n/a" if r is None else f"{r:.3f}"
        return (f"seller networks: {self.labelled} labelled, {self.found} found, {self.exact} "
                f"exactly; account pairs: precision {f}, recall {g} ({self.pairs_right} of "
                f"{self.pairs_found} found pairs right, {self.pairs_true} labelled pairs); "
                "from descriptions and photo hashes (no OCR)")


def score_networks(seed: int, count: int) -> NetworkScores:
    """Seller networks found from the listings' descriptions and photos (as the store would hold
    them after a crawl), against the labelled ones, by pairs of seller accounts."""
    from itertools import combinations

    from markwatch.contacts import contacts_in
    from markwatch.imaging import read_photo
    from markwatch.networks import SellerEvidence, link_sellers
    from matcher import MatcherConfig
    from matcher.photos import PhotoIndex

    forms, _ = official_forms()
    cfg = MatcherConfig()
    official = PhotoIndex(forms, phash_max=cfg.photo_phash_max, dhash_max=64)
    cat = generate(seed, count)
    shop_ids = {"shopa": 1, "shopb": 2, "shopc": 3}
    country = {"shopa": "GB", "shopb": "US", "shopc": "CN"}
    found: dict[tuple[int, str], set[tuple[str, str]]] = {}
    truth: dict[tuple[int, str], str] = {}
    for li, lab in zip(cat.listings, cat.labels, strict=True):
        key = (shop_ids[li.marketplace], li.seller)
        ids = found.setdefault(key, set())
        ids |= {(c.kind, c.value) for c in contacts_in(li.description, country[li.marketplace])}
        for k in li.images:
            h = read_photo(png_for(k)).hashes.phash
            if not official.near(int(h, 16)):
                ids.add(("photo", h))
        if lab.seller_network:
            truth[key] = lab.seller_network
    authorised = {(shop_ids[li.marketplace], li.seller) for li, lab in
                  zip(cat.listings, cat.labels, strict=True) if lab.category == "authorised"}
    networks = link_sellers(SellerEvidence(k, frozenset(v)) for k, v in found.items()
                            if k not in authorised)
    out = NetworkScores(labelled=len(set(truth.values())), found=len(networks))
    labelled_groups: dict[str, set] = {}
    for k, n in truth.items():
        labelled_groups.setdefault(n, set()).add(k)
    true_pairs = {frozenset(p) for g in labelled_groups.values() for p in combinations(g, 2)}
    found_pairs = {frozenset(p) for n in networks for p in combinations(n.members, 2)}
    out.pairs_true, out.pairs_found = len(true_pairs), len(found_pairs)
    out.pairs_right = len(true_pairs & found_pairs)
    groups = [set(g) for g in labelled_groups.values()]
    out.exact = sum(1 for n in networks if set(n.members) in groups)
    return out
