"""Rebuild the brand-name lists in this folder from their public sources.

Each source is read from a git clone (any commit; the one used is named in each file's header)
with ``git show``, so nothing is downloaded here. Usage, one source at a time::

    python extract.py nsi-shops CLONE > nsi_shops.txt
    python extract.py nsi-other CLONE > nsi_other.txt
    python extract.py device-detector CLONE > device_detector.txt
    python extract.py simple-icons CLONE > simple_icons.txt
    python extract.py off-taxonomy BRANDS_TXT BEAUTY_BRANDS_TXT > openfoodfacts_taxonomy.txt
    python extract.py off-products CLONE FAMOUS CURATED... > openfoodfacts_products.txt

``CLONE`` is a clone of the source repository checked out at the commit named in the list's
header; ``off-taxonomy`` takes the two taxonomy files themselves. ``FAMOUS`` is
``../known_brands.txt`` and ``CURATED`` the other lists of this folder, both used by the
look-alike filter of ``off-products``. Only the Python standard library is used.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

# NSI tag keys holding a name of the brand: ``brand`` and its per-language forms.
# ``brand:wikidata``/``brand:wikipedia`` are identifiers, ``brand:short`` abbreviations.
_NSI_SKIP_KEYS = {"brand:wikidata", "brand:wikipedia", "brand:short"}


# Spellings that a source itself gets wrong (the entry's Wikidata item has the right one):
# Open Food Facts' beauty taxonomy heads Shiseido's brands "Shisheido" (Q728185 is Shiseido).
SOURCE_MISSPELLINGS = frozenset({"Shisheido"})


def git(clone: str, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", clone, *args], check=True, capture_output=True, text=True
    ).stdout


def git_bytes(clone: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", clone, *args], check=True, capture_output=True).stdout


def key(name: str) -> str:
    """The loader's key: casefolded letters and digits only."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def clean(names: Iterable[str]) -> list[str]:
    """Strip, NFC-normalise, keep names with a letter and a key of 2+ characters, dedupe."""
    seen: set[str] = set()
    out = []
    for raw in names:
        name = unicodedata.normalize("NFC", " ".join(raw.split()))
        if name.startswith("#") or len(key(name)) < 2 or not any(ch.isalpha() for ch in name):
            continue
        if name in SOURCE_MISSPELLINGS:
            continue
        folded = name.casefold()
        if folded in seen:
            continue
        seen.add(folded)
        out.append(name)
    return sorted(out, key=lambda n: (n.casefold(), n))


def nsi_names(clone: str, shops: bool) -> Iterator[str]:
    paths = git(clone, "ls-tree", "-r", "--name-only", "HEAD", "data/brands").split()
    for path in paths:
        if not path.endswith(".json") or path.startswith("data/brands/shop/") != shops:
            continue
        data = json.loads(git(clone, "show", f"HEAD:{path}"))
        for item in data.get("items", []):
            for tag, value in item.get("tags", {}).items():
                if (tag == "brand" or tag.startswith("brand:")) and tag not in _NSI_SKIP_KEYS:
                    yield value


def device_detector_names(clone: str) -> Iterator[str]:
    src = git(clone, "show", "HEAD:Parser/Device/AbstractDeviceParser.php")
    block = src.split("public static $deviceBrands = [", 1)[1].split("];", 1)[0]
    for value in re.findall(r"^\s*'[^']+'\s*=>\s*'((?:[^'\\]|\\.)*)',", block, re.M):
        value = value.replace("\\'", "'")
        if value != "Unknown":
            yield value


def simple_icons_names(clone: str) -> Iterator[str]:
    for icon in json.loads(git(clone, "show", "HEAD:data/simple-icons.json")):
        yield icon["title"]
        aliases = icon.get("aliases", {})
        yield from aliases.get("aka", [])
        yield from aliases.get("old", [])
        yield from (dup["title"] for dup in aliases.get("dup", []))
        yield from aliases.get("loc", {}).values()


def off_taxonomy_names(text: str) -> Iterator[str]:
    """Entry lines of an Open Food Facts taxonomy (``xx: Name, Synonym``; ``< parent`` skipped)."""
    for line in text.splitlines():
        m = re.match(r"^([a-z]{2}): (.+)$", line.strip())
        if not m:
            continue
        for name in m.group(2).split(","):
            name = name.strip()
            if name and name.casefold() != "no brand":
                yield name


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def deletions(k: str, depth: int) -> set[str]:
    """``k`` and every string made from it by deleting up to ``depth`` characters."""
    out = {k}
    frontier = {k}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def lookalike_limit(k: str) -> int:
    """Edits within which a name counts as a look-alike: 1 up to 6 characters, else 2."""
    return 1 if len(k) <= 6 else 2


def read_list(path: str) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if ln.strip() and not ln.startswith("#")]


def off_products_names(
    clone: str, famous_path: str, curated_paths: list[str]
) -> tuple[list[str], list[str]]:
    """Brand tags of Open Food Facts products, as Robotoff's ``brand_from_taxonomy.gz``.

    The list comes from a crowd-sourced brand field, which can hold misspellings of famous
    brands. A name within ``lookalike_limit`` edits of a famous brand (``famous_path``) is
    dropped unless a curated list (``curated_paths``) has that exact name too.
    """
    raw = gzip.decompress(git_bytes(clone, "show", f"{OFF_PRODUCTS_REV}:{OFF_PRODUCTS_PATH}"))
    names = [ln.split("||", 1)[1] for ln in raw.decode("utf-8").splitlines() if "||" in ln]
    curated = {key(n) for p in curated_paths for n in read_list(p)}
    famous = {key(n) for n in read_list(famous_path)} - {""}
    # symmetric-delete index: two keys within d edits share a string of d or fewer deletions
    index: dict[str, set[str]] = {}
    for f in famous:
        for d in deletions(f, 2):
            index.setdefault(d, set()).add(f)
    kept, dropped = [], []
    for name in clean(names):
        k = key(name)
        if not k or k in curated or k in famous:
            kept.append(name)
            continue
        near = {f for d in deletions(k, lookalike_limit(k)) for f in index.get(d, ())}
        close = sorted(
            f for f in near if levenshtein(k, f) <= min(lookalike_limit(k), lookalike_limit(f))
        )
        if close:
            dropped.append(f"{name} ~ {close[0]}")
        else:
            kept.append(name)
    return kept, dropped


OFF_PRODUCTS_REV = "1f5cee8d5c78e03e3a842d11f3d353d7d9281cf9"
OFF_PRODUCTS_PATH = "data/ocr/brand_from_taxonomy.gz"


def main(argv: list[str]) -> int:
    kind, clone, *rest = argv
    if kind in ("nsi-shops", "nsi-other"):
        names = clean(nsi_names(clone, shops=kind == "nsi-shops"))
    elif kind == "device-detector":
        names = clean(device_detector_names(clone))
    elif kind == "simple-icons":
        names = clean(simple_icons_names(clone))
    elif kind == "off-taxonomy":
        # here CLONE and the rest are plain taxonomy text files
        names = clean(
            n for p in (clone, *rest) for n in off_taxonomy_names(Path(p).read_text("utf-8"))
        )
    elif kind == "off-products":
        names, dropped = off_products_names(clone, rest[0], rest[1:])
        print(f"dropped {len(dropped)} look-alikes: {dropped}", file=sys.stderr)
    else:
        raise SystemExit(f"unknown source {kind!r}")
    sys.stdout.write("".join(n + "\n" for n in names))
    print(f"{kind}: {len(names)} names", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
