"""Photos: the official_photo check, OCR and seller networks measured on the bundled test
marketplaces, the speed of hashing and reading photos, and the hash look-up at 100,000 official
photos.

All figures on the test marketplaces are on photos and labels we generated ourselves
(``fixtures/marketplaces/images.py``): they show the code works as intended on data we wrote,
not how it fares on real marketplaces.

    python benchmarks/bench_photos.py [--out benchmarks/results/photos.txt] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED, LISTINGS = 20261124, 2400


def lookup_at_scale(photos: int, queries: int, rng: random.Random) -> list[str]:
    """The photo index over ``photos`` official photos, each with its 8 hashed forms."""
    from matcher import ListingPhoto, MatcherConfig, OfficialPhoto
    from matcher.photos import PhotoIndex

    cfg = MatcherConfig()
    forms = [OfficialPhoto(str(i), "p", f"{i}.png", rng.getrandbits(64), rng.getrandbits(64),
                           f"form {f}") for i in range(photos) for f in range(8)]
    t = time.perf_counter()
    index = PhotoIndex(forms, phash_max=cfg.photo_phash_max, dhash_max=cfg.photo_dhash_max)
    build = time.perf_counter() - t
    planted = []
    for _ in range(queries // 10):  # a tenth are copies: a few bits away from a known form
        f = rng.choice(forms)
        p, d = f.phash, f.dhash
        for b in rng.sample(range(64), rng.randint(0, cfg.photo_phash_max)):
            p ^= 1 << b
        planted.append((f.photo_id, ListingPhoto("image 1", p, d)))
    others = [ListingPhoto("image 1", rng.getrandbits(64), rng.getrandbits(64))
              for _ in range(queries - len(planted))]
    t = time.perf_counter()
    found = sum(any(h.official.photo_id == pid for h in index.hits([q])) for pid, q in planted)
    false = sum(bool(index.hits([q])) for q in others)
    per = (time.perf_counter() - t) / queries
    # the naive way, for comparison: every form compared with the photo
    t = time.perf_counter()
    naive_n = 20
    for q in others[:naive_n]:
        [f for f in forms if (f.phash ^ q.phash).bit_count() <= cfg.photo_phash_max]
    naive = (time.perf_counter() - t) / naive_n
    return [
        f"hash look-up at {photos:,} official photos ({len(forms):,} hashed forms, pHash within "
        f"{cfg.photo_phash_max} bits, dHash within {cfg.photo_dhash_max}): index built in "
        f"{build:.1f} s; {1e6 * per:.0f} µs per listing photo over {queries:,} photos "
        f"(multi-index hashing, exact); full scan {1e3 * naive:.0f} ms per photo",
        f"  planted copies found {found}/{len(planted)}; random photos matched {false}/"
        f"{len(others)}",
    ]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.photo_scores import describe, score_in_photo, score_networks, score_photos

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "photos.txt"))
    ap.add_argument("--quick", action="store_true", help="600 listings, 10,000 photos, no OCR "
                    "controls")
    args = ap.parse_args(argv)
    listings = 600 if args.quick else LISTINGS
    lines = [f"# benchmarks/bench_photos.py{' --quick' if args.quick else ''} on "
             f"{platform.python_implementation()} {platform.python_version()}, "
             f"{platform.machine()}; test marketplaces seed {SEED}, {listings} listings "
             "(photos and labels we generated: not evidence about real marketplaces)"]
    t = time.perf_counter()
    lines += describe(score_photos(SEED, listings)).splitlines()
    print("\n".join(lines), flush=True)
    lines += lookup_at_scale(10_000 if args.quick else 100_000, 2_000, random.Random(SEED))
    print("\n".join(lines[-2:]), flush=True)
    lines.append(score_networks(SEED, listings).line())
    print(lines[-1], flush=True)
    lines.append(score_in_photo(SEED, listings, controls=0 if args.quick else 40).line())
    print(lines[-1], flush=True)
    lines.append(f"total {time.perf_counter() - t:.0f} s")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
