"""Precision and recall of the matcher on the labelled evaluation set in ``fixtures/eval``.

    python -m matcher.evaluate [--dir fixtures/eval] [--verbose]

A ``pos`` row counts as found when the listing gets an alertable finding for its ``mark_id``; a
``neg`` row is a false positive when the listing gets any alertable finding. A ``pos`` row that
alerts on a different mark only is a miss and a false positive. Exit status 1 when the overall
targets (precision >= 0.95, recall >= 0.90, nominative uses flagged <= 2%) are not met.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from matcher import AuthorisedSeller, ListingText, MarkRecord, ProductRecord, build_index

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "eval"


@dataclass(frozen=True)
class Row:
    id: str
    check: str
    label: str
    mark_id: str
    listing: ListingText
    reason: str


def _split(v: str) -> list[str]:
    return [x.strip() for x in (v or "").split("|") if x.strip()]


def load(directory: Path):
    marks = [MarkRecord(mark_id=r["mark_id"], mark=r["mark"], owner_id=r["owner"], owner=r["owner"],
                        aliases=tuple(_split(r["aliases"])),
                        nice_classes=frozenset(int(c) for c in _split(r["nice_classes"])),
                        famous=r["famous"] == "true")
             for r in csv.DictReader((directory / "marks.csv").open(encoding="utf-8"))]
    products = [ProductRecord(r["product_id"], r["mark_id"], r["name"], tuple(_split(r["model_numbers"])),
                              Decimal(r["retail_price"]) if r["retail_price"] else None, r["currency"] or None)
                for r in csv.DictReader((directory / "products.csv").open(encoding="utf-8"))]
    sellers = [AuthorisedSeller(r["owner_id"], r["seller"], r["marketplace"] or None)
               for r in csv.DictReader((directory / "sellers.csv").open(encoding="utf-8"))]
    rows = []
    with (directory / "listings.tsv").open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    for r in csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
        listing = ListingText(
            listing_id=r["id"], title=r["title"], category=r["category"] or None,
            seller=r["seller"] or None, marketplace=r["marketplace"] or None,
            price=Decimal(r["price"]) if r["price"] else None, currency=r["currency"] or None)
        rows.append(Row(r["id"], r["check"], r["label"], r["mark_id"], listing, r["reason"]))
    return marks, products, sellers, rows


def evaluate(directory: Path = DEFAULT_DIR, verbose: bool = False, out=sys.stdout) -> dict[str, float]:
    marks, products, sellers, rows = load(directory)
    index = build_index(marks, products, sellers)
    stats: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "pos": 0, "neg": 0})
    nominative_neg = nominative_flagged = 0
    errors = []
    for row in rows:
        matches = index.match(row.listing)
        alerted = {m.mark_id for m in matches if m.alertable}
        s = stats[row.check]
        s[row.label] += 1
        if row.label == "pos":
            if row.mark_id in alerted:
                s["tp"] += 1
            else:
                s["fn"] += 1
                errors.append(("missed", row, matches))
            if alerted - {row.mark_id} and row.mark_id not in alerted:
                s["fp"] += 1
        else:
            if alerted:
                s["fp"] += 1
                errors.append(("false alert", row, matches))
            if row.check == "nominative":
                nominative_neg += 1
                nominative_flagged += bool(alerted)
    total = {"tp": 0, "fp": 0, "fn": 0, "pos": 0, "neg": 0}
    print(f"{'check':<20}{'pos':>5}{'neg':>5}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}", file=out)
    for check, s in stats.items():
        for k in total:
            total[k] += s[k]
        print(_line(check, s), file=out)
    print(_line("overall", total), file=out)
    nominative_rate = nominative_flagged / nominative_neg if nominative_neg else 0.0
    print(f"nominative uses flagged: {nominative_flagged}/{nominative_neg} = {nominative_rate:.1%}", file=out)
    if verbose:
        for what, row, matches in errors:
            found = ", ".join(f"{m.mark_id}:{m.kind.value}:{m.score}:{m.reasons[0].check}" for m in matches) or "-"
            print(f"  {what:<12} {row.id} [{row.mark_id}] {row.listing.title!r} -> {found}", file=out)
    p, r = _pr(total)
    return {"precision": p, "recall": r, "nominative_rate": nominative_rate}


def _pr(s: dict[str, int]) -> tuple[float, float]:
    p = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 1.0
    r = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 1.0
    return p, r


def _line(name: str, s: dict[str, int]) -> str:
    p, r = _pr(s)
    return f"{name:<20}{s['pos']:>5}{s['neg']:>5}{s['tp']:>5}{s['fp']:>5}{s['fn']:>5}{p:>11.3f}{r:>8.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--verbose", "-v", action="store_true", help="list every miss and false alert")
    args = ap.parse_args(argv)
    result = evaluate(args.dir, args.verbose)
    ok = result["precision"] >= 0.95 and result["recall"] >= 0.90 and result["nominative_rate"] <= 0.02
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
