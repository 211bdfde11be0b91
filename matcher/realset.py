"""The real-titles set: labelled (mark, text) pairs from real marketplaces and real domain names.

``real_titles_dev.csv`` (kept beside the repository, in ``shared/eval``; its README gives the
labelling rules) holds 945 rows. It is split once, by a seeded procedure, 70/30 stratified by
``kind``: the matcher is developed on the ``dev`` part and reported on the ``held`` part. The
split depends only on the rows and ``SPLIT_SEED``; ``tests/matcher/test_realset.py`` pins it.

Labels are read as they are: nothing here edits or filters them.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from matcher.types import ListingText, MarkRecord

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PATH = REPO.parent / "shared" / "eval" / "real_titles_dev.csv"
SPLIT_SEED = 20261201
HELD_SHARE = 0.30
DOMAIN_SOURCES = frozenset({"secreg"})  # rows whose text is a domain label, not a title


@dataclass(frozen=True, slots=True)
class RealRow:
    row_id: str  # stable: a digest of the row's content and its occurrence number
    line: int  # line in the CSV file (header is line 1)
    mark: str
    text: str
    label: int
    kind: str
    nice_classes: frozenset[int]
    category: str
    source: str
    part: str  # "dev" or "held"

    @property
    def is_domain(self) -> bool:
        return self.source in DOMAIN_SOURCES

    def listing(self) -> ListingText:
        return ListingText(listing_id=self.row_id, title=self.text, category=self.category or None)


def default_path() -> Path:
    return Path(os.environ.get("MARKWATCH_REAL_TITLES", DEFAULT_PATH))


def _classes(value: str) -> frozenset[int]:
    return frozenset(int(c) for c in value.split("|") if c.strip())


def load(path: Path | None = None) -> list[RealRow]:
    """Every row, with its part of the fixed split."""
    path = path or default_path()
    raw: list[dict[str, str]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        raw = list(csv.DictReader(fh))
    seen: dict[str, int] = defaultdict(int)
    ids: list[str] = []
    for r in raw:
        content = "\t".join((r["mark"], r["text"], r["kind"], r["label"]))
        seen[content] += 1
        ids.append(hashlib.sha256(f"{content}\t{seen[content]}".encode()).hexdigest()[:16])
    held = _held_ids(raw, ids)
    return [
        RealRow(
            row_id=rid, line=i + 2, mark=r["mark"], text=r["text"], label=int(r["label"]),
            kind=r["kind"], nice_classes=_classes(r["nice_classes"]), category=r["category"],
            source=r["source"], part="held" if rid in held else "dev",
        )
        for i, (r, rid) in enumerate(zip(raw, ids, strict=True))
    ]


def _held_ids(raw: list[dict[str, str]], ids: list[str]) -> set[str]:
    """Stratified by kind: each kind's rows in digest order, shuffled by a seeded generator, and
    the first ``HELD_SHARE`` of them (rounded) held out."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for r, rid in zip(raw, ids, strict=True):
        by_kind[r["kind"]].append(rid)
    held: set[str] = set()
    for kind in sorted(by_kind):
        rows = sorted(by_kind[kind])
        random.Random(f"{SPLIT_SEED}:{kind}").shuffle(rows)
        held.update(rows[: round(len(rows) * HELD_SHARE)])
    return held


def marks_of(rows: list[RealRow]) -> list[MarkRecord]:
    """One registered mark per distinct ``mark`` value, with the union of its rows' classes."""
    classes: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        classes[r.mark] |= r.nice_classes
    return [
        MarkRecord(mark_id=m, mark=m, owner_id=m, owner="", nice_classes=frozenset(c))
        for m, c in sorted(classes.items())
    ]
